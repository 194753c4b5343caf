extension Entity {
    /// An article of the FastAPI blog example, its fields in the example's order.
    public static let article = Entity(
        table: "articles", singular: "article", columns: [.text("title"), .text("content"), .reference("author_id"), .id],
        orderedBy: ["title", "author_id"], searchDocument: "title || ' ' || content")
}

/// The articles table, through prepared statements only.
public final class ArticleStore: Sendable {
    public let table: EntityTable
    public let all: WholeCollection

    public init(registry: inout StatementRegistry) {
        table = EntityTable(.article, registry: &registry)
        all = WholeCollection(table, registry: &registry)
    }

    /// Nil when no author has the `author_id` given; the foreign key checks it in the same statement.
    public func create(_ values: [FieldValue], requestID: String?) -> Query<Rows?> {
        table.create(values, requestID: requestID).map { Optional($0) }.recover { error throws(StoreError) in
            guard error.isStatementFailure(.foreignKeyViolation) else { throw error }
            return nil
        }
    }
}
