import CScoreboard
import SystemSupport

/// The fixed buckets of request durations, in seconds: from half a millisecond (a GET by id answered in a
/// batch) to 30 s (the default `--timeout`); a request slower than the last bound counts only in +Inf.
public enum DurationBuckets {
    public static let upperBounds: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]
    static let upperBoundsNanoseconds: [UInt64] = upperBounds.map { UInt64(($0 * 1e9).rounded()) }

    /// The bucket a duration counts in: the first whose bound it does not exceed, else the last (+Inf).
    public static func index(nanoseconds: UInt64) -> Int {
        var index = 0
        for bound in upperBoundsNanoseconds {
            if nanoseconds <= bound { return index }
            index += 1
        }
        return index
    }
}

/// A copy of the shared counters: the listening socket's queue, the pool's saturation, and requests by route
/// and status index with their durations. Routes and statuses are plain indexes here; the status page names them.
public struct PoolMetrics: Sendable {
    public let listenQueue: UInt64
    public let listenQueueMax: UInt64
    /// The queue's capacity (the listen backlog), when the kernel reports it.
    public let listenBacklog: UInt64
    /// How often every accepting worker was busy at once, and for how long in all (the current spell included).
    public let saturatedTotal: UInt64
    public let saturatedSeconds: Double
    public let saturatedNow: Bool
    /// `requests[route][status]`.
    public let requests: [[UInt64]]
    /// `durationBuckets[route][bucket]`, each bucket on its own (not cumulative), the last one +Inf.
    public let durationBuckets: [[UInt64]]
    public let durationSecondsSum: [Double]
}

/// What a worker's slot adds to the pool's occupancy word: accepting (high half) and busy (low half).
enum OccupancyShare: UInt64 {
    case none = 0
    case idle = 0x1_0000_0000
    case busy = 0x1_0000_0001
}

extension Scoreboard {
    public static var metricRoutes: Int { Int(NOTES_METRIC_ROUTES) }
    public static var metricStatuses: Int { Int(NOTES_METRIC_STATUSES) }

    /// What a worker just read from the database: how many more connections it takes.
    public func publishDatabaseRoom(_ room: Int) {
        notes_counter_store(&board.pointee.metrics.database_room_plus_one, UInt64(max(0, room)) + 1)
    }

    /// The last reading of `publishDatabaseRoom`; nil before any.
    public var databaseRoom: Int? {
        let value = notes_counter_load(&board.pointee.metrics.database_room_plus_one)
        return value == 0 ? nil : Int(value - 1)
    }

    /// The supervisor's sample of the listening socket's accept queue; the maximum since start follows it.
    public func publishListenQueue(length: UInt64, backlog: UInt64) {
        notes_counter_store(&board.pointee.metrics.listen_queue, length)
        notes_counter_store(&board.pointee.metrics.listen_backlog, backlog)
        if length > notes_counter_load(&board.pointee.metrics.listen_queue_max) {
            notes_counter_store(&board.pointee.metrics.listen_queue_max, length)
        }
    }

    /// Counts one answered request (worker): three relaxed atomic adds, no lock.
    public func recordRequest(route: Int, status: Int, nanoseconds: UInt64) {
        let route = min(max(route, 0), Self.metricRoutes - 1)
        let status = min(max(status, 0), Self.metricStatuses - 1)
        let bucket = DurationBuckets.index(nanoseconds: nanoseconds)
        // Plain address arithmetic: a key path's offset here cost a request about a hundred instructions.
        let metrics = metricsPointer
        notes_counter_add(notes_metrics_requests(metrics) + route * Self.metricStatuses + status, 1)
        notes_counter_add(notes_metrics_duration_buckets(metrics) + route * Int(NOTES_METRIC_BUCKETS) + bucket, 1)
        notes_counter_add(notes_metrics_duration_ns_sum(metrics) + route, nanoseconds)
    }

    /// The shared counters, reached without Swift's view of their arrays as tuples (scoreboard.h says why).
    var metricsPointer: UnsafeMutablePointer<notes_metrics> { notes_scoreboard_metrics(board)! }

