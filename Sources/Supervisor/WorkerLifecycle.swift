#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Scoreboard

/// Why the supervisor asked a worker to stop (SIGTERM).
enum RetirementReason: Equatable {
    /// Its generation was replaced by a newer one, or a reload of its generation was abandoned.
    case reload
    /// TTOU: the pool has one worker fewer.
    case scaledDown
    /// An adaptive pool above its minimum: it was idle for `--worker-idle-timeout`.
    case idle
    /// TERM or INT: the whole pool stops.
    case stopping
    /// The watchdog saw no progress in its slot for `--timeout` seconds, while it was in `state`.
    case unresponsive(WorkerState)
    /// Over `--max-worker-rss` or past its lifetime (`--max-worker-lifetime`): replaced by a fresh one.
    case recycled(Recycling.Reason)
}

/// Why the supervisor sent a worker SIGKILL.
enum KillCause: Equatable {
    /// It was still running when its retirement's deadline passed.
    case escalated(RetirementReason)
    /// QUIT: the whole pool stops at once.
    case quit
}

/// Where a worker is in its life, as the supervisor sees it. Only a `serving` worker of the current
/// generation counts towards the pool's size: a worker in any other state is replaced (or not needed).
enum WorkerLifecycle: Equatable {
    /// Started and not asked to stop; it may still be starting (its slot says).
    case serving
    /// It retired itself (request limit, a request that ran out of time; the reason is in its slot) and is
    /// finishing the connections nginx keeps to it: it no longer accepts.
    case leaving
    /// Asked to stop with SIGTERM; SIGKILL follows if it is still running at `deadline`.
    case retiring(RetirementReason, deadline: Double)
    /// SIGKILL was sent; it is not sent twice.
    case killed(KillCause)

    /// Whether SIGTERM may still be sent: a worker is asked to stop once.
    var mayRetire: Bool {
        switch self {
        case .serving, .leaving: true
        case .retiring, .killed: false
        }
    }
}

/// One worker process of the pool.
struct PoolWorker {
    let pid: pid_t
    let slot: Int
    let generation: Int
    /// When it was spawned, on the monotonic clock.
    let startedAt: Double
    /// Its own `--max-worker-lifetime`, jitter included; nil: no limit.
    var lifetime: Double?
    var lifecycle: WorkerLifecycle = .serving
    /// When the request the slow-request log last wrote about started: each slow request gets one line.
    var slowRequestLogged: Double? = nil
}
