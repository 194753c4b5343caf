#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A statement prepared once on every connection and then run by name with parameters.
public struct PreparedStatement: Sendable, Hashable {
    public let name: String
    public let sql: String
    /// Changes nothing, so running it again after its connection was lost cannot apply anything twice.
    public let readsOnly: Bool

    /// Internal: the stores make theirs with `StatementRegistry.declare`, which lists them for preparing.
    init(name: String, sql: String, readsOnly: Bool = false) {
        self.name = name
        self.sql = sql
        self.readsOnly = readsOnly
    }
}

/// One process's database session: a single connection, the statements prepared on it, and the rule
/// for when it broke (report `unavailable`, open a new connection before the next request).
public final class Database: StatementRunner {
    private let settings: ConnectionSettings
    private let requiredSchemaVersion: Int?
    /// Set when a statement ran into statement_timeout, until `takeStatementTimeout` reads it.
    private var statementTimedOut = false
    /// nil after the connection broke and reopening it failed; the next statement tries again.
    private var connection: PGConnection?
    private let logger = Logger(label: "notes-store")
    /// Nanoseconds spent in PostgreSQL (a round's pipeline, a stream) since this session began: the request
    /// layer reads it before and after a batch to tell database time from its own, knowing no SQL.
    public private(set) var statementNanoseconds: UInt64 = 0
    /// Told of every wait on PostgreSQL (the worker's scoreboard slot); nil: nobody is.
    public var waitObserver: (any DatabaseWaitObserver)?

    /// Connects and checks that the schema is at `requiredSchemaVersion` or later (when given); throws if either
    /// fails, so a worker never starts half ready. Statements are prepared on a connection as they first run there.
    public init(settings: ConnectionSettings, requiredSchemaVersion: Int? = nil) throws(StoreError) {
        self.settings = settings
        self.requiredSchemaVersion = requiredSchemaVersion
        self.connection = try Self.open(settings, requiredSchemaVersion: requiredSchemaVersion)
    }

    private static func open(_ settings: ConnectionSettings, requiredSchemaVersion: Int?) throws(StoreError) -> PGConnection {
        let connection = try PGConnection.connect(settings)
        if let milliseconds = settings.statementTimeoutMilliseconds {
            _ = try execute("SET statement_timeout = \(milliseconds)", label: "set statement_timeout", on: connection)
        }
        // Before any statement runs: one on a missing table would fail with a less helpful message.
        if let requiredSchemaVersion {
            let current = try schemaVersion(on: connection)
            if current < requiredSchemaVersion { throw .schemaBehind(current: current, required: requiredSchemaVersion) }
        }
        return connection
    }

    /// Prepares every one of `statements` on the connection now, in one round trip, and throws the first that
    /// PostgreSQL refuses: what proves a release's statements against its schema (`notes-worker check-statements`).
    public func prepare(_ statements: [PreparedStatement]) throws(StoreError) {
        try connected().prepare(statements)
    }

    /// The open connection, or a new one when the last one broke or the server closed it: this is how a worker
    /// recovers from an outage by itself, at its next statement. Cheap when all is well: a status check and one
    /// poll(). Without the poll, after a restart every write of a worker's first batch went out on the closed
    /// connection and was answered 503.
    private func connected() throws(StoreError) -> PGConnection {
        if let connection {
            if !connection.isBroken && !connection.serverHasClosed { return connection }
            // The only trace of an outage that happened while this worker was idle.
            logger.warning("database connection lost (closed by the server): opening a new one")
        }
        connection = nil
        let reopened = try Self.open(settings, requiredSchemaVersion: requiredSchemaVersion)
        connection = reopened
        return reopened
    }

    public var statementsPerRound: Int { settings.preparesStatements ? .max : 1 }

    /// One round of statements in one pipeline, by `BatchRound`'s rules. When no connection can be opened,
    /// every statement fails with that error.
    public func runRound(_ round: [PendingStatement]) -> [StatementFate] {
        let connection: PGConnection
        do {
            connection = try connected()
        } catch {
            return round.map { _ in .finished(.failure(error)) }
        }
        let started = Self.now()
        waitObserver?.databaseWaitBegan(statement: round[0].statement.name, count: round.count)
        let outcome = BatchRound(round, on: connection)
        waitObserver?.databaseWaitEnded()
        statementNanoseconds &+= Self.now() &- started
        if outcome.timedOut { statementTimedOut = true }
        // Whatever state it is in, the next round gets a new connection.
        if !outcome.connectionUsable { self.connection = nil }
        return outcome.fates
    }

    /// A read lost before its first row is tried once more on a new connection, as a round's reads are; after
    /// rows went out it cannot be, since they would go out twice.
    public func stream(_ statement: PreparedStatement, _ parameters: [String?], _ consume: (Rows) -> Bool) -> StreamEnd {
        precondition(statement.readsOnly, "\(statement.name) is streamed but writes")
        var retried = false
        while true {
            let connection: PGConnection
            do {
                connection = try connected()
            } catch {
                return .failed(error)
            }
            var delivered = false
            // The consumer's time (writing rows to the client) is not the database's.
            var consuming: UInt64 = 0
            let started = Self.now()
            waitObserver?.databaseWaitBegan(statement: statement.name, count: 1)
            let end = connection.stream(statement, parameters) { rows in
                delivered = true
                let handedOver = Self.now()
                waitObserver?.databaseWaitEnded()
                defer {
                    consuming &+= Self.now() &- handedOver
                    waitObserver?.databaseWaitBegan(statement: statement.name, count: 1)
                }
                return consume(rows)
            }
            waitObserver?.databaseWaitEnded()
            statementNanoseconds &+= (Self.now() &- started) &- consuming
            guard case .failed(let error) = end else { return end }
            // Whatever state it is in, the next statement gets a new connection.
            if case .unavailable = error { self.connection = nil }
            if case .timedOut = error { statementTimedOut = true }
            guard case .unavailable = error, !delivered, !retried else { return end }
            retried = true
        }
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// Whether a statement was cancelled by statement_timeout since the last call.
    public func takeStatementTimeout() -> Bool {
        defer { statementTimedOut = false }
        return statementTimedOut
    }

    /// Runs plain SQL (migrations) on the current connection, outside any pipeline.
    func execute(_ sql: String, label: String) throws(StoreError) -> PGResult {
        let connection = try connected()
        waitObserver?.databaseWaitBegan(statement: label, count: 1)
        defer { waitObserver?.databaseWaitEnded() }
        return try Self.execute(sql, label: label, on: connection)
    }

    private static func execute(_ sql: String, label: String, on connection: PGConnection) throws(StoreError) -> PGResult {
        guard let result = connection.execute(sql) else { throw connection.noResult(label) }
        guard result.succeeded else { throw connection.failure(of: label, result: result) }
        return result
    }

    /// Answers when the server does: a round trip on the connection (reopened if it broke).
    public func ping() throws(StoreError) {
        _ = try execute("SELECT 1", label: "ping")
    }

    /// How many more client connections the server accepts now, this one counted: what an adaptive pool may
    /// still open (superuser_reserved_connections are not for it).
    public func connectionRoom() throws(StoreError) -> Int {
        let room = try execute(Self.connectionRoomSQL, label: "connection room")
        return Int(room.int64(row: 0, column: 0))
    }

    static let connectionRoomSQL = "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int"

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
}
