/// A statement prepared once on every connection and then run by name with parameters.
public struct PreparedStatement: Sendable {
    public let name: String
    public let sql: String
    /// Changes nothing, so running it again after its connection was lost cannot apply anything twice.
    public let readsOnly: Bool

    public init(name: String, sql: String, readsOnly: Bool = false) {
        self.name = name
        self.sql = sql
        self.readsOnly = readsOnly
    }
}

/// One process's database session: a single connection, the statements prepared on it, and the rule
/// for when it broke (report `unavailable`, open a new connection before the next request).
public final class Database {
    private let settings: ConnectionSettings
    private let statements: [PreparedStatement]
    private let requiredSchemaVersion: Int?
    /// Set when a statement ran into statement_timeout, until `takeStatementTimeout` reads it.
    private var statementTimedOut = false
    /// nil after the connection broke and reopening it failed; the next statement tries again.
    private var connection: PGConnection?

    /// Connects, checks that the schema is at `requiredSchemaVersion` or later (when given), and prepares
    /// `statements`; throws if any step fails, so a worker never starts half ready.
    public init(settings: ConnectionSettings, statements: [PreparedStatement], requiredSchemaVersion: Int? = nil) throws(StoreError) {
        self.settings = settings
        self.statements = statements
        self.requiredSchemaVersion = requiredSchemaVersion
        self.connection = try Self.open(settings, preparing: statements, requiredSchemaVersion: requiredSchemaVersion)
    }

    private static func open(
        _ settings: ConnectionSettings, preparing statements: [PreparedStatement], requiredSchemaVersion: Int?
    ) throws(StoreError) -> PGConnection {
        let connection = try PGConnection.connect(settings)
        if let milliseconds = settings.statementTimeoutMilliseconds {
            _ = try execute("SET statement_timeout = \(milliseconds)", label: "set statement_timeout", on: connection)
        }
        // Before preparing: a statement on a missing table would fail with a less helpful message.
        if let requiredSchemaVersion {
            let current = try schemaVersion(on: connection)
            if current < requiredSchemaVersion { throw .schemaBehind(current: current, required: requiredSchemaVersion) }
        }
        for statement in statements where settings.preparesStatements {
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
        let reopened = try Self.open(settings, preparing: statements, requiredSchemaVersion: requiredSchemaVersion)
        connection = reopened
        return reopened
    }

    /// Runs `statement`. When its connection turns out to be lost, a read runs once more on a new connection
    /// (a database restart then costs a read nothing); a write never runs again: it may have committed before
    /// the connection died, and a second run could apply it twice, so the caller answers 503 and the client
    /// decides (docs/DATABASE.md).
    func run(_ statement: PreparedStatement, _ parameters: [String?]) throws(StoreError) -> PGResult {
        let connection = try connected()
        do {
            return try run(statement, parameters, on: connection)
        } catch {
            guard case .unavailable = error, statement.readsOnly else { throw error }
            self.connection = nil
            return try run(statement, parameters, on: connected())
        }
    }

    private func run(_ statement: PreparedStatement, _ parameters: [String?], on connection: PGConnection) throws(StoreError) -> PGResult {
        let sent = settings.preparesStatements
            ? connection.executePrepared(name: statement.name, parameters: parameters)
            : connection.executeUnnamed(sql: statement.sql, parameters: parameters)
        guard let result = sent else { throw .unavailable(connection.lastError) }
        guard result.succeeded else {
            let error = Self.failure(of: statement.name, result: result, connection: connection)
            if case .timedOut = error { statementTimedOut = true }
            throw error
        }
        return result
    }

    /// Whether a statement was cancelled by statement_timeout since the last call.
    public func takeStatementTimeout() -> Bool {
        defer { statementTimedOut = false }
        return statementTimedOut
    }

    /// Runs plain SQL (migrations) on the current connection.
    func execute(_ sql: String, label: String) throws(StoreError) -> PGResult {
        try Self.execute(sql, label: label, on: connected())
    }

    private static func execute(_ sql: String, label: String, on connection: PGConnection) throws(StoreError) -> PGResult {
        guard let result = connection.execute(sql) else { throw .unavailable(connection.lastError) }
        guard result.succeeded else { throw failure(of: label, result: result, connection: connection) }
        return result
    }

    /// Answers when the server does: a round trip on the connection (reopened if it broke).
    public func ping() throws(StoreError) {
        _ = try execute("SELECT 1", label: "ping")
    }

    /// The highest migration recorded in `schema_migrations`, 0 for a database never migrated.
    public func schemaVersion() throws(StoreError) -> Int {
        try Self.schemaVersion(on: connected())
    }

    private static func schemaVersion(on connection: PGConnection) throws(StoreError) -> Int {
        let table = try execute("SELECT to_regclass('schema_migrations') IS NOT NULL", label: "schema check", on: connection)
        guard table.bool(row: 0, column: 0) else { return 0 }
        let version = try execute("SELECT coalesce(max(version), 0) FROM schema_migrations", label: "schema version", on: connection)
        return Int(version.int64(row: 0, column: 0))
    }

    /// A broken connection, or a server that is shutting down or refusing connections (SQLSTATE class 08
    /// and 57P01...57P03), is an outage; a cancelled statement (57014) ran out of time; anything else is a
    /// failed statement.
    private static func failure(of name: String, result: borrowing PGResult, connection: PGConnection) -> StoreError {
        let sqlState = result.sqlState
        if sqlState == "57014" {
            return .timedOut(statement: name)
        }
        if connection.isBroken || sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState) {
            return .unavailable("database connection lost: \(result.errorMessage)")
        }
        return .statementFailed(statement: name, sqlState: sqlState, message: result.errorMessage)
    }
}
