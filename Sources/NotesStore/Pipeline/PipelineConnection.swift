/// What became of one statement sent in a pipeline, as the connection read it.
public enum StatementOutcome: Equatable {
    /// It ran and returned these rows (none for most writes without RETURNING).
    case rows(Rows)
    /// It failed on the server: a constraint, a cancelled statement, a bug.
    case failed(StoreError)
    /// It did not run, because an earlier statement of its transaction failed.
    case skipped
    /// The connection ended, or went out of step, before its outcome was known.
    case lost(StoreError)
}

/// How a transaction that the pipeline ended with a Sync finished.
public enum TransactionEnd: Equatable {
    case committed
    /// Its commit failed, e.g. on a deferred constraint; nothing of it was applied.
    case failed(StoreError)
    /// The connection ended before the Sync came back: it may or may not have committed.
    case lost(StoreError)
}

/// The libpq pipeline protocol, as `BatchRound` drives it: statements are sent one after another, each
/// transaction ended by a Sync, and their outcomes read back in the same order. `PGConnection` speaks it to
/// PostgreSQL; the unit tests speak it with a fake.
public protocol PipelineConnection: AnyObject {
    /// Starts a round; fails with `unavailable` when the connection cannot take one.
    func enterPipeline() throws(StoreError)
    /// Queues the statement; fails with `unavailable` when the connection broke.
    func send(_ statement: PreparedStatement, _ parameters: [String?]) throws(StoreError)
    /// Ends the transaction of the statements sent since the last Sync, and sends them all.
    func sync() throws(StoreError)
    /// The outcome of the next statement sent.
    func readOutcome(of statement: PreparedStatement) -> StatementOutcome
    /// How the transaction of the statements read since the last Sync ended.
    func readTransactionEnd(of statement: PreparedStatement) -> TransactionEnd
    /// Ends the round; false when results are still unread or the connection broke.
    func exitPipeline() -> Bool
}
