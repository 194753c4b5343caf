#if canImport(Glibc)
import Glibc
#endif
import Scoreboard
import Testing
@testable import Supervisor

/// `--max-worker-rss` and `--max-worker-lifetime` against the fake: one worker at a time, replaced at once.
@Suite struct PoolRecyclingTests {
    @Test func aWorkerOverTheMemoryLimitIsReplacedAtOnceAndRetiresGracefully() {
        let h = PoolHarness(workers: 2, timeout: nil, recycling: Recycling(maxResidentBytes: 64 << 20, maxLifetime: nil, lifetimeJitter: 0))
        let pids = h.ready()
        h.processes.resident = [pids[0]: 65 << 20, pids[1]: 65 << 20]
        h.advance(0.1)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM])
        #expect(h.processes.signals(to: pids[1]).isEmpty, "one at a time")
        #expect(h.processes.spawned.count == 3, "its replacement starts at once")
        #expect(h.log.contains("worker \(pids[0]) recycled: its resident memory 65 MiB is over --max-worker-rss 64 MiB; replacing it"))
        h.processes.exits(pids[0], .exited(0))
        h.advance(0.1)
        #expect(h.processes.restarts == [.maxRSS])
        #expect(h.processes.signals(to: pids[1]) == [SIGTERM], "the next one once the first is gone")
    }

    @Test func eachWorkerLivesItsOwnLifetime() {
        let h = PoolHarness(workers: 2, timeout: nil, recycling: Recycling(maxResidentBytes: nil, maxLifetime: 100, lifetimeJitter: 20))
        h.processes.random = 0
        h.pool.tick()
        h.processes.random = 1
        let pids = h.processes.pidsSpawned
        #expect(h.pool.workers[pids[0]]?.lifetime == 100 && h.pool.workers[pids[1]]?.lifetime == 100)
        for pid in pids { h.processes.idle(pid) }
        h.advance(99)
        #expect(h.processes.signals.isEmpty)
        h.advance(1)
        #expect(h.processes.signals(to: pids[0]) == [SIGTERM])
        let replacement = h.processes.pidsSpawned[2]
        #expect(h.pool.workers[replacement]?.lifetime == 120, "drawn again for each worker")
        h.processes.exits(pids[0], .exited(0))
        h.pool.tick()
        #expect(h.processes.restarts == [.maxLifetime])
    }

    @Test func noRecyclingDuringAReloadOrWithoutLimits() {
        let h = PoolHarness(workers: 1, timeout: nil)
        let pids = h.ready()
        h.processes.resident = [pids[0]: 1 << 40]
        h.advance(1e6)
        #expect(h.processes.signals.isEmpty)
        let limited = PoolHarness(workers: 1, timeout: nil, recycling: Recycling(maxResidentBytes: 1, maxLifetime: nil, lifetimeJitter: 0))
        let old = limited.ready()
        limited.pool.reload(environment: nil)
        limited.processes.resident = [old[0]: 2]
        limited.pool.tick()
        #expect(limited.processes.signals(to: old[0]).isEmpty, "a reload replaces it anyway")
    }
}
