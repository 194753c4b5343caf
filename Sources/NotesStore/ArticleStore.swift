/// An article of the blog example.
public struct Article: Sendable, Equatable {
    public let id: Int64
    public let title: String
    public let content: String
    public let authorID: Int64
}

/// The articles table, through prepared statements only.
public struct ArticleStore {
    public init() {}

    private static let columns = "id, title, content, author_id"
    static let insert = PreparedStatement(
        name: "article_insert",
        sql: "INSERT INTO articles (title, content, author_id, request_id) VALUES ($1, $2, $3, $4) \(onceSQL) RETURNING \(columns)")
    static let selectCreated = PreparedStatement(
        name: "article_select_created", sql: "SELECT \(columns) FROM articles WHERE request_id = $1", readsOnly: true)
    static let select = PreparedStatement(
        name: "article_select", sql: "SELECT \(columns) FROM articles WHERE id = $1", readsOnly: true)
    static let page = PreparedStatement(
        name: "article_page", sql: pageSQL(table: "articles", formattedColumns: columns), readsOnly: true)
    static let count = PreparedStatement(name: "article_count", sql: countSQL(table: "articles"), readsOnly: true)
    static let delete = PreparedStatement(
        name: "article_delete", sql: "DELETE FROM articles WHERE id = $1 RETURNING id")

    public static let statements = [insert, selectCreated, select, page, count, delete]

    /// Nil when no author has `authorID`; the foreign key checks it in the same statement.
    /// `requestID`: see `insertOnce`.
    public func create(title: String, content: String, authorID: Int64, requestID: String?) -> Query<Article?> {
        insertOnce(Self.insert, [title, content, String(authorID)], requestID: requestID, created: Self.selectCreated) {
            Optional(Self.article($0, row: 0))
        }.recover { error in
            guard case .statementFailed(_, sqlState: "23503", _) = error else { throw error }
            return nil
        }
    }

    public func article(id: Int64) -> Query<Article?> {
        firstRowQuery(Self.select, [String(id)], row: Self.article)
    }

    public func articles(skip: Int64, take: Int64) -> Query<Page<Article>> {
        pageQuery(Self.page, [String(skip), String(take)], skip: skip, count: Self.count, [], row: Self.article)
    }

    /// False when no article had this id.
    public func delete(id: Int64) -> Query<Bool> {
        Query.statement(Self.delete, [String(id)]) { $0.rowCount == 1 }
    }

    private static func article(_ result: borrowing PGResult, row: Int) -> Article {
        Article(
            id: result.int64(row: row, column: 0),
            title: result.string(row: row, column: 1),
            content: result.string(row: row, column: 2),
            authorID: result.int64(row: row, column: 3)
        )
    }
}
