/// How many workers an adaptive pool wants (`--workers-min`, `--workers-max`, `--worker-idle-timeout`), after
/// PHP-FPM's `pm = dynamic` and uWSGI's cheaper: it grows while requests wait or every worker is busy, and
/// retires a worker idle for longer than the idle timeout, one decision per tick of the supervisor's loop.
/// A fixed pool (`--workers N`) is the range N...N, which never changes size.
struct PoolSizing: Sendable, Equatable {
    private(set) var minimum: Int
    private(set) var maximum: Int
    /// A worker idle this long (seconds) is retired while the pool is above its minimum.
    let idleTimeout: Double

    init(minimum: Int, maximum: Int, idleTimeout: Double) {
        precondition(1 <= minimum && minimum <= maximum, "1 <= minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.idleTimeout = idleTimeout
    }

    static func fixed(_ workers: Int) -> PoolSizing {
        PoolSizing(minimum: workers, maximum: workers, idleTimeout: .infinity)
    }

    var isFixed: Bool { minimum == maximum }

    /// What the pool looks like at one tick.
    struct Observation: Sendable {
        /// Workers counted towards the pool: started and not leaving.
        var workers: Int
        /// Of those, the ones still starting (not accepting yet).
        var starting: Int
        var busy: Int
        /// Connections waiting in the listening socket's accept queue.
        var queued: Int
        /// How many more connections the database takes from this pool; nil when unknown.
        var databaseRoom: Int?
        /// Idle workers and how long each has been idle, in seconds.
        var idle: [(worker: Int32, seconds: Double)]
    }

    enum Decision: Sendable, Equatable {
        case keep
        /// Start this many more workers.
        case grow(Int, because: GrowthCause)
        /// Retire this idle worker, idle for this long.
        case retire(worker: Int32, idleSeconds: Double)
        /// Below the minimum (a TTIN moved it, workers died): start this many.
        case fill(Int)
    }

    enum GrowthCause: String, Sendable, Equatable {
        case queue = "requests waiting in the listen queue"
        case allBusy = "every worker busy"
    }

    func decide(_ now: Observation) -> Decision {
        let room = now.databaseRoom.map { max(0, $0) } ?? Int.max
        if now.workers < minimum { return .fill(min(minimum - now.workers, room)) }
        // Starting workers take the next connections, and so do idle ones, which have not reached the queue yet
        // at this instant; growing then would overshoot.
        let ceiling = min(maximum - now.workers, room)
        if now.starting == 0 && now.idle.isEmpty && ceiling > 0 {
            if now.queued > 0 { return .grow(min(now.queued, ceiling), because: .queue) }
            if now.busy >= now.workers { return .grow(1, because: .allBusy) }
        }
        guard let longest = now.idle.max(by: { $0.seconds < $1.seconds }) else { return .keep }
        // Above the range (a TTOU moved it): the next idle worker goes, whatever the timeout.
        let overMaximum = now.workers > maximum
        let idleTooLong = now.workers > minimum && now.queued == 0 && longest.seconds >= idleTimeout
        return overMaximum || idleTooLong ? .retire(worker: longest.worker, idleSeconds: longest.seconds) : .keep
    }

    /// SIGTTIN: one more at both ends of the range (a fixed pool stays fixed, one larger).
    mutating func raise() {
        minimum += 1
        maximum += 1
    }

    /// SIGTTOU: one fewer at both ends, never below one worker; false when already there.
    mutating func lower() -> Bool {
        guard minimum > 1 else { return false }
        minimum -= 1
        maximum -= 1
        return true
    }
}
