/// A statement prepared once on every connection and then run by name with parameters.
public struct PreparedStatement: Sendable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}

/// One process's database session: a single connection, the statements prepared on it, and the rule
/// for when it broke (report `unavailable`, open a new connection before the next request).
public final class Database {
    private let settings: ConnectionSettings
    private let statements: [PreparedStatement]
    /// nil after the connection broke and reopening it failed; the next statement tries again.
    private var connection: PGConnection?

    /// Connects and prepares `statements`; throws if either fails, so a worker never starts half ready.
    public init(settings: ConnectionSettings, statements: [PreparedStatement]) throws(StoreError) {
        self.settings = settings
        self.statements = statements
        self.connection = try Self.open(settings, preparing: statements)
    }

    private static func open(_ settings: ConnectionSettings, preparing statements: [PreparedStatement]) throws(StoreError) -> PGConnection {
        let connection = try PGConnection.connect(settings)
        for statement in statements {
            guard let result = connection.prepare(name: statement.name, sql: statement.sql) else {
                throw .unavailable("preparing \(statement.name): \(connection.lastError)")
            }
            guard result.succeeded else {
                throw failure(of: statement.name, result: result, connection: connection)
            }
        }
        return connection
    }

    /// The open connection, or a new one when the last one broke: this is how a worker recovers from an
    /// outage by itself, at its next statement. Cheap when all is well: one status check.
    private func connected() throws(StoreError) -> PGConnection {
        if let connection, !connection.isBroken { return connection }
        connection = nil
        let reopened = try Self.open(settings, preparing: statements)
        connection = reopened
        return reopened
    }

    func run(_ statement: PreparedStatement, _ parameters: [String]) throws(StoreError) -> PGResult {
        let connection = try connected()
        guard let result = connection.executePrepared(name: statement.name, parameters: parameters) else {
            throw .unavailable(connection.lastError)
        }
        guard result.succeeded else {
            throw Self.failure(of: statement.name, result: result, connection: connection)
        }
        return result
    }

    /// Runs plain SQL (migrations, schema checks) on the current connection.
    func execute(_ sql: String, label: String) throws(StoreError) -> PGResult {
        let connection = try connected()
        guard let result = connection.execute(sql) else { throw .unavailable(connection.lastError) }
        guard result.succeeded else { throw Self.failure(of: label, result: result, connection: connection) }
        return result
    }

    /// A broken connection, or a server that is shutting down or refusing connections (SQLSTATE class 08
    /// and 57P01...57P03), is an outage; anything else is a failed statement.
    private static func failure(of name: String, result: borrowing PGResult, connection: PGConnection) -> StoreError {
        let sqlState = result.sqlState
        if connection.isBroken || sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState) {
            return .unavailable("database connection lost: \(result.errorMessage)")
        }
        return .statementFailed(statement: name, sqlState: sqlState, message: result.errorMessage)
    }
}
