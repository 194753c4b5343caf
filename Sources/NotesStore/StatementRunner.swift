/// What runs the statements of queries: `Database` against PostgreSQL; in unit tests, a fake. One round is
/// the next statement of several queries, sent together.
public protocol StatementRunner: AnyObject {
    /// The most statements one round may hold: 1 behind a transaction-mode pooler, which may give each
    /// transaction to another server connection.
    var statementsPerRound: Int { get }
    /// What became of each statement of `round`, in the same order.
    func runRound(_ round: [PendingStatement]) -> [StatementFate]
    /// Answers when the database does: one round trip, apart from any round.
    func ping() throws(StoreError)
    /// Whether a statement was cancelled by statement_timeout since the last call.
    func takeStatementTimeout() -> Bool
    /// Runs one reading statement apart from any round and hands its rows to `consume` one at a time, as
    /// they arrive, until they end or `consume` returns false.
    func stream(_ statement: PreparedStatement, _ parameters: [String?], _ consume: (Rows) -> Bool) -> StreamEnd
}

/// How a streamed statement ended.
public enum StreamEnd: Equatable, Sendable {
    /// Every row was handed over.
    case finished
    /// The consumer asked for no more; the statement was cancelled.
    case stopped
    /// The statement failed, before its first row or after some.
    case failed(StoreError)
}

extension StatementRunner {
    /// Runs `queries` to their ends (see `runQueries`).
    public func run<Value>(_ queries: [Query<Value>]) -> [Result<Value, StoreError>] {
        runQueries(queries, on: self)
    }
}

/// Runs `queries` to their ends and returns, in the same order, each one's value or failure: round after
/// round, each with the next statement of every query that waits for one, in the order of the queries.
/// Generic only over the answer, and inlinable, so the caller's module specializes it for its own.
@inlinable
public func runQueries<Value>(_ queries: [Query<Value>], on runner: any StatementRunner) -> [Result<Value, StoreError>] {
    var queries = queries
    var retried = [Bool](repeating: false, count: queries.count)
    var indices: [Int] = []
    var round: [PendingStatement] = []
    while true {
        indices.removeAll(keepingCapacity: true)
        round.removeAll(keepingCapacity: true)
        for index in queries.indices {
            guard let (statement, parameters) = queries[index].pendingStatement else { continue }
            indices.append(index)
            round.append(PendingStatement(statement, parameters, retried: retried[index]))
            if round.count == runner.statementsPerRound { break }
        }
        if round.isEmpty { break }
        for (index, fate) in zip(indices, runner.runRound(round)) {
            switch fate {
            case .finished(let outcome):
                queries[index] = queries[index].resumed(with: outcome)
                // Its next statement, if any, gets a retry of its own.
                retried[index] = false
            case .retry:
                retried[index] = true
            case .notRun:
                break
            }
        }
    }
    return queries.map { $0.result }
}
