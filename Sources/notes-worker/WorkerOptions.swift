/// The worker's command line. The supervisor passes the pool's settings this way; run by hand or under
/// spawn-fcgi, `notes-worker` needs none of them.
struct WorkerOptions {
    enum Command {
        case serve, migrate, checkStatements, statements, help, version
    }

    var command = Command.serve
    var scoreboardFD: Int32?
    var slot: Int?
    var generation = 1
    /// The supervisor kills a worker showing no progress for this long; the database cancels statements a little
    /// earlier, and an idle worker writes its heartbeat well within it.
    var timeoutSeconds: Double?
    var maxRequests = 0
    var maxRequestsJitter = 0
    var logFile: String?
    var accessLog: String?
    var serverTiming = false

    static let usage = """
        usage: notes-worker [serve] [options]   answer FastCGI requests on the listening socket given as fd 0
               notes-worker migrate             apply pending schema migrations and exit
               notes-worker check-statements    prepare every statement against the database's schema and exit
               notes-worker statements          print every statement: its name, a tab, its SQL on one line
               notes-worker --version           print the release number and exit
        options (set by notes-supervisor):
          --scoreboard-fd FD --slot N --generation G   where to report state for /status and the watchdog
          --timeout SECONDS                            statement_timeout a little below it; heartbeat while idle
          --max-requests N --max-requests-jitter J     exit after N + random(0...J) requests
          --log-file PATH                              log there; SIGUSR1 reopens it
          --access-log PATH                            one JSON line per request there; SIGUSR1 reopens it
          --server-timing on                           add Server-Timing (db, app) to every answer
        The database comes from DATABASE_URL (a libpq URI or key=value string), else libpq's PG* variables;
        migrate prefers MIGRATION_DATABASE_URL when set (straight to PostgreSQL when DATABASE_URL names a pooler).
        DATABASE_PREPARED_STATEMENTS=off sends statements unnamed, for a pooler in transaction mode.
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> WorkerOptions {
        var options = WorkerOptions()
        var remaining = arguments[...]
        switch remaining.first {
        case "serve": remaining = remaining.dropFirst()
        case "migrate":
            options.command = .migrate
            remaining = remaining.dropFirst()
        case "check-statements":
            options.command = .checkStatements
            return options
        case "statements":
            options.command = .statements
            return options
        case "help", "-h", "--help":
            options.command = .help
            return options
        case "--version":
            options.command = .version
            return options
        default: break
        }
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            func number<T: LosslessStringConvertible & Comparable>(_ minimum: T) throws(UsageError) -> T {
                guard let parsed = T(value), parsed >= minimum else {
                    throw UsageError(description: "\(flag) needs a number of at least \(minimum), not '\(value)'")
                }
                return parsed
            }
            switch flag {
            case "--scoreboard-fd": options.scoreboardFD = try number(Int32(0))
            case "--slot": options.slot = try number(0)
            case "--generation": options.generation = try number(1)
            case "--timeout": options.timeoutSeconds = try number(0.0)
            case "--max-requests": options.maxRequests = try number(0)
            case "--max-requests-jitter": options.maxRequestsJitter = try number(0)
            case "--log-file": options.logFile = value
            case "--access-log": options.accessLog = value
            case "--server-timing": options.serverTiming = value == "on"
            default: throw UsageError(description: "unknown option \(flag)")
            }
        }
        if (options.scoreboardFD == nil) != (options.slot == nil) {
            throw UsageError(description: "--scoreboard-fd and --slot go together")
        }
        return options
    }

    /// The database gives up on a statement a little before the supervisor gives up on the worker, so
    /// the query is cancelled and its locks released rather than orphaned by a killed worker.
    var statementTimeoutMilliseconds: Int? {
        guard let timeoutSeconds, timeoutSeconds > 0 else { return nil }
        let margin = min(1, timeoutSeconds / 4)
        return max(1, Int(((timeoutSeconds - margin) * 1000).rounded()))
    }

    /// This worker's request budget, or nil without a limit.
    func requestLimit() -> Int? {
        maxRequests > 0 ? maxRequests + Int.random(in: 0...maxRequestsJitter) : nil
    }
}
