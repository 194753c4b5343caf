import NotesTesting
import Testing
@testable import NotesStore

/// How queries are run round by round (`StatementRunner.run`), against a fake runner.
@Suite struct StatementRunnerTests {
    static let read = PreparedStatement(name: "read", sql: "SELECT", readsOnly: true)
    static let write = PreparedStatement(name: "write", sql: "INSERT")
    static let follow = PreparedStatement(name: "follow", sql: "SELECT", readsOnly: true)

    let row = Rows(columnCount: 1, values: [["7"]])

    func query(_ statement: PreparedStatement, _ parameter: String) -> Query<Int64> {
        Query.statement(statement, [parameter]) { $0.rowCount == 0 ? 0 : $0.int64(row: 0, column: 0) }
    }

    @Test func sendsTheNextStatementOfEveryQueryInOneRoundInTheirOrder() {
        let runner = FakeStatementRunner()
        runner.on("read", rows: row)
        runner.on("write", rows: row)
        let results = runner.run([query(Self.read, "a"), Query(value: 1), query(Self.write, "b")])
        #expect(runner.rounds == [["read(a)", "write(b)"]])
        #expect(results.map { try? $0.get() } == [7, 1, 7])
    }

    @Test func aQueryOfTwoStatementsTakesTwoRounds() {
        let runner = FakeStatementRunner()
        runner.on("read", rows: .none)
        runner.on("follow", rows: row)
        let twoSteps = Query.statement(Self.read, ["a"]) { $0.rowCount }.flatMap { count in
            count > 0 ? Query(value: Int64(count)) : Query.statement(Self.follow, ["b"]) { $0.int64(row: 0, column: 0) }
        }
        let results = runner.run([twoSteps, query(Self.read, "c")])
        #expect(runner.rounds == [["read(a)", "read(c)"], ["follow(b)"]])
        #expect(results.map { try? $0.get() } == [7, 0])
    }

    @Test func aRetriedStatementIsMarkedSoInTheNextRound() {
        let runner = FakeStatementRunner()
        var retriedFlags: [Bool] = []
        runner.on("read") { _, attempt in attempt == 0 ? .retry : .finished(.success(self.row)) }
        final class Recorder: StatementRunner {
            let inner: FakeStatementRunner
            var flags: [Bool] = []
            init(_ inner: FakeStatementRunner) { self.inner = inner }
            var statementsPerRound: Int { .max }
            func runRound(_ round: [PendingStatement]) -> [StatementFate] {
                flags += round.map(\.retried)
                return inner.runRound(round)
            }
            func ping() throws(StoreError) {}
            func takeStatementTimeout() -> Bool { false }
            func stream(_ statement: PreparedStatement, _ parameters: [String?], _ consume: (Rows) -> Bool) -> StreamEnd {
                inner.stream(statement, parameters, consume)
            }
        }
        let recorder = Recorder(runner)
        let results = recorder.run([query(Self.read, "a")])
        retriedFlags = recorder.flags
        #expect(retriedFlags == [false, true])
        #expect(results.map { try? $0.get() } == [7])
    }

    @Test func aStatementNotRunGoesAgainAsIfForTheFirstTime() {
        let runner = FakeStatementRunner()
        runner.on("read") { _, attempt in attempt == 0 ? .notRun : .finished(.success(self.row)) }
        let results = runner.run([query(Self.read, "a")])
        #expect(runner.rounds == [["read(a)"], ["read(a)"]])
        #expect(results.map { try? $0.get() } == [7])
    }

    @Test func aFailureEndsOnlyItsOwnQuery() throws {
        let runner = FakeStatementRunner()
        runner.on("write", failure: .unavailable("gone"))
        runner.on("read", rows: row)
        let results = runner.run([query(Self.write, "a"), query(Self.read, "b")])
        #expect(throws: StoreError.unavailable("gone")) { try results[0].get() }
        #expect(try results[1].get() == 7)
    }

    @Test func behindAPoolerARoundIsOneStatement() {
        let runner = FakeStatementRunner(statementsPerRound: 1)
        runner.on("read", rows: row)
        runner.on("write", rows: row)
        _ = runner.run([query(Self.read, "a"), query(Self.write, "b"), query(Self.read, "c")])
        #expect(runner.rounds == [["read(a)"], ["write(b)"], ["read(c)"]])
    }

    @Test func queriesFinishedAtOnceNeedNoRound() throws {
        let runner = FakeStatementRunner()
        let results = runner.run([Query(value: Int64(3)), Query(failure: .misconfigured("x"))])
        #expect(runner.rounds.isEmpty)
        #expect(try results[0].get() == 3)
        #expect(throws: StoreError.misconfigured("x")) { try results[1].get() }
    }

    @Test func recoverTurnsAStoreErrorIntoAValue() throws {
        let runner = FakeStatementRunner()
        runner.on("write", failure: .statementFailed(statement: "write", sqlState: .foreignKeyViolation, message: "fk"))
        let recovered = query(Self.write, "a").recover { error throws(StoreError) in
            guard error.isStatementFailure(.foreignKeyViolation) else { throw error }
            return -1
        }
        #expect(try runner.run([recovered])[0].get() == -1)
    }

    @Test func recoverPassesOtherErrorsOn() {
        let runner = FakeStatementRunner()
        runner.on("write", failure: .unavailable("gone"))
        let recovered = query(Self.write, "a").recover { error throws(StoreError) in
            guard error.isStatementFailure(.foreignKeyViolation) else { throw error }
            return -1
        }
        #expect(throws: StoreError.unavailable("gone")) { try runner.run([recovered])[0].get() }
    }
}
