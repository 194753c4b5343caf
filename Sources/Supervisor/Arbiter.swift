#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Scoreboard
import ServiceLog
import SystemSupport

/// The supervisor's loop, after Gunicorn's arbiter: signal handlers only queue a byte; the loop wakes at least
/// every 100 ms, hands the queued signals to the pool and lets it act (`Pool.tick`: reap, watchdog,
/// escalation, start missing workers). It owns the socket, the scoreboard, the log file and systemd's socket;
/// the rules are the pool's. It knows processes, signals and the scoreboard, nothing of what the workers serve.
public final class Arbiter {
    private let configuration: SupervisorConfiguration
    private let logger: Logger

    /// The pool's rules and state (Pool.swift); made in `run`, once the socket the workers inherit is open.
    private var pool: Pool!
    private var lastStatus = ""
    private var lastStatusSentAt = 0.0

    private let scoreboard: Scoreboard
    private let notifier: SystemdNotifier?

    /// Makes what answers on the status listener from its socket and the scoreboard; the supervisor's loop calls
    /// the result whenever the listener has connections waiting.
    public typealias StatusServiceFactory = (_ listenFD: Int32, _ scoreboard: Scoreboard) throws -> () -> Void
    private let statusServiceFactory: StatusServiceFactory?

    public init(configuration: SupervisorConfiguration, logger: Logger, statusService: StatusServiceFactory? = nil) throws(SystemError) {
        self.configuration = configuration
        self.statusServiceFactory = statusService
        self.logger = logger
        self.scoreboard = try Scoreboard.create()
        self.notifier = SystemdNotifier(socketPath: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    /// Runs until every worker has stopped after TERM, INT or QUIT. Throws only for start-up failures
    /// (socket, worker binary, log file, environment file), before any worker runs.
    public func run() throws(SystemError) {
        if let logFile = configuration.logFile { try redirectStderr(toFile: logFile) }
        let signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1, SIGCHLD])
        let inherited = try ListenSocket(inheritedFrom: { getenv($0).map { String(cString: $0) } })
        let socket: ListenSocket
        if let inherited {
            socket = inherited
        } else {
            socket = try ListenSocket(address: configuration.listen, group: configuration.socketGroup)
        }
        // Bound before the switch of user, like the workers' socket: its directory may be root's.
        let statusSocket = try configuration.statusListen.map { address throws(SystemError) in
            try ListenSocket(address: address, group: configuration.socketGroup)
        }
        if let user = configuration.runAs { try switchUser(to: user) } else { try forbidNewPrivileges() }
        var answerStatus: (() -> Void)?
        if let statusSocket, let statusServiceFactory {
            do {
                answerStatus = try statusServiceFactory(statusSocket.fd, scoreboard)
            } catch {
                throw SystemError("status listener on \(statusSocket.address): \(error)", code: EINVAL)
            }
            logger.info("answering /status and /livez on \(statusSocket.address)")
        }
        let launcher = WorkerLauncher(
            binary: configuration.workerBinary, listenFD: socket.fd, scoreboardFD: scoreboard.fd,
            commonArguments: configuration.workerArguments)
        try launcher.validate()
        let processes = SystemProcesses(launcher: launcher, scoreboard: scoreboard, notifier: notifier)
        pool = Pool(
            settings: Pool.Settings(
                gracefulTimeout: configuration.gracefulTimeout, requestTimeout: configuration.requestTimeout,
                recycling: configuration.recycling, databaseConnections: configuration.databaseConnections,
                slowRequest: configuration.slowRequest),
            sizing: configuration.sizing, environment: try Self.workerEnvironment(configuration).entries,
            control: processes, reporting: processes, logger: logger)
        scoreboard.publishSupervisor(pid: getpid(), startedAtUnixMicroseconds: wallClockMicroseconds(), listen: socket.address.description)
        pool.publishPool()
        let queueSampler = ListenQueueSampler(socket: socket, scoreboard: scoreboard, logger: logger)
        logger.info("listening on \(socket.address) with \(pool.describeRange()) of \(configuration.workerBinary)")

        while true {
            for signo in signals.drain() { handle(signo) }
            pool.tick()
            if pool.hasStopped { break }
            publishStatus()
            queueSampler.sample()
            var descriptors = [pollfd(fd: signals.readFD, events: Int16(POLLIN), revents: 0)]
            if answerStatus != nil, let statusSocket { descriptors.append(pollfd(fd: statusSocket.fd, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&descriptors, nfds_t(descriptors.count), 100)
            if descriptors.count > 1, descriptors[1].revents & Int16(POLLIN) != 0 { answerStatus?() }
        }
        logger.info("stopped")
    }

    /// What needed root is done (binding, possibly to a privileged port or in a root-owned directory;
    /// opening the log file): from here on the supervisor and every worker it starts run as `user`.
    private func switchUser(to user: UserIdentity) throws(SystemError) {
        // Workers open --log-file themselves and USR1 reopens it, as the user: it must be theirs.
        if let logFile = configuration.logFile, chown(logFile, user.uid, user.gid) != 0 {
            throw SystemError("chown \(logFile) to \(user.name)")
        }
        try user.become()
        logger.info("running as \(user)")
    }

    // MARK: signals

    private func handle(_ signo: Int32) {
        switch signo {
        case SIGTERM, SIGINT: pool.stopGracefully(signo)
        case SIGQUIT: pool.stopNow(signo)
        case SIGHUP: reload()
        case SIGTTIN: pool.addWorker(signo)
        case SIGTTOU: pool.removeWorker(signo)
        case SIGUSR1: reopenLogFile()
        default: break
        }
    }

    private static func workerEnvironment(_ configuration: SupervisorConfiguration) throws(SystemError) -> WorkerEnvironment {
        try WorkerEnvironment(
            inheriting: WorkerEnvironment.current, file: configuration.environmentFile,
            overrides: configuration.workerEnvironmentOverrides)
    }

    /// HUP: the environment file is read again for the new generation (Pool+Reload.swift).
    private func reload() {
        guard !pool.mode.isStopping else { return }
        var environment: [String]?
        do {
            environment = try Self.workerEnvironment(configuration).entries
        } catch {
            logger.error("reload: keeping the previous worker environment: \(error)")
        }
        pool.reload(environment: environment)
    }

    private func reopenLogFile() {
        guard let logFile = configuration.logFile else {
            logger.info("received SIGUSR1: logs go to stderr, nothing to reopen")
            if configuration.accessLog != nil { pool.forward(SIGUSR1) }
            return
        }
        do {
            try redirectStderr(toFile: logFile)
            logger.info("reopened log file \(logFile)")
            pool.forward(SIGUSR1)
        } catch {
            logger.error("cannot reopen log file: \(error)")
        }
    }

    /// STATUS= for `systemctl status`, sent when it changes, at most once a second, once the pool is ready.
    private func publishStatus() {
        guard let notifier, pool.mode != .starting, monotonicSeconds() - lastStatusSentAt >= 1 else { return }
        let line = pool.statusLine()
        guard line != lastStatus else { return }
        lastStatus = line
        lastStatusSentAt = monotonicSeconds()
        notifier.send("STATUS=\(line)")
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds < 10 ? "\(Double(Int(seconds * 100)) / 100)s" : "\(Int(seconds))s"
}

/// SIGTTIN rather than strsignal's "Stopped (tty input)": the names operators send.
func signalName(_ signo: Int32) -> String {
    let names: [Int32: String] = [
        SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGHUP: "SIGHUP", SIGTTIN: "SIGTTIN",
        SIGTTOU: "SIGTTOU", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGILL: "SIGILL", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
    ]
    return names[signo] ?? String(cString: strsignal(signo))
}

private func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
