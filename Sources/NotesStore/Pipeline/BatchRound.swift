/// A statement waiting for its turn in a round, with what it is owed: `retried` once it was lost with a
/// connection and is running for the second time.
public struct PendingStatement: Equatable {
    public let statement: PreparedStatement
    public let parameters: [String?]
    public let retried: Bool

    public init(_ statement: PreparedStatement, _ parameters: [String?], retried: Bool = false) {
        self.statement = statement
        self.parameters = parameters
        self.retried = retried
    }
}

/// What a round decided for one statement.
public enum StatementFate: Equatable {
    /// Done: its rows, or why it failed.
    case finished(Result<Rows, StoreError>)
    /// A read lost with its connection for the first time: it runs once more, on a new connection.
    case retry
    /// Not run (an earlier read of its transaction failed): it runs in the next round, as if for the first time.
    case notRun
}

/// The rules of one round of statements in one pipeline, apart from the protocol that carries them
/// (`PipelineConnection`):
///
/// - Consecutive reads share one transaction (one Sync); each write is a transaction of its own, as if it
///   ran alone, and counts as done only once its Sync is back: its rows arrive before its commit, which can
///   still fail (a deferred constraint) or be cut off.
/// - A failed statement fails only itself; the reads after it in its transaction did not run and go again.
/// - When the connection is lost, a read runs once more on a new connection; a write never runs again: it
///   may have committed before the connection died, and a second run could apply it twice, so it fails with
///   `unavailable` and the client decides (docs/DATABASE.md).
public struct BatchRound {
    public let fates: [StatementFate]
    /// False when the connection was lost or left in a state the next round cannot use.
    public let connectionUsable: Bool
    /// Whether a statement was cancelled by statement_timeout.
    public let timedOut: Bool

    public init(_ round: [PendingStatement], on connection: some PipelineConnection) {
        // A Sync after each write, and after the last of consecutive reads.
        let endsTransaction = round.indices.map { position in
            !round[position].statement.readsOnly || position == round.count - 1 || !round[position + 1].statement.readsOnly
        }
        var lost: StoreError?
        do throws(StoreError) {
            try connection.enterPipeline()
            for (position, pending) in round.enumerated() {
                try connection.send(pending.statement, pending.parameters)
                if endsTransaction[position] { try connection.sync() }
            }
        } catch {
            lost = error
        }

        var fates: [StatementFate] = []
        fates.reserveCapacity(round.count)
        var timedOut = false
        for (position, pending) in round.enumerated() {
            if let lost {
                fates.append(Self.fate(of: pending, lostWith: lost))
                continue
            }
            let outcome = connection.readOutcome(of: pending.statement)
            if case .lost(let error) = outcome {
                lost = error
                fates.append(Self.fate(of: pending, lostWith: error))
                continue
            }
            var end = TransactionEnd.committed
            if endsTransaction[position] {
                end = connection.readTransactionEnd(of: pending.statement)
                if case .lost(let error) = end { lost = error }
            }
            switch (outcome, end) {
            case (.rows(let rows), .committed):
                fates.append(.finished(.success(rows)))
            case (.rows(let rows), _) where pending.statement.readsOnly:
                // A read has its rows whatever happens to the rest of its transaction.
                fates.append(.finished(.success(rows)))
            case (.rows, .failed(let error)):
                fates.append(.finished(.failure(error)))
            case (.rows, .lost(let error)):
                fates.append(Self.fate(of: pending, lostWith: error))
            case (.failed(let error), _):
                if case .timedOut = error { timedOut = true }
                fates.append(.finished(.failure(error)))
            case (.skipped, .lost(let error)):
                fates.append(Self.fate(of: pending, lostWith: error))
            case (.skipped, _):
                fates.append(.notRun)
            case (.lost, _):
                preconditionFailure("handled above")
            }
        }
        self.fates = fates
        self.timedOut = timedOut
        connectionUsable = lost == nil && connection.exitPipeline()
    }

    /// A read runs once more (once per statement); a write fails with `error`.
    private static func fate(of pending: PendingStatement, lostWith error: StoreError) -> StatementFate {
        pending.statement.readsOnly && !pending.retried ? .retry : .finished(.failure(error))
    }
}
