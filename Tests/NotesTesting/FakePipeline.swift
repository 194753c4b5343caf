import NotesStore

/// A `PipelineConnection` played from a script, for unit tests of `BatchRound`: what each call returns is
/// set beforehand, and every call is recorded in `log`.
public final class FakePipeline: PipelineConnection {
    /// `enter`, `send NAME`, `sync`, `read NAME`, `end NAME`, `exit`, in the order they were called.
    public private(set) var log: [String] = []
    /// Fails `enterPipeline`.
    public var enterFailure: StoreError?
    /// Fails the send of the statement at this position of the round (0 is the first).
    public var sendFailure: (position: Int, error: StoreError)?
    /// The outcomes of the statements, in the order they are read; `.rows(.none)` when the list runs out.
    public var outcomes: [StatementOutcome]
    /// How the transactions end, in the order they are read; `.committed` when the list runs out.
    public var transactionEnds: [TransactionEnd]
    public var exitSucceeds = true
    private var sends = 0

    public init(outcomes: [StatementOutcome] = [], transactionEnds: [TransactionEnd] = []) {
        self.outcomes = outcomes
        self.transactionEnds = transactionEnds
    }

    public func enterPipeline() throws(StoreError) {
        log.append("enter")
        if let enterFailure { throw enterFailure }
    }

    public func send(_ statement: PreparedStatement, _ parameters: [String?]) throws(StoreError) {
        defer { sends += 1 }
        if let sendFailure, sendFailure.position == sends { throw sendFailure.error }
        log.append("send \(statement.name)")
    }

    public func sync() throws(StoreError) {
        log.append("sync")
    }

    public func readOutcome(of statement: PreparedStatement) -> StatementOutcome {
        log.append("read \(statement.name)")
        return outcomes.isEmpty ? .rows(.none) : outcomes.removeFirst()
    }

    public func readTransactionEnd(of statement: PreparedStatement) -> TransactionEnd {
        log.append("end \(statement.name)")
        return transactionEnds.isEmpty ? .committed : transactionEnds.removeFirst()
    }

    public func exitPipeline() -> Bool {
        log.append("exit")
        return exitSucceeds
    }
}
