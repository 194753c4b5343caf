/// Every store of the service, and every statement they declared (`statements`), which a connection prepares.
public struct Stores: Sendable {
    public let notes: NoteStore
    public let authors: AuthorStore
    public let articles: ArticleStore
    public let statements: [PreparedStatement]

    public init() {
        var registry = StatementRegistry()
        notes = NoteStore(registry: &registry)
        authors = AuthorStore(registry: &registry)
        articles = ArticleStore(registry: &registry)
        statements = registry.statements
    }
}
