import CScoreboard

public enum WorkerState: String, Sendable, CaseIterable {
    case free, starting, idle, busy, retiring

    init(_ raw: UInt32) {
        switch raw {
        case NOTES_STATE_STARTING.rawValue: self = .starting
        case NOTES_STATE_IDLE.rawValue: self = .idle
        case NOTES_STATE_BUSY.rawValue: self = .busy
        case NOTES_STATE_RETIRING.rawValue: self = .retiring
        default: self = .free
        }
    }

    /// Whether a worker in this state has finished starting and takes connections.
    public var isAccepting: Bool { self == .idle || self == .busy }
}

/// Why a worker left on its own.
public enum ExitReason: Sendable {
    case none, maxRequests, requestTimeout

    init(_ raw: UInt32) {
        switch raw {
        case NOTES_EXIT_MAX_REQUESTS.rawValue: self = .maxRequests
        case NOTES_EXIT_REQUEST_TIMEOUT.rawValue: self = .requestTimeout
        default: self = .none
        }
    }

    var rawValue: UInt32 {
        switch self {
        case .none: NOTES_EXIT_NONE.rawValue
        case .maxRequests: NOTES_EXIT_MAX_REQUESTS.rawValue
        case .requestTimeout: NOTES_EXIT_REQUEST_TIMEOUT.rawValue
        }
    }
}

/// Why a worker was replaced or removed, as counted in /status.
public enum RestartCause: String, Sendable, CaseIterable {
    case crashed, timeout, maxRequests = "max_requests", reload, scaledDown = "scaled_down"

    var index: Int {
        switch self {
        case .crashed: Int(NOTES_RESTART_CRASHED.rawValue)
        case .timeout: Int(NOTES_RESTART_TIMEOUT.rawValue)
        case .maxRequests: Int(NOTES_RESTART_MAX_REQUESTS.rawValue)
        case .reload: Int(NOTES_RESTART_RELOAD.rawValue)
        case .scaledDown: Int(NOTES_RESTART_SCALED_DOWN.rawValue)
        }
    }
}

public struct Header: Sendable {
    public let supervisorPID: Int32
    public let startedAtUnixMicroseconds: Int64
    public let generation: Int
    public let targetWorkers: Int
    public let listen: String
    public let retiredRequests: UInt64
    public let restarts: [RestartCause: UInt64]
}

/// A consistent copy of one worker's slot.
public struct WorkerSlot: Sendable {
    public let pid: Int32
    public let generation: Int
    public let state: WorkerState
    public let exitReason: ExitReason
    public let requests: UInt64
    /// The request in hand, or the last one; nil before the first.
    public let request: (method: String, path: String, startedNanoseconds: UInt64)?
    /// The request in hand, while `state` is busy.
    public var currentRequest: (method: String, path: String, startedNanoseconds: UInt64)? {
        state == .busy ? request : nil
    }
    public let lastRequestNanoseconds: UInt64?
    /// When the worker last showed progress while not busy (ready, a request finished, a heartbeat while it
    /// waits), on the monotonic clock; nil before it was ready.
    public let heartbeatNanoseconds: UInt64?

    init(_ slot: notes_worker_slot) {
        var slot = slot
        pid = slot.pid
        generation = Int(slot.generation)
        state = WorkerState(slot.state)
        exitReason = ExitReason(slot.exit_reason)
        requests = slot.requests
        if slot.request_started_ns != 0 {
            let method = withUnsafeBytes(of: &slot.method) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let path = withUnsafeBytes(of: &slot.path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            request = (method, path, slot.request_started_ns)
        } else {
            request = nil
        }
        lastRequestNanoseconds = slot.requests > 0 ? slot.last_request_ns : nil
        heartbeatNanoseconds = slot.heartbeat_ns != 0 ? slot.heartbeat_ns : nil
    }
}

/// How often a worker waiting for work writes its heartbeat: often enough that the supervisor's watchdog,
/// which kills a worker showing no progress for `timeout` seconds, never mistakes a waiting worker for a
/// stuck one, and rarely enough to cost nothing (one write to its slot a second at most).
public func heartbeatInterval(timeout: Double) -> Double {
    min(1, timeout / 4)
}
