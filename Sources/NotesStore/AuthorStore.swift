extension Entity {
    /// An author of the FastAPI blog example, its fields in the example's order.
    public static let author = Entity(
        table: "authors", singular: "author", columns: [.text("first_name"), .text("last_name"), .id, .createdAt, .updatedAt],
        orderedBy: ["created_at", "updated_at", "last_name", "first_name"])
}

/// How deleting an author went.
public enum AuthorDeletion: Sendable {
    /// The author and all their articles are gone.
    case deleted
    case notFound
    /// Articles for this author kept being added while it was deleted, twice; nothing was deleted.
    case articlesAddedMeanwhile
    /// The author has none of the versions required (`If-Match`); nothing was deleted.
    case changed
}

/// The authors table, through prepared statements only.
public final class AuthorStore: Sendable {
    public let table: EntityTable
    public let all: WholeCollection
    public init(registry: inout StatementRegistry) {
        // The blog example's ORM deletes an author's articles with the author (`cascade="all, delete"`); one
        // statement does both, so no other statement sees the articles without their author. The articles go only
        // when the author has a version `$2` requires.
        table = EntityTable(
            .author,
            delete: """
                WITH articles_gone AS (
                    DELETE FROM articles WHERE author_id = $1
                    AND EXISTS (SELECT FROM authors WHERE \(byIdSQL) AND \(versionMatchSQL(2))))
                DELETE FROM authors WHERE \(byIdSQL) AND \(versionMatchSQL(2)) RETURNING id
                """,
            registry: &registry)
        all = WholeCollection(table, registry: &registry)
    }

    /// An article committed for the author after the statement's snapshot is not among those it deletes, and
    /// the foreign key then refuses the author's deletion; run once more, the statement sees that article too.
    /// Only when the author has one of `versions` (any when nil).
    public func delete(id: Int64, versions: [Int64]?) -> Query<AuthorDeletion> {
        attempt(id, versions).flatMap { [self] deletion in
            deletion.map { Query(value: $0) } ?? attempt(id, versions).map { $0 ?? .articlesAddedMeanwhile }
        }
    }

    /// nil when the foreign key refused it.
    private func attempt(_ id: Int64, _ versions: [Int64]?) -> Query<AuthorDeletion?> {
        table.delete(id: id, versions: versions)
            .map { outcome -> AuthorDeletion? in
                switch outcome {
                case .applied: .deleted
                case .missing: .notFound
                case .changed: .changed
                }
            }
            .recover { error throws(StoreError) in
                guard error.isStatementFailure(.foreignKeyViolation) else { throw error }
                return nil
            }
    }
}
