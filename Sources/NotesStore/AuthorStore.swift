extension Entity {
    /// An author of the FastAPI blog example.
    public static let author = Entity(
        table: "authors", singular: "author", columns: [.id, .text("first_name"), .text("last_name"), .createdAt, .updatedAt])
}

/// How deleting an author went.
public enum AuthorDeletion: Sendable {
    case deleted, notFound
    /// Articles still name this author; nothing was deleted.
    case hasArticles
}

/// The authors table, through prepared statements only.
public struct AuthorStore: Sendable {
    public let table: EntityTable

    public init(registry: inout StatementRegistry) {
        table = EntityTable(.author, registry: &registry)
    }

    /// The foreign key decides, inside the DELETE itself, so an article created meanwhile cannot be orphaned.
    public func delete(id: Int64) -> Query<AuthorDeletion> {
        table.delete(id: id).map { $0 ? AuthorDeletion.deleted : .notFound }.recover { error throws(StoreError) in
            guard error.isStatementFailure(.foreignKeyViolation) else { throw error }
            return .hasArticles
        }
    }
}
