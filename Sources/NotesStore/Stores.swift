/// Every store of the service, and so every statement a connection must prepare (`statements`).
public struct Stores: StatementCatalog, Sendable {
    public let notes = NoteStore()
    public let authors = AuthorStore()
    public let articles = ArticleStore()

    public init() {}
}
