/// An author of the blog example.
public struct Author: Sendable, Equatable {
    public let id: Int64
    public let firstName: String
    public let lastName: String
    public let createdAt: String
    public let updatedAt: String
}

/// How deleting an author went.
public enum AuthorDeletion: Sendable {
    case deleted, notFound
    /// Articles still name this author; nothing was deleted.
    case hasArticles
}

/// The authors table, through prepared statements only.
public struct AuthorStore {
    public init() {}

    private static let columns = "id, first_name, last_name, \(rfc3339("created_at")), \(rfc3339("updated_at"))"
    static let insert = PreparedStatement(
        name: "author_insert",
        sql: "INSERT INTO authors (first_name, last_name, request_id) VALUES ($1, $2, $3) \(onceSQL) RETURNING \(columns)")
    static let selectCreated = PreparedStatement(
        name: "author_select_created", sql: "SELECT \(columns) FROM authors WHERE request_id = $1", readsOnly: true)
    static let select = PreparedStatement(
        name: "author_select", sql: "SELECT \(columns) FROM authors WHERE id = $1", readsOnly: true)
    static let page = PreparedStatement(
        name: "author_page",
        sql: pageSQL(table: "authors", formattedColumns: columns), readsOnly: true)
    static let count = PreparedStatement(name: "author_count", sql: countSQL(table: "authors"), readsOnly: true)
    static let delete = PreparedStatement(
        name: "author_delete", sql: "DELETE FROM authors WHERE id = $1 RETURNING id")

    public static let statements = [insert, selectCreated, select, page, count, delete]

    /// `requestID`: see `insertOnce`.
    public func create(firstName: String, lastName: String, requestID: String?) -> Query<Author> {
        insertOnce(Self.insert, [firstName, lastName], requestID: requestID, created: Self.selectCreated) {
            Self.author($0, row: 0)
        }
    }

    public func author(id: Int64) -> Query<Author?> {
        firstRowQuery(Self.select, [String(id)], row: Self.author)
    }

    public func authors(skip: Int64, take: Int64) -> Query<Page<Author>> {
        pageQuery(Self.page, [String(skip), String(take)], skip: skip, count: Self.count, [], row: Self.author)
    }

    /// The foreign key decides, inside the DELETE itself, so an article created meanwhile cannot be orphaned.
    public func delete(id: Int64) -> Query<AuthorDeletion> {
        Query.statement(Self.delete, [String(id)]) { $0.rowCount == 1 ? AuthorDeletion.deleted : .notFound }
            .recover { error in
                guard case .statementFailed(_, sqlState: "23503", _) = error else { throw error }
                return .hasArticles
            }
    }

    private static func author(_ result: borrowing PGResult, row: Int) -> Author {
        Author(
            id: result.int64(row: row, column: 0),
            firstName: result.string(row: row, column: 1),
            lastName: result.string(row: row, column: 2),
            createdAt: result.string(row: row, column: 3),
            updatedAt: result.string(row: row, column: 4)
        )
    }
}