    /// The counters of the first `routes` route and `statuses` status indexes.
    public func metrics(routes: Int, statuses: Int) -> PoolMetrics {
        let routes = min(routes, Self.metricRoutes), statuses = min(statuses, Self.metricStatuses)
        let buckets = Int(NOTES_METRIC_BUCKETS)
        let metrics = metricsPointer
        let requests: UnsafeMutablePointer<UInt64> = notes_metrics_requests(metrics)
        let durations: UnsafeMutablePointer<UInt64> = notes_metrics_duration_buckets(metrics)
        let sums: UnsafeMutablePointer<UInt64> = notes_metrics_duration_ns_sum(metrics)
        let occupancy = notes_counter_load(&metrics.pointee.pool_occupancy)
        let accepting = occupancy >> 32, busy = occupancy & 0xffff_ffff
        let saturatedNow = accepting > 0 && busy >= accepting
        let accumulated = notes_signed_load(&metrics.pointee.saturated_ns)
        let saturatedNanoseconds = saturatedNow ? accumulated + Int64(monotonicNanoseconds()) : accumulated
        return PoolMetrics(
            listenQueue: notes_counter_load(&metrics.pointee.listen_queue),
            listenQueueMax: notes_counter_load(&metrics.pointee.listen_queue_max),
            listenBacklog: notes_counter_load(&metrics.pointee.listen_backlog),
            saturatedTotal: notes_counter_load(&metrics.pointee.saturated_total),
            // A reader racing the end of a spell may see its end without its state: never below zero.
            saturatedSeconds: Double(max(0, saturatedNanoseconds)) / 1e9,
            saturatedNow: saturatedNow,
            requests: (0..<routes).map { route in
                (0..<statuses).map { notes_counter_load(requests + route * Self.metricStatuses + $0) }
            },
            durationBuckets: (0..<routes).map { route in
                (0..<buckets).map { notes_counter_load(durations + route * buckets + $0) }
            },
            durationSecondsSum: (0..<routes).map { Double(notes_counter_load(sums + $0)) / 1e9 })
    }

    /// Sets what slot `index` adds to the pool's occupancy, if it now adds `from` (nil: whatever it adds).
    /// A worker that retired itself adds nothing, even while it answers what nginx still sends on its kept
    /// connections: it no longer accepts.
    func shareOccupancy(
        slot index: Int, _ share: OccupancyShare, from: OccupancyShare? = nil, now: UInt64 = monotonicNanoseconds()
    ) {
        let metrics = metricsPointer
        let shares: UnsafeMutablePointer<UInt64> = notes_metrics_occupancy_share(metrics)
        let current = notes_counter_load(shares + index)
        if let from, current != from.rawValue { return }
        guard current != share.rawValue else { return }
        notes_counter_store(shares + index, share.rawValue)
        _ = notes_occupancy_add(metrics, Int64(bitPattern: share.rawValue &- current), Int64(now))
    }

    func slotIndex(of slot: UnsafeMutablePointer<notes_worker_slot>) -> Int {
        slot - notes_scoreboard_slots(board)
    }
}

extension Scoreboard {
    /// Workers write the names of the route and status indexes they count by, so that the supervisor, which
    /// knows no routes, can name them; false when they do not fit.
    @discardableResult
    public func publishMetricLabels(routes: [String], statuses: [String]) -> Bool {
        let text = Array((routes.map { $0 + "\n" }.joined() + "\n" + statuses.map { $0 + "\n" }.joined()).utf8)
        let buffer = UnsafeMutableRawBufferPointer(start: notes_metrics_labels(metricsPointer), count: Int(NOTES_LABEL_BYTES))
        guard text.count < buffer.count, !text.contains(0) else { return false }
        buffer.copyBytes(from: text)
        buffer[text.count] = 0
        return true
    }

    /// The names the workers published; nil before the first worker did.
    public var metricLabels: (routes: [String], statuses: [String])? {
        let buffer = UnsafeRawBufferPointer(start: notes_metrics_labels(metricsPointer), count: Int(NOTES_LABEL_BYTES))
        let text = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let gap = lines.firstIndex(of: ""), gap + 1 < lines.count else { return nil }
        return (Array(lines[..<gap]), lines[(gap + 1)...].filter { !$0.isEmpty })
    }
}
