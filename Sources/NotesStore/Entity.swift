/// One column of an entity: its name, which is the same in SQL and in JSON, what it holds, and whether
/// clients write it (a create's and an update's fields) or the database does.
public struct Column: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A positive bigint: the entity's own id, or a reference to another's.
        case identifier
        case text
        case boolean
        /// Set by the database, sent as RFC 3339 in UTC with microseconds.
        case timestamp
    }

    public let name: String
    public let kind: Kind
    public let writable: Bool

    public static let id = Column(name: "id", kind: .identifier, writable: false)
    public static let createdAt = Column(name: "created_at", kind: .timestamp, writable: false)
    public static let updatedAt = Column(name: "updated_at", kind: .timestamp, writable: false)

    public static func text(_ name: String) -> Column { Column(name: name, kind: .text, writable: true) }
    public static func boolean(_ name: String) -> Column { Column(name: name, kind: .boolean, writable: true) }
    /// The id of a row of another entity, checked by a foreign key.
    public static func reference(_ name: String) -> Column { Column(name: name, kind: .identifier, writable: true) }

    /// How a select list reads it: timestamps are formatted by the server.
    var selected: String { kind == .timestamp ? rfc3339(name) : name }

    /// A parameter of this column's type, as SQL (`$2::boolean`).
    func parameter(_ number: Int) -> String {
        switch kind {
        case .identifier: "$\(number)::bigint"
        case .text: "$\(number)::text"
        case .boolean: "$\(number)::boolean"
        case .timestamp: "$\(number)::timestamptz"
        }
    }
}

/// A table and the columns the API shows of it, in the order its JSON objects list them: the one
/// description its statements, its rows' JSON and its OpenAPI schema are made from.
public final class Entity: Sendable {
    public let table: String
    /// The prefix of its statements' names (`note_select`).
    public let singular: String
    public let columns: [Column]
    /// What clients write, in the order of a create's parameters.
    public let writableColumns: [Column]
    /// The values of a list's `order`: each orderable column ascending, then descending (`-created_at`),
    /// ascending id first, the default. Each has statements of its own (`ListOrder`).
    public let orders: [String]
    /// The text a search reads, as an SQL expression over the columns; nil when the entity has no search.
    public let searchDocument: String?

    /// - Parameter orderedBy: the columns its lists can be ordered by, besides id.
    public init(table: String, singular: String, columns: [Column], orderedBy: [String] = [], searchDocument: String? = nil) {
        self.table = table
        self.singular = singular
        self.columns = columns
        writableColumns = columns.filter { $0.writable }
        orders = (["id"] + orderedBy).flatMap { [$0, "-" + $0] }
        self.searchDocument = searchDocument
    }

    /// The select list: every column, in order, as a statement returns them, then the row's version (which
    /// the JSON does not show: it is the entity tag, migration 0006).
    var selectList: String { (columns.map(\.selected) + ["version"]).joined(separator: ", ") }

    /// Where a row's version is in what a statement returns: right after the entity's columns.
    public var versionColumn: Int { columns.count }

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
}

/// A value for a column, as clients send it and statements take it.
public enum FieldValue: Sendable, Equatable {
    case text(String)
    case boolean(Bool)
    case integer(Int64)
    /// Left out (PATCH): the column keeps its value.
    case absent

    /// As a statement parameter: text, `t`/`f`, digits; NULL when absent.
    public var sqlParameter: String? {
        switch self {
        case .text(let text): text
        case .boolean(let flag): flag ? "t" : "f"
        case .integer(let number): String(number)
        case .absent: nil
        }
    }
}
