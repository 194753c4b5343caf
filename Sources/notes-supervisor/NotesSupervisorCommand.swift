#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import NotesVersion
import ServiceLog
import Supervisor
import SupervisorStatus
import SystemSupport

@main
struct NotesSupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notes-supervisor",
        abstract: "Runs a pool of notes-worker FastCGI processes on one listening socket.",
        discussion: """
            Signals: TERM or INT stops gracefully (workers finish their request, then exit; any still \
            running after --graceful-timeout are killed); QUIT kills the workers at once; HUP starts a new \
            generation of workers from the binary on disk and retires the old one once the new one accepts; \
            TTIN and TTOU add or remove a worker (with --workers-min/--workers-max: move both ends of the \
            range); USR1 reopens --log-file. A worker that dies is replaced.
            Workers inherit the environment, DATABASE_URL included, plus --env-file.
            On TCP, workers answer only the addresses of --allow-from (or FCGI_WEB_SERVER_ADDRS) when given.
            Started as root, it needs --user: it binds its socket and opens its log file, then switches to that \
            account for good (no supplementary groups, no_new_privs) before any worker starts.
            With LISTEN_FDS (systemd socket activation) the inherited socket is used instead of --listen, and a \
            NETLINK_SOCK_DIAG socket passed beside it (notes.socket's ListenNetlink=) reads a unix socket's queue.
            With NOTIFY_SOCKET, readiness, reloads, stops and a status line are reported to systemd.
            """,
        version: notesVersion
    )

    @Option(help: "unix:/path/to.sock, host:port, or a port alone for 127.0.0.1:port.", transform: { text in
        guard let address = ListenAddress(parsing: text) else {
            throw ValidationError("--listen must be unix:/absolute/path, host:port or port, not '\(text)'")
        }
        return address
    })
    var listen = ListenAddress.unix(path: "/run/notes/notes.sock")

    @Option(help: "Number of worker processes, a fixed pool (default: the number of CPUs).")
    var workers: Int?

    @Option(help: "An adaptive pool: never fewer workers than this (default with --workers-max: 1).")
    var workersMin: Int?

    @Option(help: "An adaptive pool: grows up to this many workers while requests wait or every worker is busy (default with --workers-min: the number of CPUs, at least --workers-min).")
    var workersMax: Int?

    @Option(help: "Seconds a worker of an adaptive pool may stay idle before it is retired, while the pool is above --workers-min.")
    var workerIdleTimeout: Double = 30

    @Option(help: "Connections the database grants this pool (max_connections less superuser_reserved_connections and other clients' share); an adaptive pool never grows past it (default: no limit).")
    var databaseConnections: Int?

    /// (minimum, maximum) of the pool: equal for a fixed pool.
    var poolRange: (Int, Int) {
        let cpus = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        if workersMin == nil && workersMax == nil { return (workers ?? cpus, workers ?? cpus) }
        let minimum = workersMin ?? 1
        return (minimum, workersMax ?? max(minimum, cpus))
    }

    @Option(help: "Path of the worker executable (default: notes-worker beside this executable).")
    var workerBinary: String?

    @Option(help: "Seconds workers get to finish on a graceful stop before they are killed.")
    var gracefulTimeout: Double = 30

    @Option(help: "Group given to the unix socket (mode 0660), e.g. the web server's group.")
    var socketGroup: String?

    @Option(help: "Seconds a worker may show no progress (busy on one request, idle without a heartbeat, starting) before it is killed and replaced (0: no limit).")
    var timeout: Double = 30

    @Option(help: "Requests after which a worker retires and is replaced (0: never).")
    var maxRequests: Int = 0

    @Option(help: "Up to this many more requests, at random per worker, so workers do not all retire at once.")
    var maxRequestsJitter: Int = 0

    @Option(help: ArgumentHelp(
        "Resident memory above which a worker is replaced by a fresh one; it finishes its requests first (0: no limit).",
        valueName: "MiB"))
    var maxWorkerRss: Int = 0

    @Option(help: "Seconds after which a worker is replaced by a fresh one; it finishes its requests first (0: no limit).")
    var maxWorkerLifetime: Double = 0

    @Option(help: "Up to this many seconds more, at random per worker, so workers do not all leave at once (default: a tenth of --max-worker-lifetime).")
    var maxWorkerLifetimeJitter: Double?

    /// --max-worker-rss and --max-worker-lifetime.
    var recycling: Recycling {
        Recycling(
            maxResidentBytes: maxWorkerRss > 0 ? maxWorkerRss << 20 : nil,
            maxLifetime: maxWorkerLifetime > 0 ? maxWorkerLifetime : nil,
            lifetimeJitter: maxWorkerLifetimeJitter ?? maxWorkerLifetime / 10)
    }

    @Option(help: ArgumentHelp(
        "Where the supervisor itself answers /status and /livez for nginx, so they answer when every worker is busy or stuck; `none` for no such listener (default: beside a unix --listen socket, its name with -status, e.g. /run/notes/notes-status.sock; none for a TCP --listen).",
        valueName: "address"))
    var statusListen: String?

    /// --status-listen, or its default beside the workers' socket.
    func statusAddress() throws -> ListenAddress? {
        if let statusListen {
            if statusListen == "none" { return nil }
            guard let address = ListenAddress(parsing: statusListen) else {
                throw ValidationError("--status-listen must be unix:/path, host:port or none, not '\(statusListen)'")
            }
            guard address != listen else { throw ValidationError("--status-listen must differ from --listen") }
            return address
        }
        guard case .unix(let path) = listen else { return nil }
        let stem = path.hasSuffix(".sock") ? String(path.dropLast(5)) : path
        return ListenAddress(parsing: "unix:\(stem)-status.sock")
    }

    @Option(help: ArgumentHelp(
        "A request still in hand after this many seconds gets one warning line: method, path, request id, worker pid, and the statement it waits on PostgreSQL for or the worker's stack (0: off).",
        valueName: "seconds"))
    var slowRequest: Double = 0

    @Option(help: "Append logs (the supervisor's and the workers') to this file instead of stderr; USR1 reopens it.")
    var logFile: String?

    @Option(help: "Append one JSON line per request (the workers') to this file; USR1 reopens it.")
    var accessLog: String?

    @Flag(help: "Add Server-Timing (db, app) to every answer, for browsers' developer tools.")
    var serverTiming = false

    @Option(help: "KEY=VALUE lines added to the workers' environment, read again on every HUP.")
    var envFile: String?

    @Option(
        name: .customLong("allow-from"),
        help: ArgumentHelp(
            "Comma-separated IPv4 addresses whose FastCGI connections workers on a TCP socket accept (sets FCGI_WEB_SERVER_ADDRS).",
            valueName: "addresses"),
        transform: { text in
            let addresses = text.split(separator: ",").map { String($0.trimmingWhitespace()) }
            guard !addresses.isEmpty, addresses.allSatisfy(isIPv4Address) else {
                throw ValidationError("--allow-from must be IPv4 addresses separated by commas, not '\(text)'")
            }
            return addresses
        })
    var allowFrom: [String]?

    @Option(help: ArgumentHelp(
        "The account to switch to, when started as root, before any worker starts (required as root).",
        valueName: "name"))
    var user: String?

    /// The account to switch to, nil when the process already runs as the one it should.
    func accountToBecome() throws -> UserIdentity? {
        guard let user else {
            if UserIdentity.processIsRoot {
                throw ValidationError(
                    "refusing to run as root: give --user NAME, the unprivileged account the supervisor and its workers switch to")
            }
            return nil
        }
        let identity: UserIdentity
        do { identity = try UserIdentity(named: user) } catch { throw ValidationError("--user: \(error)") }
        if identity.uid == 0 { throw ValidationError("--user must name an unprivileged account, not \(user)") }
        if identity.uid == geteuid() { return nil }
        if !UserIdentity.processIsRoot {
            throw ValidationError("--user \(user) needs root to switch to; this process runs as uid \(geteuid())")
        }
        return identity
    }

    func validate() throws {
        _ = try accountToBecome()
        _ = try statusAddress()
        if allowFrom != nil, case .tcp(let host, _) = listen, host.contains(":") {
            // libfcgi checks only IPv4 peers: on an IPv6 socket the list would let everyone in.
            throw ValidationError("--allow-from works on IPv4 listen addresses only, not on \(listen)")
        }
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if workers != nil && (workersMin != nil || workersMax != nil) {
            throw ValidationError(
                "--workers N is a fixed pool; for an adaptive one give --workers-min and --workers-max instead, not both")
        }
        if let workersMin, workersMin < 1 { throw ValidationError("--workers-min must be at least 1") }
        if let workersMax, workersMax < 1 { throw ValidationError("--workers-max must be at least 1") }
        let (minimum, maximum) = poolRange
        if minimum > maximum {
            throw ValidationError("--workers-min (\(minimum)) must not be above --workers-max (\(maximum))")
        }
        if workerIdleTimeout <= 0 { throw ValidationError("--worker-idle-timeout must be positive") }
        if let databaseConnections, databaseConnections < minimum {
            throw ValidationError(
                "--database-connections (\(databaseConnections)) leaves no room for the pool's \(minimum) workers")
        }
        if gracefulTimeout < 0 { throw ValidationError("--graceful-timeout must not be negative") }
        if timeout < 0 { throw ValidationError("--timeout must not be negative") }
        if slowRequest < 0 { throw ValidationError("--slow-request must not be negative") }
        if maxRequests < 0 || maxRequestsJitter < 0 {
            throw ValidationError("--max-requests and --max-requests-jitter must not be negative")
        }
        if maxWorkerRss < 0 || maxWorkerLifetime < 0 || (maxWorkerLifetimeJitter ?? 0) < 0 {
            throw ValidationError("--max-worker-rss, --max-worker-lifetime and --max-worker-lifetime-jitter must not be negative")
        }
    }

    func run() throws {
        bootstrapLogging(program: "notes-supervisor")
        let logger = Logger(label: "notes-supervisor")
        var configuration = SupervisorConfiguration(
            listen: listen,
            workers: poolRange.0,
            workerBinary: workerBinary ?? Self.siblingWorkerBinary(),
            gracefulTimeout: gracefulTimeout,
            socketGroup: socketGroup,
            requestTimeout: timeout > 0 ? timeout : nil,
            maxRequests: maxRequests,
            maxRequestsJitter: maxRequestsJitter,
            logFile: logFile,
            environmentFile: envFile,
            allowedPeers: allowFrom,
            runAs: try accountToBecome()
        )
        configuration.recycling = recycling
        configuration.statusListen = try statusAddress()
        configuration.workersMaximum = poolRange.1
        configuration.workerIdleTimeout = workerIdleTimeout
        configuration.databaseConnections = databaseConnections
        configuration.accessLog = accessLog
        configuration.serverTiming = serverTiming
        configuration.slowRequest = slowRequest > 0 ? slowRequest : nil
        do {
            try Arbiter(configuration: configuration, logger: logger) { fd, scoreboard in
                let service = try StatusService(listenFD: fd, scoreboard: scoreboard)
                return service.answerWaiting
            }.run()
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
    }

    /// notes-worker from the directory this executable was started from.
    static func siblingWorkerBinary() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "notes-worker" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[...(path.lastIndex(of: "/") ?? path.startIndex)]) + "notes-worker"
    }
}

/// libfcgi compares peers as dotted IPv4 text, so anything else could never match.
func isIPv4Address(_ text: String) -> Bool {
    var address = in_addr()
    return inet_pton(AF_INET, text, &address) == 1
}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}
