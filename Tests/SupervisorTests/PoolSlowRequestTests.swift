#if canImport(Glibc)
import Glibc
#endif
import Scoreboard
import Testing
@testable import Supervisor

/// `--slow-request`: one line per slow request, saying where it waits, against the fake.
@Suite struct PoolSlowRequestTests {
    @Test func aRequestWaitingOnPostgreSQLIsLoggedOnceWithItsStatementAndNoStackIsRead() {
        let h = PoolHarness(workers: 1, timeout: nil, slowRequest: 2)
        let pid = h.ready()[0]
        h.processes.busy(pid, "PUT", "/notes/7/", requestID: "0123456789abcdef0123456789abcdef")
        h.advance(0.5)
        h.processes.waitsOnDatabase(pid, "update_note")
        h.advance(1.4)
        #expect(!h.log.contains("slow request"), "not before the limit")
        h.advance(0.2)
        #expect(h.log.lines.filter { $0.contains("slow request") } == [
            "warning: slow request: PUT /notes/7/ (request id 0123456789abcdef0123456789abcdef) in worker \(pid) for 2.1s: waiting on PostgreSQL for 1.6s, statement update_note",
        ])
        h.advance(5)
        #expect(h.log.lines.filter { $0.contains("slow request") }.count == 1, "once per request")
        #expect(h.processes.stacksRead.isEmpty)
        #expect(h.processes.signals.isEmpty, "logging takes no action")
    }

    @Test func aRoundOfSeveralStatementsIsNamedByItsFirst() {
        let h = PoolHarness(workers: 1, timeout: nil, slowRequest: 1)
        let pid = h.ready()[0]
        h.processes.busy(pid)
        h.processes.waitsOnDatabase(pid, "note_by_id", count: 4)
        h.advance(1)
        #expect(h.log.contains("(request id none) in worker \(pid) for 1.0s: waiting on PostgreSQL for 1.0s, statement note_by_id and 3 more sent with it"))
    }

    @Test func aRequestRunningInTheWorkerIsLoggedWithItsStack() {
        let h = PoolHarness(workers: 2, timeout: nil, slowRequest: 1)
        let pids = h.ready()
        h.processes.stacks[pids[0]] = .frames(["0x10 write + 4 in libc.so.6", "0x20 FCGX_FFlush + 9 in notes-worker"])
        h.processes.busy(pids[0], "GET", "/articles")
        h.advance(0.5)
        // Its answer made, it blocks writing it out: idle for /status and saturation, still in hand here.
        h.processes.answering(pids[0])
        h.advance(1.0)
        #expect(h.log.contains("warning: slow request: GET /articles (request id none) in worker \(pids[0]) for 1.5s: running in the worker; stack: #0 0x10 write + 4 in libc.so.6 | #1 0x20 FCGX_FFlush + 9 in notes-worker"))
        #expect(h.processes.stacksRead == [pids[0]], "only the slow worker is read, once")
        // Its next request is a new one and is logged again when slow.
        h.processes.idle(pids[0])
        h.advance(0.1)
        h.processes.busy(pids[0], "GET", "/authors")
        h.advance(1.2)
        #expect(h.processes.stacksRead == [pids[0], pids[0]])
        #expect(h.log.contains("GET /authors"))
    }

    @Test func aStackThatCannotBeReadIsSaidSo() {
        let h = PoolHarness(workers: 1, timeout: nil, slowRequest: 1)
        let pid = h.ready()[0]
        h.processes.stacks[pid] = .unavailable("ptrace(PTRACE_SEIZE, \(pid)): Operation not permitted")
        h.processes.busy(pid)
        h.advance(1)
        #expect(h.log.contains("running in the worker; its stack cannot be read: ptrace(PTRACE_SEIZE, \(pid)): Operation not permitted"))
    }

    @Test func aWorkerThatEndsWhileItsStackIsReadIsReapedAndReplaced() {
        let h = PoolHarness(workers: 1, timeout: nil, slowRequest: 1)
        let pid = h.ready()[0]
        h.processes.stacks[pid] = .exited(.killed(signal: SIGSEGV))
        h.processes.busy(pid)
        h.advance(1)
        #expect(h.pool.workers[pid] == nil, "the status the reading consumed is the worker's end")
        #expect(h.processes.restarts == [.crashed])
        #expect(h.log.contains("which ended while its stack was read"))
        h.pool.tick()
        #expect(h.processes.spawned.count == 2, "replaced")
    }

    @Test func withoutTheOptionNothingIsLoggedOrRead() {
        let h = PoolHarness(workers: 1, timeout: nil)
        let pid = h.ready()[0]
        h.processes.busy(pid)
        h.advance(100)
        #expect(!h.log.contains("slow request") && h.processes.stacksRead.isEmpty)
    }
}
