import NotesStore

/// Rows as PostgreSQL returns them for the service's entities, for scripting a `FakeStatementRunner`.
public enum Fixtures {
    public static let time = "2026-12-02T10:00:00.000000Z"

    /// A note row: id, text, completed, created_at, updated_at, and the version statements return after them.
    public static func note(
        _ id: Int64, _ text: String = "buy milk", completed: Bool = false, updated: String = time, version: Int64 = 1
    ) -> [String?] {
        [String(id), text, completed ? "t" : "f", time, updated, String(version)]
    }

    /// The JSON object the API writes for `note(...)`.
    public static func noteJSON(_ id: Int64, _ text: String = "buy milk", completed: Bool = false, updated: String = time) -> String {
        #"{"id":\#(id),"text":"\#(text)","completed":\#(completed),"created_at":"\#(time)","updated_at":"\#(updated)"}"#
    }

    public static func author(_ id: Int64, _ first: String = "Ada", _ last: String = "Lovelace", version: Int64 = 1) -> [String?] {
        [first, last, String(id), time, time, String(version)]
    }

    public static func authorJSON(_ id: Int64, _ first: String = "Ada", _ last: String = "Lovelace") -> String {
        #"{"first_name":"\#(first)","last_name":"\#(last)","id":\#(id),"created_at":"\#(time)","updated_at":"\#(time)"}"#
    }

    public static func article(
        _ id: Int64, _ title: String = "On engines", _ content: String = "Notes", author: Int64 = 1, version: Int64 = 1
    ) -> [String?] {
        [title, content, String(author), String(id), String(version)]
    }

    public static func articleJSON(_ id: Int64, _ title: String = "On engines", _ content: String = "Notes", author: Int64 = 1) -> String {
        #"{"title":"\#(title)","content":"\#(content)","author_id":\#(author),"id":\#(id)}"#
    }

    /// A page statement's rows: the entity's columns, the version and the total after them.
    public static func page(_ entity: Entity, _ rows: [[String?]], total: Int64) -> Rows {
        Rows(columnCount: entity.versionColumn + 2, values: rows.map { $0 + [String(total)] })
    }

    /// What a count statement returns.
    public static func count(_ total: Int64) -> Rows {
        Rows(columnCount: 1, values: [[String(total)]])
    }

    /// A foreign key violation, as the server reports it.
    public static func foreignKeyViolation(_ statement: String) -> StoreError {
        .statementFailed(statement: statement, sqlState: .foreignKeyViolation, message: "violates foreign key constraint")
    }
}
