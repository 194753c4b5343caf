#if canImport(Glibc)
import Glibc
#endif
import Logging
import Scoreboard
import Testing
@testable import Supervisor

/// The pool's rules against `FakeProcesses`: no process is started, no time passes but the fake clock's.
struct PoolHarness {
    let processes = FakeProcesses()
    let log = LogLines()
    let pool: Pool

    init(workers: Int = 2, timeout: Double? = 2, gracefulTimeout: Double = 30, recycling: Recycling = .none,
         sizing: PoolSizing? = nil, databaseConnections: Int? = nil, slowRequest: Double? = nil) {
        let sink = log
        pool = Pool(
            settings: Pool.Settings(
                gracefulTimeout: gracefulTimeout, requestTimeout: timeout, recycling: recycling,
                databaseConnections: databaseConnections, slowRequest: slowRequest),
            sizing: sizing ?? .fixed(workers), environment: [], control: processes, reporting: processes,
            logger: Logger(label: "test", factory: { _ in CapturingLogHandler(sink: sink) }))
    }

    /// Starts the pool and brings every worker to idle; returns their pids.
    func ready() -> [pid_t] {
        pool.tick()
        let pids = processes.pidsSpawned
        for pid in pids { processes.idle(pid) }
        pool.tick()
        return pids
    }

    /// Time passes; every worker not in `stuck` that waits idle writes its heartbeat meanwhile.
    func advance(_ seconds: Double, stuck: Set<pid_t> = []) {
        processes.now += seconds
        for pid in pool.workers.keys where !stuck.contains(pid) {
            processes.update(pid) { if $0.state != .busy && $0.heartbeat != nil { $0.heartbeat = processes.now } }
        }
        pool.tick()
    }
}

@Suite struct PoolStartTests {
    @Test func startsTheTargetAndAnnouncesReadyOnceAllAccept() {
        let h = PoolHarness(workers: 3)
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
        #expect(h.pool.mode == .starting && !h.processes.notifications.contains("READY=1"))
        for pid in h.processes.pidsSpawned { h.processes.idle(pid) }
        h.pool.tick()
        #expect(h.pool.mode == .serving)
        #expect(h.processes.notifications.contains("READY=1"))
        #expect(h.log.contains("ready: 3 workers accepting"))
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
    }

    @Test func aCrashedWorkerIsReplacedAndCounted() {
        let h = PoolHarness()
        let pids = h.ready()
        h.advance(60)
        h.processes.exits(pids[0], .killed(signal: SIGSEGV))
        h.pool.tick()
        #expect(h.processes.restarts == [.crashed])
        #expect(h.processes.spawned.count == 3)
        #expect(h.log.contains("replacing \(pids[0])"))
    }

    @Test func workersDyingAtStartAreRestartedAfterAGrowingDelay() {
        let h = PoolHarness(workers: 1)
        h.pool.tick()
        h.processes.exits(h.processes.pidsSpawned.last!, .exited(1))
        h.pool.tick()
        #expect(h.processes.spawned.count == 1, "no restart before the first delay")
        h.advance(0.1)
        #expect(h.processes.spawned.count == 2)
        h.processes.exits(h.processes.pidsSpawned.last!, .exited(1))
        h.advance(0.05)
        h.advance(0.15)
        #expect(h.processes.spawned.count == 2, "the second delay is 0.2 s")
        h.advance(0.1)
        #expect(h.processes.spawned.count == 3)
        #expect(h.log.contains("next start in 0.2s"))
    }

    @Test func aWorkerThatRetiredItselfIsReplacedAtOnceAndOnlyOnce() {
        let h = PoolHarness()
        let pids = h.ready()
        h.processes.retiresItself(pids[0], .maxRequests, requests: 20)
        h.pool.tick()
        #expect(h.processes.spawned.count == 3, "replaced while it finishes its kept connections")
        h.processes.exits(pids[0], .exited(0))
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
        #expect(h.processes.restarts == [.maxRequests])
        #expect(h.log.contains("worker \(pids[0]) retired after 20 requests"))
    }
}

