import Logging

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
    private let logger = Logger(label: "notes-store")

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
        let reopened = try Self.open(settings, preparing: statements, requiredSchemaVersion: requiredSchemaVersion)
        connection = reopened
        return reopened
    }

    /// Runs `queries` to their ends and returns, in the same order, each one's value or error.
    ///
    /// It goes in rounds: each round sends the next statement of every query that has one, in one pipeline,
    /// and then reads their results in order. Consecutive reads share one implicit transaction (one Sync, so
    /// PostgreSQL answers them all in one go); each write is a transaction of its own, as if it ran alone.
    /// Over a transaction-mode pooler (no prepared statements) a round is one statement.
    ///
    /// When the connection turns out to be lost, a read runs once more on a new connection (a database
    /// restart then costs a read nothing); a write never runs again: it may have committed before the
    /// connection died, and a second run could apply it twice, so its query fails with `unavailable`, the
    /// caller answers 503 and the client decides (docs/DATABASE.md). A read that did not run because an
    /// earlier read of its transaction failed runs in the next round.
    public func run<Value>(_ queries: [Query<Value>]) -> [Result<Value, any Error>] {
        var queries = queries
        var retried = [Bool](repeating: false, count: queries.count)
        while true {
            let waiting = queries.indices.filter {
                if case .statement = queries[$0].step { return true }
                return false
            }
            guard let first = waiting.first else { break }
            runRound(settings.preparesStatements ? waiting : [first], of: &queries, retried: &retried)
        }
        return queries.map {
            guard case .finished(let result) = $0.step else { preconditionFailure("a query left unfinished") }
            return result
        }
    }

    /// One round of `run`: the next statement of each query at `round`, which all wait for one.
    private func runRound<Value>(_ round: [Int], of queries: inout [Query<Value>], retried: inout [Bool]) {
        let statements = round.map { index -> PreparedStatement in
            guard case .statement(let statement, _, _, _) = queries[index].step else { preconditionFailure("no statement") }
            return statement
        }
        // A Sync after each write, and after the last of consecutive reads.
        let endsTransaction = statements.indices.map {
            !statements[$0].readsOnly || $0 == statements.count - 1 || !statements[$0 + 1].readsOnly
        }
        let connection: PGConnection
        do {
            connection = try connected()
        } catch {
            for index in round { queries[index] = Self.resumeAfter(error, queries[index]) }
            return
        }
        var lost: StoreError?
        if connection.enterPipelineMode() {
            for (position, index) in round.enumerated() {
                guard case .statement(let statement, let parameters, _, _) = queries[index].step,
                      send(statement, parameters, on: connection),
                      !endsTransaction[position] || connection.pipelineSync()
                else {
                    lost = .unavailable(connection.lastError)
                    break
                }
            }
        } else {
            lost = .unavailable(connection.lastError)
        }
        for (position, index) in round.enumerated() {
            if let lost {
                lose(index, of: &queries, retried: &retried, with: lost)
                continue
            }
            guard case .statement(let statement, _, let resume, let resumeAfter) = queries[index].step else { continue }
            guard let result = connection.nextResult() else {
                let error = StoreError.unavailable("database connection lost: \(connection.lastError)")
                lost = error
                lose(index, of: &queries, retried: &retried, with: error)
                continue
            }
            // Each statement's results end with nil, each transaction with its Sync. A write's rows arrive
            // before its commit, which can still fail (a deferred constraint) or be cut off.
            let inStep = connection.nextResult() == nil
            let transactionFailure = !inStep
                ? StoreError.unavailable("database connection out of step: \(connection.lastError)")
                : endsTransaction[position] ? transactionEnd(on: connection, of: statement) : nil
            if case .unavailable = transactionFailure { lost = transactionFailure }
            if inStep && result.succeeded && (transactionFailure == nil || statement.readsOnly) {
                queries[index] = resume(result)
                // Its next statement, if any, gets a retry of its own.
                retried[index] = false
            } else if result.succeeded, let transactionFailure, lost == nil {
                queries[index] = resumeAfter(transactionFailure)
            } else if result.succeeded || result.wasSkipped {
                // A write that may not have committed, or a read that did not run because an earlier read of
                // its transaction failed (then it runs in the next round).
                if let lost { lose(index, of: &queries, retried: &retried, with: lost) }
            } else {
                let error = Self.failure(of: statement.name, result: result, connection: connection)
                if case .unavailable = error {
                    lost = error
                    lose(index, of: &queries, retried: &retried, with: error)
                    continue
                }
                if case .timedOut = error { statementTimedOut = true }
                queries[index] = resumeAfter(error)
            }
        }
        if lost != nil || !connection.exitPipelineMode() {
            // Whatever state it is in, the next statement gets a new connection.
            self.connection = nil
        }
    }

    /// Reads up to the Sync that ends a transaction; nil when it committed. The error of a commit that failed
    /// comes before the Sync; `unavailable` when the connection ended first.
    private func transactionEnd(on connection: PGConnection, of statement: PreparedStatement) -> StoreError? {
        var failure: StoreError?
        // libpq answers nil once between results, and nil for ever once the connection is gone.
        var endsInARow = 0
        while endsInARow < 2 {
            guard let next = connection.nextResult() else {
                endsInARow += 1
                continue
            }
            endsInARow = 0
            if next.isSync { return failure }
            failure = failure ?? Self.failure(of: statement.name, result: next, connection: connection)
        }
        return .unavailable("database connection lost: \(connection.lastError)")
    }

    private func send(_ statement: PreparedStatement, _ parameters: [String?], on connection: PGConnection) -> Bool {
        settings.preparesStatements
            ? connection.sendPrepared(name: statement.name, parameters: parameters)
            : connection.sendUnnamed(sql: statement.sql, parameters: parameters)
    }

    /// The connection was lost before the statement of `queries[index]` ended: a read runs once more (once
    /// per statement), a write fails with `error` (see `run`).
    private func lose<Value>(_ index: Int, of queries: inout [Query<Value>], retried: inout [Bool], with error: StoreError) {
        guard case .statement(let statement, _, _, let resumeAfter) = queries[index].step else { return }
        if statement.readsOnly && !retried[index] {
            retried[index] = true
            return
        }
        queries[index] = resumeAfter(error)
    }

    private static func resumeAfter<Value>(_ error: StoreError, _ query: Query<Value>) -> Query<Value> {
        guard case .statement(_, _, _, let resumeAfter) = query.step else { return query }
        return resumeAfter(error)
    }

    /// Whether a statement was cancelled by statement_timeout since the last call.
    public func takeStatementTimeout() -> Bool {
        defer { statementTimedOut = false }
        return statementTimedOut
    }

    /// Runs plain SQL (migrations) on the current connection, outside any pipeline.
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
        // libpq's own errors carry no SQLSTATE: in a pipeline, a connection the server closed is reported so
        // before the connection's status shows it.
        if connection.isBroken || sqlState.isEmpty || sqlState.hasPrefix("08")
            || ["57P01", "57P02", "57P03"].contains(sqlState)
        {
            return .unavailable("database connection lost: \(result.errorMessage)")
        }
        return .statementFailed(statement: name, sqlState: sqlState, message: result.errorMessage)
    }
}
