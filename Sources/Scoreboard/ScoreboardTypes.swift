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
    case crashed, timeout, maxRequests = "max_requests", reload, scaledDown = "scaled_down", maxRSS = "max_rss"
    case maxLifetime = "max_lifetime"

    var index: Int {
        switch self {
        case .crashed: Int(NOTES_RESTART_CRASHED.rawValue)
        case .timeout: Int(NOTES_RESTART_TIMEOUT.rawValue)
        case .maxRequests: Int(NOTES_RESTART_MAX_REQUESTS.rawValue)
        case .reload: Int(NOTES_RESTART_RELOAD.rawValue)
        case .scaledDown: Int(NOTES_RESTART_SCALED_DOWN.rawValue)
        case .maxRSS: Int(NOTES_RESTART_MAX_RSS.rawValue)
        case .maxLifetime: Int(NOTES_RESTART_MAX_LIFETIME.rawValue)
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
    /// The worker has answered its last batch but is still writing the answers out (it shows idle meanwhile).
    public let answering: Bool
    /// The web server's id of the request in hand or the last one (nginx's `$request_id`); nil when it sent none.
    public let requestID: String?
    /// The prepared statement the worker waits on PostgreSQL for (and how many were sent with it, itself
    /// included), and since when; nil while it does not wait on the database.
    public let databaseWait: (statement: String, statements: Int, startedNanoseconds: UInt64)?
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
            let id = withUnsafeBytes(of: &slot.request_id) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            requestID = id.isEmpty ? nil : id
        } else {
            request = nil
            requestID = nil
        }
        if slot.statement_started_ns != 0 {
            let statement = withUnsafeBytes(of: &slot.statement) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            databaseWait = (statement, Int(slot.statements), slot.statement_started_ns)
        } else {
            databaseWait = nil
        }
        lastRequestNanoseconds = slot.requests > 0 ? slot.last_request_ns : nil
        heartbeatNanoseconds = slot.heartbeat_ns != 0 ? slot.heartbeat_ns : nil
        answering = slot.answering != 0
    }
}

/// How often a worker waiting for work writes its heartbeat: often enough that the supervisor's watchdog,
/// which kills a worker showing no progress for `timeout` seconds, never mistakes a waiting worker for a
/// stuck one, and rarely enough to cost nothing (one write to its slot a second at most).
public func heartbeatInterval(timeout: Double) -> Double {
    min(1, timeout / 4)
}
