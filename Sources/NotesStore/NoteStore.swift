/// A stored note. Timestamps are RFC 3339 in UTC with microseconds, formatted by PostgreSQL.
public struct Note: Sendable, Equatable {
    public let id: Int64
    public let text: String
    public let completed: Bool
    public let createdAt: String
    public let updatedAt: String
}

/// The notes table, through prepared statements only. Every write returns the row it wrote, so one round
/// trip answers a request, and an id that matches nothing comes back as nil.
public struct NoteStore {
    public init() {}

    private static let columns = "id, text, completed, \(rfc3339("created_at")), \(rfc3339("updated_at"))"
    static let insert = PreparedStatement(
        name: "note_insert",
        sql: "INSERT INTO notes (text, completed, request_id) VALUES ($1, $2, $3) \(onceSQL) RETURNING \(columns)")
    static let selectCreated = PreparedStatement(
        name: "note_select_created", sql: "SELECT \(columns) FROM notes WHERE request_id = $1", readsOnly: true)
    static let select = PreparedStatement(
        name: "note_select", sql: "SELECT \(columns) FROM notes WHERE id = $1", readsOnly: true)
    // The filtered and unfiltered lists are separate statements: with one statement and
    // `$3 IS NULL OR completed = $3`, PostgreSQL's generic plan (chosen after five runs) tests that on every
    // row and cannot use the (completed, id) index (docs/PERFORMANCE.md).
    // Totals come from note_totals, which triggers keep in step with the notes (migration 0003): counting
    // the rows was half the time of a list at 10,000 notes (docs/PERFORMANCE.md).
    private static let total = "SELECT coalesce(sum(notes), 0)::bigint FROM note_totals"
    /// The notes whose completed equals the parameter `completed`.
    private static func filteredTotal(completed: String) -> String {
        """
        SELECT coalesce(sum(CASE WHEN \(completed)::boolean THEN completed ELSE notes - completed END), 0)::bigint
        FROM note_totals
        """
    }
    static let page = PreparedStatement(
        name: "note_page",
        sql: pageSQL(table: "notes", formattedColumns: columns, total: total), readsOnly: true)
    static let count = PreparedStatement(name: "note_count", sql: total, readsOnly: true)
    static let filteredPage = PreparedStatement(
        name: "note_page_completed",
        sql: pageSQL(
            table: "notes", formattedColumns: columns, filter: "completed = $3",
            total: filteredTotal(completed: "$3")), readsOnly: true)
    static let filteredCount = PreparedStatement(name: "note_count_completed", sql: filteredTotal(completed: "$1"), readsOnly: true)
    static let update = PreparedStatement(
        name: "note_update",
        sql: "UPDATE notes SET text = $2, completed = $3, updated_at = now() WHERE id = $1 RETURNING \(columns)")
    /// NULL leaves a field as it is; when both are NULL nothing changes, updated_at included.
    static let patch = PreparedStatement(
        name: "note_patch",
        sql: """
            UPDATE notes SET text = coalesce($2, text), completed = coalesce($3::boolean, completed),
                updated_at = CASE WHEN $2 IS NULL AND $3::boolean IS NULL THEN updated_at ELSE now() END
            WHERE id = $1 RETURNING \(columns)
            """)
    static let delete = PreparedStatement(
        name: "note_delete", sql: "DELETE FROM notes WHERE id = $1 RETURNING id")

    /// What a `Database` serving this store must prepare.
    public static let statements = [insert, selectCreated, select, page, count, filteredPage, filteredCount, update, patch, delete]

    /// `text` must not contain NUL, which PostgreSQL text cannot hold; callers validate it.
    /// `requestID`: see `insertOnce`.
    public func create(text: String, completed: Bool, requestID: String?) -> Query<Note> {
        insertOnce(Self.insert, [text, sqlBool(completed)], requestID: requestID, created: Self.selectCreated) {
            Self.note($0, row: 0)
        }
    }

    public func note(id: Int64) -> Query<Note?> {
        firstRowQuery(Self.select, [String(id)], row: Self.note)
    }

    /// Notes in id order, skipping `skip`, at most `take`, only those with `completed` when it is given.
    public func notes(skip: Int64, take: Int64, completed: Bool?) -> Query<Page<Note>> {
        guard let completed else {
            return pageQuery(Self.page, [String(skip), String(take)], skip: skip, count: Self.count, [], row: Self.note)
        }
        return pageQuery(
            Self.filteredPage, [String(skip), String(take), sqlBool(completed)], skip: skip,
            count: Self.filteredCount, [sqlBool(completed)], row: Self.note)
    }

    public func update(id: Int64, text: String, completed: Bool) -> Query<Note?> {
        firstRowQuery(Self.update, [String(id), text, sqlBool(completed)], row: Self.note)
    }

    /// Changes the fields given; with none, returns the note unchanged.
    public func patch(id: Int64, text: String?, completed: Bool?) -> Query<Note?> {
        firstRowQuery(Self.patch, [String(id), text, sqlBool(completed)], row: Self.note)
    }

    /// False when no note had this id.
    public func delete(id: Int64) -> Query<Bool> {
        Query.statement(Self.delete, [String(id)]) { $0.rowCount == 1 }
    }

    private static func note(_ result: borrowing PGResult, row: Int) -> Note {
        Note(
            id: result.int64(row: row, column: 0),
            text: result.string(row: row, column: 1),
            completed: result.bool(row: row, column: 2),
            createdAt: result.string(row: row, column: 3),
            updatedAt: result.string(row: row, column: 4)
        )
    }
}
