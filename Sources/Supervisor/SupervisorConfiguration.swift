import SystemSupport

public struct SupervisorConfiguration: Sendable {
    public var listen: ListenAddress
    /// The pool's size, or with `workersMaximum` its minimum.
    public var workers: Int
    /// An adaptive pool grows up to this many workers (`--workers-max`); nil: a fixed pool of `workers`.
    public var workersMaximum: Int? = nil
    /// An adaptive pool retires a worker idle this long (seconds) while above its minimum.
    public var workerIdleTimeout: Double = 30
    /// Connections the database grants the pool (`--database-connections`); nil: unknown, no cap.
    public var databaseConnections: Int? = nil
    public var workerBinary: String
    /// How long workers may take to finish their requests when they are asked to stop, before SIGKILL.
    public var gracefulTimeout: Double
    public var socketGroup: String?
    /// A worker showing no progress for this long (busy on one request, or idle without a heartbeat) is killed; nil: no limit.
    public var requestTimeout: Double?
    /// A worker retires after this many requests plus up to `maxRequestsJitter`; 0: never.
    public var maxRequests: Int
    public var maxRequestsJitter: Int
    /// Logs go to this file instead of stderr; SIGUSR1 reopens it.
    public var logFile: String?
    /// `KEY=VALUE` lines for the workers' environment, read again on every reload.
    public var environmentFile: String?
    /// The only peer addresses a worker listening on TCP answers (libfcgi's `FCGI_WEB_SERVER_ADDRS`);
    /// nil leaves whatever the environment says.
    public var allowedPeers: [String]?
    /// Started as root: the account the supervisor switches to once its socket and log file are open, before
    /// any worker starts, so no process of the pool keeps root.
    public var runAs: UserIdentity?
    /// When healthy workers are replaced all the same (`--max-worker-rss`, `--max-worker-lifetime`).
    public var recycling = Recycling.none
    /// The supervisor's own listener for `/status` and `/livez` (`--status-listen`); nil: none.
    public var statusListen: ListenAddress?
    /// Workers append one JSON line per request here; SIGUSR1 reopens it.
    public var accessLog: String? = nil
    /// Workers add `Server-Timing` to every answer.
    public var serverTiming = false
    /// A request still in hand after this many seconds gets one line in the log (`--slow-request`); nil: none.
    public var slowRequest: Double? = nil

    public init(
        listen: ListenAddress, workers: Int, workerBinary: String, gracefulTimeout: Double, socketGroup: String?,
        requestTimeout: Double?, maxRequests: Int, maxRequestsJitter: Int, logFile: String?, environmentFile: String?,
        allowedPeers: [String]? = nil, runAs: UserIdentity? = nil
    ) {
        self.listen = listen
        self.workers = workers
        self.workerBinary = workerBinary
        self.gracefulTimeout = gracefulTimeout
        self.socketGroup = socketGroup
        self.requestTimeout = requestTimeout
        self.maxRequests = maxRequests
        self.maxRequestsJitter = maxRequestsJitter
        self.logFile = logFile
        self.environmentFile = environmentFile
        self.allowedPeers = allowedPeers
        self.runAs = runAs
    }

    var sizing: PoolSizing {
        guard let workersMaximum, workersMaximum != workers else { return .fixed(workers) }
        return PoolSizing(minimum: workers, maximum: workersMaximum, idleTimeout: workerIdleTimeout)
    }

    /// Variables every worker gets whatever the inherited environment and the environment file say.
    var workerEnvironmentOverrides: [(String, String)] {
        allowedPeers.map { [("FCGI_WEB_SERVER_ADDRS", $0.joined(separator: ","))] } ?? []
    }

    /// The flags every worker is started with.
    var workerArguments: [String] {
        var arguments: [String] = []
        if let requestTimeout { arguments += ["--timeout", String(requestTimeout)] }
        if maxRequests > 0 { arguments += ["--max-requests", String(maxRequests), "--max-requests-jitter", String(maxRequestsJitter)] }
        if let logFile { arguments += ["--log-file", logFile] }
        if let accessLog { arguments += ["--access-log", accessLog] }
        if serverTiming { arguments += ["--server-timing", "on"] }
        return arguments
    }
}
