#if canImport(Glibc)
import Glibc
#endif
import Scoreboard
import Testing
@testable import Supervisor

/// The adaptive pool (`--workers-min`, `--workers-max`, `--worker-idle-timeout`) wired into the pool's tick,
/// against `FakeProcesses`.
@Suite struct PoolAdaptiveTests {
    private func harness(min: Int = 2, max: Int = 4, idle: Double = 30, databaseConnections: Int? = nil) -> PoolHarness {
        PoolHarness(timeout: nil, sizing: PoolSizing(minimum: min, maximum: max, idleTimeout: idle),
                    databaseConnections: databaseConnections)
    }

    /// The workers spawned since `count`, brought to idle.
    private func startNew(_ h: PoolHarness, after count: Int) -> [pid_t] {
        let new = Array(h.processes.pidsSpawned.dropFirst(count))
        for pid in new { h.processes.idle(pid) }
        return new
    }

    @Test func startsAtTheMinimumAndGrowsWhileRequestsWaitUpToTheMaximum() {
        let h = harness()
        let pids = h.ready()
        #expect(pids.count == 2 && h.pool.targetWorkers == 2)
        for pid in pids { h.processes.busy(pid) }
        h.processes.queuedConnections = 5
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 4 && h.processes.spawned.count == 4, "grows by the queue, capped at the maximum")
        #expect(h.log.contains("pool: 2 -> 4 workers (requests waiting in the listen queue)"))
        #expect(h.processes.published?.targetWorkers == 4)
        for pid in startNew(h, after: 2) { h.processes.busy(pid) }
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 4 && h.processes.spawned.count == 4, "never above the maximum")
    }

    @Test func growsByOneWhenEveryWorkerIsBusyAndWaitsForStartingWorkers() {
        let h = harness()
        let pids = h.ready()
        for pid in pids { h.processes.busy(pid) }
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3 && h.log.contains("pool: 2 -> 3 workers (every worker busy)"))
        h.advance(0.1)
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3 && h.processes.spawned.count == 3, "the starting worker is waited for")
        for pid in startNew(h, after: 2) { h.processes.busy(pid) }
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 4)
    }

    @Test func retiresTheLongestIdleWorkerAfterTheIdleTimeoutDownToTheMinimum() {
        let h = harness(idle: 30)
        let pids = h.ready()
        for pid in pids { h.processes.busy(pid) }
        h.processes.queuedConnections = 2
        h.advance(0.1)
        let added = startNew(h, after: 2)
        #expect(added.count == 2)
        h.processes.queuedConnections = 0
        // The first of the original workers finishes its request first: it has been idle the longest.
        for pid in pids {
            h.processes.update(pid) { $0.state = .idle; $0.lastRequestSeconds = 0.1; $0.heartbeat = h.processes.now }
        }
        h.advance(29)
        #expect(h.processes.signals.isEmpty, "not before the idle timeout")
        h.advance(1.5)
        let retired = h.processes.signals.map(\.pid)
        #expect(retired.count == 1 && h.pool.targetWorkers == 3)
        #expect(h.processes.signals(to: retired[0]) == [SIGTERM])
        #expect(h.log.contains("pool: 4 -> 3 workers (worker \(retired[0]) idle 30s)"))
        h.advance(0.1)
        #expect(h.processes.signals.count == 2 && h.pool.targetWorkers == 2)
        for pid in h.processes.signals.map(\.pid) { h.processes.exits(pid, .exited(0)) }
        h.pool.tick()
        #expect(h.processes.restarts == [.scaledDown, .scaledDown])
        #expect(h.processes.spawned.count == 4, "a retired idle worker is not replaced")
        #expect(h.log.contains("retired (idle, the pool shrinks)"))
        h.advance(60)
        #expect(h.processes.signals.count == 2 && h.pool.targetWorkers == 2, "never below the minimum")
    }

    @Test func aWorkerServingRequestsIsNotIdle() {
        let h = harness(min: 1, max: 2, idle: 10)
        let pids = h.ready()
        h.processes.busy(pids[0])
        h.advance(0.1)
        let second = startNew(h, after: 1)[0]
        for _ in 0..<4 {
            h.processes.update(second) { $0.request = ("GET", "/notes/", h.processes.now); $0.lastRequestSeconds = 0.5 }
            h.advance(5)
        }
        #expect(h.processes.signals.isEmpty, "20 s since it started, but its last request ended 4.5 s ago")
        h.advance(6)
        #expect(h.processes.signals(to: second) == [SIGTERM])
    }

    @Test func neverGrowsPastWhatTheDatabaseGrants() {
        let h = harness(min: 2, max: 8, databaseConnections: 3)
        let pids = h.ready()
        for pid in pids { h.processes.busy(pid) }
        h.processes.queuedConnections = 10
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3)
        for pid in startNew(h, after: 2) { h.processes.busy(pid) }
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3 && h.processes.spawned.count == 3)
    }

    @Test func leavesAMarginUnderTheRoomTheWorkersMeasured() {
        let h = harness(min: 2, max: 8)
        let pids = h.ready()
        // The last worker to start found 3 more connections free: the pool takes one, leaving the margin of 2.
        h.processes.databaseRoom = 3
        for pid in pids { h.processes.busy(pid) }
        h.processes.queuedConnections = 10
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3)
        for pid in startNew(h, after: 2) { h.processes.busy(pid) }
        h.processes.databaseRoom = 2
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 3 && h.processes.spawned.count == 3)
    }

    @Test func ttinAndTtouMoveBothEndsOfTheRange() {
        let h = harness(min: 2, max: 3)
        let pids = h.ready()
        h.pool.addWorker(SIGTTIN)
        #expect(h.pool.sizing.minimum == 3 && h.pool.sizing.maximum == 4 && h.pool.targetWorkers == 3)
        #expect(h.log.contains("received SIGTTIN: 3...4 workers (target 3)"))
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
        let third = startNew(h, after: 2)[0]
        for pid in pids + [third] { h.processes.busy(pid) }
        h.advance(0.1)
        #expect(h.pool.targetWorkers == 4)
        _ = startNew(h, after: 3)
        h.pool.removeWorker(SIGTTOU)
        h.pool.removeWorker(SIGTTOU)
        #expect(h.pool.sizing.minimum == 1 && h.pool.sizing.maximum == 2 && h.pool.targetWorkers == 2)
        #expect(h.processes.signals.count == 2, "each time the target went above the maximum, the newest is retired")
        h.pool.removeWorker(SIGTTOU)
        #expect(h.log.contains("already at 1 worker"))
    }

    @Test func aFixedPoolNeverResizes() {
        let h = PoolHarness(workers: 2, timeout: nil)
        let pids = h.ready()
        for pid in pids { h.processes.busy(pid) }
        h.processes.queuedConnections = 10
        h.advance(0.1)
        h.advance(100)
        #expect(h.pool.targetWorkers == 2 && h.processes.spawned.count == 2 && h.processes.signals.isEmpty)
        #expect(!h.log.contains("pool:"))
    }
}