@Suite struct PoolReloadTests {
    @Test func theOldGenerationRetiresOnlyOnceTheNewOneAccepts() {
        let h = PoolHarness()
        let old = h.ready()
        h.pool.reload(environment: ["NEW=1"])
        #expect(h.pool.mode == .reloading(previousGeneration: 1, failures: 0))
        #expect(h.processes.published?.servingGeneration == 1)
        h.pool.tick()
        let new = h.processes.spawned.filter { $0.generation == 2 }.map(\.pid)
        #expect(new.count == 2)
        #expect(old.allSatisfy { h.processes.signals(to: $0).isEmpty }, "the old generation serves meanwhile")
        for pid in new { h.processes.idle(pid) }
        h.pool.tick()
        #expect(old.allSatisfy { h.processes.signals(to: $0) == [SIGTERM] })
        #expect(h.pool.mode == .serving && h.processes.published?.servingGeneration == 2)
        for pid in old { h.processes.exits(pid, .exited(0)) }
        h.pool.tick()
        #expect(h.processes.restarts == [.reload, .reload])
        #expect(h.processes.spawned.count == 4, "retired old workers are not replaced")
    }

    @Test func aReloadWhoseWorkersKeepDyingAtStartIsAbandoned() {
        let h = PoolHarness(workers: 1)
        let old = h.ready()
        h.pool.reload(environment: nil)
        var rounds = 0
        while h.pool.mode != .serving && rounds < 50 {
            h.advance(6)
            for (pid, generation) in h.processes.spawned where generation == 2 && h.pool.workers[pid] != nil {
                h.processes.exits(pid, .exited(1))
            }
            h.pool.tick()
            rounds += 1
        }
        #expect(h.pool.mode == .serving)
        #expect(h.log.contains("reload abandoned: workers of generation 2 keep dying at start; generation 1 keeps serving"))
        #expect(h.pool.generation == 1 && h.processes.published?.servingGeneration == 1)
        #expect(h.processes.signals(to: old[0]).isEmpty && h.pool.workers[old[0]] != nil)
        #expect(h.processes.spawned.filter { $0.generation == 2 }.count == Pool.reloadFailureLimit)
        h.pool.reload(environment: nil)
        #expect(h.pool.generation == 3, "an abandoned generation's number is not used again")
    }
}

@Suite struct PoolStopAndScaleTests {
    @Test func termRetiresEveryWorkerAndEscalatesAfterTheGracefulTimeout() {
        let h = PoolHarness(gracefulTimeout: 5)
        let pids = h.ready()
        h.pool.stopGracefully(SIGTERM)
        #expect(pids.allSatisfy { h.processes.signals(to: $0) == [SIGTERM] })
        h.processes.exits(pids[0], .exited(0))
        h.advance(4.9)
        #expect(h.processes.signals(to: pids[1]) == [SIGTERM])
        h.advance(0.2)
        #expect(h.processes.signals(to: pids[1]) == [SIGTERM, SIGKILL])
        #expect(h.log.contains("worker \(pids[1]) still running 5.0s after SIGTERM; killing it"))
        #expect(!h.pool.hasStopped)
        h.processes.exits(pids[1], .killed(signal: SIGKILL))
        h.pool.tick()
        #expect(h.pool.hasStopped)
        #expect(h.processes.spawned.count == 2 && h.processes.restarts.isEmpty)
    }

    @Test func quitKillsAtOnce() {
        let h = PoolHarness()
        let pids = h.ready()
        h.pool.stopNow(SIGQUIT)
        #expect(pids.allSatisfy { h.processes.signals(to: $0) == [SIGKILL] })
        for pid in pids { h.processes.exits(pid, .killed(signal: SIGKILL)) }
        h.pool.tick()
        #expect(h.pool.hasStopped && h.processes.spawned.count == 2)
    }

    @Test func ttinAddsAWorkerAndTtouRetiresTheNewestButNeverTheLast() {
        let h = PoolHarness(workers: 1)
        let first = h.ready()
        h.advance(1)
        h.pool.addWorker(SIGTTIN)
        h.pool.tick()
        #expect(h.processes.spawned.count == 2 && h.processes.published?.targetWorkers == 2)
        let second = h.processes.pidsSpawned[1]
        h.processes.idle(second)
        h.pool.removeWorker(SIGTTOU)
        #expect(h.processes.signals(to: second) == [SIGTERM] && h.processes.signals(to: first[0]).isEmpty)
        h.processes.exits(second, .exited(0))
        h.pool.tick()
        #expect(h.processes.restarts == [.scaledDown] && h.processes.spawned.count == 2)
        h.pool.removeWorker(SIGTTOU)
        #expect(h.log.contains("already at 1 worker") && h.pool.targetWorkers == 1)
    }
}

