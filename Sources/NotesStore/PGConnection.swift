#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibPQ
import CLinux

/// Sole owner of one libpq connection (`PGconn`): opened by `connect`, closed with `PQfinish` when this
/// object goes away.
final class PGConnection {
    private let handle: OpaquePointer
    /// False behind a transaction-mode pooler, where a prepared statement may not be there next time.
    let preparesStatements: Bool
    /// What is prepared here: each statement the first time it runs on this connection.
    private var preparation = LazyPreparation()

    private init(handle: OpaquePointer, preparesStatements: Bool) {
        self.handle = handle
        self.preparesStatements = preparesStatements
    }

    deinit {
        PQfinish(handle)
    }

    static func connect(_ settings: ConnectionSettings) throws(StoreError) -> PGConnection {
        if let url = settings.databaseURL { try checkSyntax(of: url) }
        let pairs = settings.keywordsAndValues
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let cKeywords = keywords.map { UnsafePointer($0) } + [nil]
        let cValues = values.map { UnsafePointer($0) } + [nil]
        guard let handle = PQconnectdbParams(cKeywords, cValues, 1) else {
            throw .outOfMemory("opening a database connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let host = PQhost(handle).map { String(cString: $0) } ?? "(default)"
            let port = PQport(handle).map { String(cString: $0) } ?? "(default)"
            let reason = oneLine(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw .unavailable("cannot connect to database at host \(host) port \(port): \(reason)")
        }
        // Server notices ("relation already exists, skipping") are not events of ours; libpq would print
        // them to stderr in its own format, in the middle of our log lines.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return PGConnection(handle: handle, preparesStatements: settings.preparesStatements)
    }

    /// libpq's complaint about a malformed URL quotes the offending part, which may be the password
    /// (`invalid percent-encoded token: "…"`, or the whole URI): the reason is kept, every quoted part left out.
    private static func checkSyntax(of url: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(url, &message) {
            PQconninfoFree(options)
            return
        }
        defer { PQfreemem(message) }
        let reason = message.map { withoutQuotedParts(oneLine(String(cString: $0))) } ?? "out of memory"
        throw .misconfigured("DATABASE_URL is not a valid libpq URI or key=value string: \(reason)")
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Whether the server closed the connection while it sat idle (a restart, a terminated backend), which
    /// libpq learns only when it next reads: seen without waiting, so that statements go to a new connection
    /// instead of into one that is gone.
    var serverHasClosed: Bool { notes_peer_has_closed(PQsocket(handle)) != 0 }

    var lastError: String { oneLine(String(cString: PQerrorMessage(handle))) }

    /// Runs one or more statements without parameters.
    func execute(_ sql: String) -> PGResult? {
        PQexec(handle, sql).map { PGResult($0) }
    }

    /// Prepares every statement not yet prepared here in one pipeline, one round trip for all of them, and throws
    /// the first failure: `notes-worker check-statements`, which proves every statement against the schema before
    /// a release (connections otherwise prepare each statement when it first runs, `LazyPreparation`).
    func prepare(_ statements: [PreparedStatement]) throws(StoreError) {
        let statements = statements.filter { !preparation.isPrepared($0.name) }
        try enterPipeline()
        for statement in statements {
            guard PQsendPrepare(handle, statement.name, statement.sql, 0, nil) == 1 else {
                throw .unavailable("database connection lost: \(lastError)")
            }
        }
        try sync()
        for statement in statements {
            switch readOutcome(of: statement) {
            case .rows: continue
            case .failed(let error), .lost(let error): throw error
            case .skipped: throw .unavailable("database connection out of step: preparing \(statement.name) was skipped")
            }
        }
        guard let end = nextResult(), end.isSync, exitPipeline() else {
            throw .unavailable("database connection out of step: \(lastError)")
        }
        for statement in statements { _ = preparation.sending(statement.name) }
    }

    /// Reads the outcome of the Prepare sent just before `statement` (`LazyPreparation`): nil when it succeeded;
    /// otherwise the statement's own outcome, its result (which the failed Prepare's transaction skipped) read too.
    private func readPrepare(of statement: PreparedStatement) -> StatementOutcome? {
        guard let result = nextResult() else { return .lost(.unavailable("database connection lost: \(lastError)")) }
        guard nextResult() == nil else { return .lost(.unavailable("database connection out of step: \(lastError)")) }
        if result.succeeded { return nil }
        preparation.forget(statement.name)
        let outcome: StatementOutcome
        if result.wasSkipped {
            outcome = .skipped
        } else {
            let error = failure(of: statement.name, result: result)
            if case .unavailable = error { return .lost(error) }
            outcome = .failed(error)
        }
        guard nextResult() != nil, nextResult() == nil else {
            return .lost(.unavailable("database connection out of step: \(lastError)"))
        }
        return outcome
    }

    /// Why a statement's result failed: a broken connection, or a server that is shutting down or refusing
    /// connections, is an outage; a cancelled statement ran out of time; anything else is the statement's own.
    func failure(of name: String, result: borrowing PGResult) -> StoreError {
        let sqlState = result.sqlState
        if sqlState == .queryCanceled {
            return .timedOut(statement: name)
        }
        // libpq's own errors carry no SQLSTATE: in a pipeline, a connection the server closed is reported so
        // before the connection's status shows it.
        if isBroken || sqlState == nil || sqlState?.isOutage == true {
            return .unavailable("database connection lost: \(result.errorMessage)")
        }
        return .statementFailed(statement: name, sqlState: sqlState, message: result.errorMessage)
    }

    /// Why libpq returned no result at all: the connection broke, or it could not allocate one.
    func noResult(_ what: String) -> StoreError {
        isBroken ? .unavailable("database connection lost: \(lastError)") : .outOfMemory("\(what): \(lastError)")
    }

    /// The next result in the pipeline; nil after the last result of each statement.
    private func nextResult() -> PGResult? {
        PQgetResult(handle).map { PGResult($0) }
    }

    /// libpq copies the values into its output buffer before it returns.
    private func withCParameters<Sent>(
        _ parameters: [String?], _ body: (Int32, [UnsafePointer<CChar>?]) -> Sent
    ) -> Sent {
        let values = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { values.forEach { free($0) } }
        return body(Int32(values.count), values.map { UnsafePointer($0) })
    }
}

// Single-row mode: a statement's rows handed over one by one as they arrive, so a whole table can be sent on
// without being held.
extension PGConnection {
    /// In a pipeline of its own, ended by a Sync: after a statement in single-row mode outside a pipeline,
    /// libpq 15 ran the next pipeline's first statement in single-row mode too, and its round went out of step.
    func stream(_ statement: PreparedStatement, _ parameters: [String?], _ consume: (Rows) -> Bool) -> StreamEnd {
        let lost = StreamEnd.failed(.unavailable("database connection lost: \(lastError)"))
        do throws(StoreError) {
            try enterPipeline()
            try send(statement, parameters)
            try sync()
        } catch {
            return .failed(error)
        }
        var end = StreamEnd.finished
        var prepareFailed = false
        if preparation.readingPrepared(), let outcome = readPrepare(of: statement) {
            prepareFailed = true
            switch outcome {
            case .lost(let error), .failed(let error): end = .failed(error)
            case .skipped, .rows: end = .failed(.unavailable("database connection out of step: preparing \(statement.name) was skipped"))
            }
        } else {
            // Set for the statement being processed (after its Prepare's result, when one went first). Fails only
            // when it cannot be; the statement then runs with its result whole, which is still right.
            _ = PQsetSingleRowMode(handle)
        }
        while !prepareFailed, let result = nextResult() {
            switch result.status {
            case PGRES_SINGLE_TUPLE, PGRES_TUPLES_OK:
                guard end == .finished, result.rowCount > 0 else { continue }
                if !consume(result.rows) {
                    end = .stopped
                    cancelRunningStatement()
                }
            default:
                // After a cancel the statement's end is its "canceling statement" error, which is no failure.
                if end == .finished { end = .failed(failure(of: statement.name, result: result)) }
            }
        }
        let transactionEnd = readTransactionEnd(of: statement)
        guard exitPipeline() else { return end == .finished ? lost : end }
        if case .lost(let error) = transactionEnd, end == .finished { return .failed(error) }
        return end
    }

    /// Asks the server to stop the statement in progress; its results then end early.
    private func cancelRunningStatement() {
        guard let cancel = PQgetCancel(handle) else { return }
        defer { PQfreeCancel(cancel) }
        var message = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &message, Int32(message.count))
    }
}

/// `text` with every double-quoted part replaced by `"…"`.
func withoutQuotedParts(_ text: String) -> String {
    var result = ""
    var quoted = false
    for character in text {
        if character == "\"" {
            result += quoted ? "…\"" : "\""
            quoted.toggle()
        } else if !quoted {
            result.append(character)
        }
    }
    return result
}

// Pipeline mode (libpq 14 and later): statements are sent one after another without waiting, and their
// results read back in the same order. `BatchRound` drives it.
extension PGConnection: PipelineConnection {
    func enterPipeline() throws(StoreError) {
        guard PQenterPipelineMode(handle) == 1 else { throw .unavailable("database connection lost: \(lastError)") }
        preparation.beginPipeline()
    }

    /// Parameters travel as text, separately from the statement, so no input ever becomes SQL; nil is NULL.
    /// Over a transaction-mode pooler the statement is parsed and planned each time instead of prepared:
    /// nothing outlives it on the server. Otherwise its first run on this connection is preceded by its Prepare.
    func send(_ statement: PreparedStatement, _ parameters: [String?]) throws(StoreError) {
        if preparesStatements, preparation.sending(statement.name) {
            guard PQsendPrepare(handle, statement.name, statement.sql, 0, nil) == 1 else {
                throw .unavailable("database connection lost: \(lastError)")
            }
        }
        let sent = withCParameters(parameters) { count, values in
            preparesStatements
                ? PQsendQueryPrepared(handle, statement.name, count, values, nil, nil, 0) == 1
                : PQsendQueryParams(handle, statement.sql, count, nil, values, nil, nil, 0) == 1
        }
        guard sent else { throw .unavailable("database connection lost: \(lastError)") }
    }

    func sync() throws(StoreError) {
        guard PQpipelineSync(handle) == 1 else { throw .unavailable("database connection lost: \(lastError)") }
    }

    func readOutcome(of statement: PreparedStatement) -> StatementOutcome {
        if preparation.readingPrepared(), let outcome = readPrepare(of: statement) { return outcome }
        guard let result = nextResult() else {
            return .lost(.unavailable("database connection lost: \(lastError)"))
        }
        // Each statement's results end with nil.
        guard nextResult() == nil else {
            return .lost(.unavailable("database connection out of step: \(lastError)"))
        }
        if result.succeeded { return .rows(result.rows) }
        if result.wasSkipped { return .skipped }
        // Not prepared here after all (its Prepare was skipped earlier in this pipeline): it did not run, and is
        // prepared with its next run.
        if result.sqlState == .invalidStatementName {
            preparation.forget(statement.name)
            return .skipped
        }
        let error = failure(of: statement.name, result: result)
        if case .unavailable = error { return .lost(error) }
        return .failed(error)
    }

    /// Reads up to the Sync. The error of a commit that failed comes before it.
    func readTransactionEnd(of statement: PreparedStatement) -> TransactionEnd {
        var failure: StoreError?
        // libpq answers nil once between results, and nil for ever once the connection is gone.
        var endsInARow = 0
        while endsInARow < 2 {
            guard let next = nextResult() else {
                endsInARow += 1
                continue
            }
            endsInARow = 0
            if next.isSync {
                switch failure {
                case nil: return .committed
                case .unavailable?: return .lost(failure!)
                case let failure?: return .failed(failure)
                }
            }
            failure = failure ?? self.failure(of: statement.name, result: next)
        }
        return .lost(.unavailable("database connection lost: \(lastError)"))
    }

    /// Fails while results are still unread, or when the connection broke.
    func exitPipeline() -> Bool { PQexitPipelineMode(handle) == 1 }
}
