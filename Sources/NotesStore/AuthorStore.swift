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
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

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

    /// `requestID`: see `Database.insertOnce`.
    public func create(firstName: String, lastName: String, requestID: String?) throws(StoreError) -> Author {
        Self.author(
            try database.insertOnce(Self.insert, [firstName, lastName], requestID: requestID, created: Self.selectCreated), row: 0)
    }

    public func author(id: Int64) throws(StoreError) -> Author? {
        let result = try database.run(Self.select, [String(id)])
        return result.rowCount == 0 ? nil : Self.author(result, row: 0)
    }

    public func authors(skip: Int64, take: Int64) throws(StoreError) -> Page<Author> {
        try database.page(Self.page, [String(skip), String(take)], skip: skip, count: Self.count, [], row: Self.author)
    }

    /// The foreign key decides, inside the DELETE itself, so an article created meanwhile cannot be orphaned.
    public func delete(id: Int64) throws(StoreError) -> AuthorDeletion {
        do {
            return try database.run(Self.delete, [String(id)]).rowCount == 1 ? .deleted : .notFound
        } catch .statementFailed(_, sqlState: "23503", _) {
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
