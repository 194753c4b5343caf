/// A PostgreSQL error code (SQLSTATE), by name: the codes this service acts on, and the classes they fall in.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Class 23: a row that references one that does not exist, or is still referenced.
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    /// Class 26: no prepared statement of that name on this connection (`LazyPreparation`).
    public static let invalidStatementName = SQLState(rawValue: "26000")
    /// Class 57: cancelled, here by `statement_timeout`.
    public static let queryCanceled = SQLState(rawValue: "57014")
    /// Class 57: the server is shutting down (smart or fast shutdown, or the backend was terminated).
    public static let adminShutdown = SQLState(rawValue: "57P01")
    /// Class 57: the server is shutting down after a crash of another backend.
    public static let crashShutdown = SQLState(rawValue: "57P02")
    /// Class 57: the server is starting up, in recovery, or otherwise not accepting connections.
    public static let cannotConnectNow = SQLState(rawValue: "57P03")

    /// Class 08, connection exception: the connection failed or ended.
    public static let connectionExceptionClass = "08"

    /// The first two characters: the class the code belongs to.
    public var errorClass: Substring { rawValue.prefix(2) }

    /// The server or the connection is going away: the statement may be worth running again elsewhere.
    public var isOutage: Bool {
        errorClass == Self.connectionExceptionClass || self == .adminShutdown || self == .crashShutdown
            || self == .cannotConnectNow
    }

    public var description: String { rawValue }
}