@Suite struct WatchdogTests {
    @Test func aWorkerBusyPastTheTimeoutGetsTermThenKillAndIsReplacedAtOnce() {
        let h = PoolHarness(timeout: 2)
        let pids = h.ready()
        h.processes.busy(pids[0], "PUT", "/notes/7/")
        h.advance(1.9)
        #expect(h.processes.signals(to: pids[0]).isEmpty)
        h.advance(0.2)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM])
        #expect(h.log.contains("worker \(pids[0]) timed out after 2.1s on PUT /notes/7/ (unresponsive while busy); killing it"))
        #expect(h.processes.spawned.count == 3, "its replacement starts without waiting for it to die")
        h.advance(0.5)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM])
        h.advance(0.6)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM, SIGKILL])
        h.processes.exits(pids[0], .killed(signal: SIGKILL))
        h.pool.tick()
        #expect(h.processes.restarts == [.timeout])
        #expect(h.processes.spawned.count == 3)
        #expect(h.log.contains("by the watchdog (unresponsive while busy)"))
    }

    @Test func noWatchdogWithoutATimeout() {
        let h = PoolHarness(timeout: nil)
        let pids = h.ready()
        h.processes.busy(pids[0])
        h.advance(3600)
        #expect(h.processes.signals.isEmpty)
    }

    @Test func aWorkerThatLeftOnItsOwnAndHangsIsKilledAndNotReplacedTwice() {
        let h = PoolHarness(timeout: 2)
        let pids = h.ready()
        h.processes.retiresItself(pids[0], .maxRequests)
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
        h.processes.idle(h.processes.pidsSpawned[2])
        h.processes.busy(pids[0])
        h.advance(2.5)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM])
        h.advance(1)
        h.processes.exits(pids[0], .killed(signal: SIGKILL))
        h.pool.tick()
        #expect(h.processes.spawned.count == 3)
    }

    @Test func anIdleWorkerWhoseHeartbeatStopsIsKilledAndReplaced() {
        let h = PoolHarness(timeout: 2)
        let pids = h.ready()
        for _ in 0..<10 { h.advance(0.5) }
        #expect(h.processes.signals.isEmpty, "idle workers that beat are left alone however long they wait")
        h.advance(1.5, stuck: [pids[0]])
        #expect(h.processes.signals.isEmpty)
        h.advance(0.6, stuck: [pids[0]])
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM] && h.processes.signals(to: pids[1]).isEmpty)
        #expect(h.log.contains("worker \(pids[0]) unresponsive while idle: no progress for 2.1s; killing it"))
        #expect(h.processes.spawned.count == 3)
        h.advance(1, stuck: [pids[0]])
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM, SIGKILL])
        h.processes.exits(pids[0], .killed(signal: SIGKILL))
        h.pool.tick()
        #expect(h.processes.restarts == [.timeout])
        #expect(h.log.contains("worker \(pids[0]) killed by signal 9 (SIGKILL) by the watchdog (unresponsive while idle); replacing it"))
        #expect(h.log.contains("replacing \(pids[0])"))
    }

    @Test func aWorkerStuckWhileStartingIsKilledAfterTheTimeoutFromItsStart() {
        let h = PoolHarness(workers: 1, timeout: 2)
        h.pool.tick()
        let pid = h.processes.pidsSpawned[0]
        h.advance(1.9)
        #expect(h.processes.signals.isEmpty)
        h.advance(0.2)
        #expect(h.processes.signals(to: pid) == [SIGTERM])
        #expect(h.log.contains("worker \(pid) unresponsive while starting"))
    }

    @Test func aNewGenerationThatHangsAtStartCountsTowardsAbandoningTheReload() {
        let h = PoolHarness(workers: 1, timeout: 2)
        let old = h.ready()
        h.pool.reload(environment: nil)
        var rounds = 0
        while h.pool.mode != .serving && rounds < 50 {
            h.advance(1.5)
            for (pid, generation) in h.processes.spawned where generation == 2 && h.pool.workers[pid] != nil {
                if h.processes.signals(to: pid).contains(SIGKILL) { h.processes.exits(pid, .killed(signal: SIGKILL)) }
            }
            rounds += 1
        }
        #expect(h.pool.mode == .serving && h.pool.generation == 1)
        #expect(h.log.contains("reload abandoned"))
        #expect(h.processes.signals(to: old[0]).isEmpty)
    }

    @Test func aRetiringWorkerThatHangsGetsOnlyTheGraceLeftNotTheGracefulTimeout() {
        let h = PoolHarness(timeout: 2, gracefulTimeout: 30)
        let pids = h.ready()
        h.pool.stopGracefully(SIGTERM)
        h.advance(2.1, stuck: [pids[0]])
        h.advance(1, stuck: [pids[0]])
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM, SIGKILL])
        #expect(h.processes.signals(to: pids[1]) == [SIGTERM])
    }
}
