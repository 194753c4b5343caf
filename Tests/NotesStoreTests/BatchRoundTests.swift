import NotesTesting
import Testing
@testable import NotesStore

/// The rules of one round in one pipeline (`BatchRound`), against a scripted connection.
@Suite struct BatchRoundTests {
    static let read1 = PreparedStatement(name: "r1", sql: "SELECT 1", readsOnly: true)
    static let read2 = PreparedStatement(name: "r2", sql: "SELECT 2", readsOnly: true)
    static let read3 = PreparedStatement(name: "r3", sql: "SELECT 3", readsOnly: true)
    static let write1 = PreparedStatement(name: "w1", sql: "INSERT 1")
    static let write2 = PreparedStatement(name: "w2", sql: "INSERT 2")

    let lost = StoreError.unavailable("database connection lost: server closed the connection")
    let one = Rows(columnCount: 1, values: [["1"]])
    let two = Rows(columnCount: 1, values: [["2"]])
    let three = Rows(columnCount: 1, values: [["3"]])

    func pending(_ statements: PreparedStatement..., retried: Bool = false) -> [PendingStatement] {
        statements.map { PendingStatement($0, [], retried: retried) }
    }

    @Test func consecutiveReadsShareOneSyncAndEachWriteHasItsOwn() {
        let connection = FakePipeline()
        _ = BatchRound(pending(Self.read1, Self.read2, Self.write1, Self.read3, Self.write2), on: connection)
        #expect(connection.log == [
            "enter", "send r1", "send r2", "sync", "send w1", "sync", "send r3", "sync", "send w2", "sync",
            "read r1", "read r2", "end r2", "read w1", "end w1", "read r3", "end r3", "read w2", "end w2", "exit",
        ])
    }

    @Test func everyStatementGetsItsRowsWhenAllGoesWell() {
        let connection = FakePipeline(outcomes: [.rows(one), .rows(two), .rows(three)])
        let round = BatchRound(pending(Self.read1, Self.write1, Self.read2), on: connection)
        #expect(round.fates == [.finished(.success(one)), .finished(.success(two)), .finished(.success(three))])
        #expect(round.connectionUsable)
        #expect(!round.timedOut)
    }

    @Test func aConnectionThatCannotStartAPipelineRetriesReadsAndFailsWrites() {
        let connection = FakePipeline()
        connection.enterFailure = lost
        let round = BatchRound(pending(Self.read1, Self.write1), on: connection)
        #expect(round.fates == [.retry, .finished(.failure(lost))])
        #expect(!round.connectionUsable)
        #expect(connection.log == ["enter"])
    }

    @Test func lostWhileSendingNothingIsReadAndNoWriteRunsAgain() {
        let connection = FakePipeline()
        connection.sendFailure = (position: 2, error: lost)
        let round = BatchRound(pending(Self.read1, Self.write1, Self.read2, Self.write2), on: connection)
        // Statements already sent may have run: the write among them is not sent again.
        #expect(round.fates == [.retry, .finished(.failure(lost)), .retry, .finished(.failure(lost))])
        #expect(!connection.log.contains { $0.hasPrefix("read") })
        #expect(!round.connectionUsable)
    }

    @Test func lostBeforeTheFirstOutcomeRetriesEveryRead() {
        let connection = FakePipeline(outcomes: [.lost(lost)])
        let round = BatchRound(pending(Self.read1, Self.read2, Self.read3), on: connection)
        #expect(round.fates == [.retry, .retry, .retry])
        #expect(connection.log.filter { $0.hasPrefix("read") } == ["read r1"])
        #expect(!round.connectionUsable)
    }

    @Test func lostDuringAStatementKeepsWhatWasReadBefore() {
        let connection = FakePipeline(outcomes: [.rows(one), .lost(lost)])
        let round = BatchRound(pending(Self.write1, Self.read1, Self.write2), on: connection)
        #expect(round.fates == [.finished(.success(one)), .retry, .finished(.failure(lost))])
    }

    @Test func aWriteLostBeforeItsSyncCameBackIsNeverRunAgain() {
        // Its rows came back, but not its commit: it may or may not have committed.
        let connection = FakePipeline(outcomes: [.rows(one)], transactionEnds: [.lost(lost)])
        let round = BatchRound(pending(Self.write1, Self.read1), on: connection)
        #expect(round.fates == [.finished(.failure(lost)), .retry])
        #expect(!round.connectionUsable)
    }

    @Test func aReadKeepsItsRowsWhenTheConnectionIsLostAtItsSync() {
        let connection = FakePipeline(outcomes: [.rows(one)], transactionEnds: [.lost(lost)])
        let round = BatchRound(pending(Self.read1), on: connection)
        #expect(round.fates == [.finished(.success(one))])
        #expect(!round.connectionUsable)
    }

    @Test func aReadLostTheSecondTimeFails() {
        let connection = FakePipeline(outcomes: [.lost(lost)])
        let round = BatchRound(pending(Self.read1, retried: true), on: connection)
        #expect(round.fates == [.finished(.failure(lost))])
    }

    @Test func aFailedReadSkipsTheRestOfItsTransactionOnly() {
        let failure = StoreError.statementFailed(statement: "r2", sqlState: .foreignKeyViolation, message: "x")
        let connection = FakePipeline(outcomes: [.rows(one), .failed(failure), .skipped, .rows(two)])
        let round = BatchRound(pending(Self.read1, Self.read2, Self.read3, Self.write1), on: connection)
        #expect(round.fates == [.finished(.success(one)), .finished(.failure(failure)), .notRun, .finished(.success(two))])
        #expect(round.connectionUsable)
    }

    /// What a connection reports for a statement the server did not know (its Prepare was skipped earlier in
    /// the pipeline, `LazyPreparation`): a write too runs in the next round, since it did not run at all.
    @Test func aSkippedWriteRunsInTheNextRound() {
        let connection = FakePipeline(outcomes: [.skipped, .rows(two)])
        let round = BatchRound(pending(Self.write1, Self.write2), on: connection)
        #expect(round.fates == [.notRun, .finished(.success(two))])
        #expect(round.connectionUsable)
    }

    @Test func aSkippedReadWhoseSyncIsLostRunsAgainAsARetry() {
        let failure = StoreError.statementFailed(statement: "r1", sqlState: nil, message: "x")
        let connection = FakePipeline(outcomes: [.failed(failure), .skipped], transactionEnds: [.lost(lost)])
        let round = BatchRound(pending(Self.read1, Self.read2), on: connection)
        #expect(round.fates == [.finished(.failure(failure)), .retry])
    }

    @Test func aWriteWhoseCommitFailsFailsWithThatErrorAndTheRestGoesOn() {
        let deferred = StoreError.statementFailed(statement: "w1", sqlState: SQLState(rawValue: "23514"), message: "check")
        let connection = FakePipeline(outcomes: [.rows(one), .rows(two)], transactionEnds: [.failed(deferred)])
        let round = BatchRound(pending(Self.write1, Self.write2), on: connection)
        #expect(round.fates == [.finished(.failure(deferred)), .finished(.success(two))])
        #expect(round.connectionUsable)
    }

    @Test func aStatementCancelledByTheTimeoutIsReported() {
        let connection = FakePipeline(outcomes: [.failed(.timedOut(statement: "w1"))])
        let round = BatchRound(pending(Self.write1), on: connection)
        #expect(round.fates == [.finished(.failure(.timedOut(statement: "w1")))])
        #expect(round.timedOut)
    }

    @Test func resultsOutOfStepCountAsALostConnection() {
        let outOfStep = StoreError.unavailable("database connection out of step")
        let connection = FakePipeline(outcomes: [.lost(outOfStep)])
        let round = BatchRound(pending(Self.write1, Self.read1), on: connection)
        #expect(round.fates == [.finished(.failure(outOfStep)), .retry])
        #expect(!round.connectionUsable)
    }

    @Test func aPipelineThatWillNotEndMakesTheConnectionUnusable() {
        let connection = FakePipeline(outcomes: [.rows(one)])
        connection.exitSucceeds = false
        let round = BatchRound(pending(Self.read1), on: connection)
        #expect(round.fates == [.finished(.success(one))])
        #expect(!round.connectionUsable)
    }

    @Test func anEmptyRoundSendsNothing() {
        let connection = FakePipeline()
        let round = BatchRound([], on: connection)
        #expect(round.fates.isEmpty)
        #expect(connection.log == ["enter", "exit"])
    }
}
