@testable import Supervisor
import Testing

/// The adaptive pool's and recycling's decisions, from observations alone.
@Suite struct PoolSizingTests {
    private let sizing = PoolSizing(minimum: 2, maximum: 6, idleTimeout: 10)

    private func look(
        workers: Int = 2, starting: Int = 0, busy: Int = 0, queued: Int = 0, room: Int? = nil,
        idle: [(Int32, Double)] = []
    ) -> PoolSizing.Observation {
        .init(workers: workers, starting: starting, busy: busy, queued: queued, databaseRoom: room,
              idle: idle.map { (worker: $0.0, seconds: $0.1) })
    }

    @Test func growsByTheQueueUpToTheMaximum() {
        #expect(sizing.decide(look(busy: 2, queued: 3)) == .grow(3, because: .queue))
        #expect(sizing.decide(look(busy: 2, queued: 30)) == .grow(4, because: .queue))
        #expect(sizing.decide(look(workers: 6, busy: 6, queued: 30)) == .keep)
    }

    @Test func growsByOneWhenEveryWorkerIsBusy() {
        #expect(sizing.decide(look(busy: 2)) == .grow(1, because: .allBusy))
        #expect(sizing.decide(look(busy: 1, idle: [(7, 0.5)])) == .keep)
    }

    @Test func waitsForStartingWorkersBeforeGrowingAgain() {
        #expect(sizing.decide(look(workers: 3, starting: 1, busy: 2, queued: 5)) == .keep)
    }

    @Test func neverTakesMoreConnectionsThanTheDatabaseHasRoomFor() {
        #expect(sizing.decide(look(busy: 2, queued: 9, room: 1)) == .grow(1, because: .queue))
        #expect(sizing.decide(look(busy: 2, queued: 9, room: 0)) == .keep)
        #expect(sizing.decide(look(workers: 0, room: 1)) == .fill(1))
    }

    @Test func retiresTheLongestIdleWorkerAfterTheIdleTimeoutDownToTheMinimum() {
        #expect(sizing.decide(look(workers: 4, idle: [(7, 3), (8, 12), (9, 11)])) == .retire(worker: 8, idleSeconds: 12))
        #expect(sizing.decide(look(workers: 4, idle: [(7, 3), (8, 9)])) == .keep)
        #expect(sizing.decide(look(workers: 2, idle: [(7, 30), (8, 30)])) == .keep)
        #expect(sizing.decide(look(workers: 4, queued: 1, idle: [(7, 30)])) == .keep, "not while requests wait")
    }

    @Test func fillsUpToTheMinimum() {
        #expect(sizing.decide(look(workers: 0)) == .fill(2))
    }

    @Test func aFixedPoolNeverChangesSize() {
        let fixed = PoolSizing.fixed(4)
        #expect(fixed.decide(look(workers: 4, busy: 4, queued: 50)) == .keep)
        #expect(fixed.decide(look(workers: 4, idle: [(1, 1e9)])) == .keep)
        #expect(fixed.decide(look(workers: 3)) == .fill(1))
    }

    @Test func signalsMoveTheRangeAndAPoolAboveItShrinks() {
        var moved = sizing
        let lowered = moved.lower()
        #expect(lowered)
        #expect(moved.decide(look(workers: 6, idle: [(1, 0.1), (2, 0.2)])) == .retire(worker: 2, idleSeconds: 0.2))
        var single = PoolSizing.fixed(1)
        let loweredBelowOne = single.lower()
        #expect(!loweredBelowOne)
        single.raise()
        #expect(single == .fixed(2))
    }
}

@Suite struct RecyclingTests {
    @Test func retiresOverTheMemoryLimit() {
        let rules = Recycling(maxResidentBytes: 64 << 20, maxLifetime: nil, lifetimeJitter: 0)
        #expect(rules.reason(age: 1, lifetime: nil, residentBytes: 63 << 20) == nil)
        #expect(rules.reason(age: 1, lifetime: nil, residentBytes: 65 << 20) == .memory(residentBytes: 65 << 20, limit: 64 << 20))
        #expect(rules.reason(age: 1, lifetime: nil, residentBytes: nil) == nil, "an unknown size is no reason")
    }

    @Test func eachWorkerGetsItsOwnLifetimeWithinTheJitter() {
        let rules = Recycling(maxResidentBytes: nil, maxLifetime: 3600, lifetimeJitter: 600)
        #expect(rules.lifetime(random: 0) == 3600)
        #expect(rules.lifetime(random: 0.5) == 3900)
        #expect(rules.reason(age: 3899, lifetime: 3900, residentBytes: nil) == nil)
        #expect(rules.reason(age: 3900, lifetime: 3900, residentBytes: nil) == .lifetime(seconds: 3900, limit: 3900))
        #expect(Recycling.none.lifetime(random: 0.5) == nil)
    }
}
