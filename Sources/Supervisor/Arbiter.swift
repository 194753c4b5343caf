#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Scoreboard
import ServiceLog
import SystemSupport

/// The supervisor's loop, after Gunicorn's arbiter: signal handlers only queue a byte; the loop wakes, handles
/// the queued signals, reaps dead workers, kills hung ones, escalates retirements that take too long, and starts
/// missing workers. It knows processes, signals and the scoreboard, nothing of what the workers serve.
public final class Arbiter {
    private let configuration: SupervisorConfiguration
    private let logger: Logger

    private enum RetirementReason {
        case reload, scaledDown, stopping
    }

    private struct Worker {
        let pid: pid_t
        let slot: Int
        let generation: Int
        let startedAt: Double
        /// Set once the worker was asked to stop; it is killed if still alive at `killAt`.
        var retirement: (reason: RetirementReason, killAt: Double)?
        /// The watchdog found it busy past the request timeout.
        var timedOut = false
        /// SIGKILL was sent (watchdog or escalation); it is not sent twice.
        var sentKill = false
        /// The worker retired itself (request limit, request timeout) and is finishing the connections nginx
        /// keeps to it: it no longer accepts, so its replacement starts now rather than when it exits.
        var leaving = false
    }

    private var workers: [pid_t: Worker] = [:]
    private var targetWorkers: Int
    /// The generation new workers start in; during a reload, the one being started.
    private var generation = 1
    /// The highest generation number used so far: an abandoned reload's number is not used again.
    private var latestGeneration = 1
    /// During a reload: the generation that serves until the new one accepts, and how often new workers
    /// died at start.
    private var reload: (previousGeneration: Int, failures: Int)?
    /// After this many early deaths of new workers, a reload is abandoned and the old generation kept.
    static let reloadFailureLimit = 5
    private var announcedReady = false
    private var stopping = false
    /// Workers that died and have not been replaced yet, for the log line of their replacement.
    private var awaitingReplacement: [pid_t] = []
    private let crashBackoff = CrashBackoff()
    private var lastStatus = ""
    private var lastStatusSentAt = 0.0
    private var environment: WorkerEnvironment

    private let scoreboard: Scoreboard
    private let notifier: SystemdNotifier?

    public init(configuration: SupervisorConfiguration, logger: Logger) throws(SystemError) {
        self.configuration = configuration
        self.logger = logger
        self.targetWorkers = configuration.workers
        self.environment = try Self.workerEnvironment(configuration)
        self.scoreboard = try Scoreboard.create()
        self.notifier = SystemdNotifier(socketPath: getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    /// Runs until every worker has stopped after TERM, INT or QUIT. Throws only for start-up failures
    /// (socket, worker binary, log file), before any worker runs.
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
        if let user = configuration.runAs { try switchUser(to: user) } else { try forbidNewPrivileges() }
        let launcher = WorkerLauncher(
            binary: configuration.workerBinary, listenFD: socket.fd, scoreboardFD: scoreboard.fd,
            commonArguments: configuration.workerArguments)
        try launcher.validate()
        scoreboard.publishSupervisor(pid: getpid(), startedAtUnixMicroseconds: wallClockMicroseconds(), listen: socket.address.description)
        publishPool()
        let queueSampler = ListenQueueSampler(socket: socket, scoreboard: scoreboard, logger: logger)
        logger.info("listening on \(socket.address) with \(targetWorkers) workers of \(configuration.workerBinary)")

        while true {
            for signo in signals.drain() { handle(signo) }
            reapWorkers()
            noticeLeavingWorkers()
            killHungWorkers()
            escalateRetirements()
            if stopping {
                if workers.isEmpty { break }
            } else {
                startMissingWorkers(launcher)
                finishReloadOrStartWhenReady()
            }
            publishStatus()
            queueSampler.sample()
            var descriptor = pollfd(fd: signals.readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 100)
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
        case SIGTERM, SIGINT:
            guard !stopping else { return }
            logger.info("received \(signalName(signo)): stopping \(workers.count) workers gracefully")
            stopping = true
            notifier?.send("STOPPING=1")
            for pid in Array(workers.keys) { retire(pid, .stopping) }
        case SIGQUIT:
            logger.info("received \(signalName(signo)): killing \(workers.count) workers")
            stopping = true
            notifier?.send("STOPPING=1")
            for pid in Array(workers.keys) {
                workers[pid]?.sentKill = true
                kill(pid, SIGKILL)
            }
        case SIGHUP where !stopping:
            startReload()
        case SIGTTIN where !stopping:
            targetWorkers += 1
            publishPool()
            logger.info("received \(signalName(signo)): \(targetWorkers) workers")
        case SIGTTOU where !stopping:
            guard targetWorkers > 1 else {
                logger.info("received \(signalName(signo)): already at 1 worker")
                return
            }
            targetWorkers -= 1
            publishPool()
            logger.info("received \(signalName(signo)): \(targetWorkers) workers")
            if let newest = activeWorkers.max(by: { $0.startedAt < $1.startedAt }) {
                retire(newest.pid, .scaledDown)
            }
        case SIGUSR1:
            reopenLogFile()
        default:
            break
        }
    }

    private static func workerEnvironment(_ configuration: SupervisorConfiguration) throws(SystemError) -> WorkerEnvironment {
        try WorkerEnvironment(
            inheriting: WorkerEnvironment.current, file: configuration.environmentFile,
            overrides: configuration.workerEnvironmentOverrides)
    }

    /// Starts a new generation from the worker binary as it is on disk now, with the environment file read
    /// again; the old generation is retired once every new worker accepts (`finishReloadOrStartWhenReady`).
    private func startReload() {
        notifier?.send("RELOADING=1", "MONOTONIC_USEC=\(monotonicNanoseconds() / 1000)")
        do {
            environment = try Self.workerEnvironment(configuration)
        } catch {
            logger.error("reload: keeping the previous worker environment: \(error)")
        }
        reload = (reload?.previousGeneration ?? generation, 0)
        latestGeneration += 1
        generation = latestGeneration
        publishPool()
        logger.info("reloading: starting generation \(generation) (\(targetWorkers) workers)")
    }

    private func reopenLogFile() {
        guard let logFile = configuration.logFile else {
            logger.info("received SIGUSR1: logs go to stderr, nothing to reopen")
            if configuration.accessLog != nil { for pid in workers.keys { kill(pid, SIGUSR1) } }
            return
        }
        do {
            try redirectStderr(toFile: logFile)
            logger.info("reopened log file \(logFile)")
            for pid in workers.keys { kill(pid, SIGUSR1) }
        } catch {
            logger.error("cannot reopen log file: \(error)")
        }
    }

    // MARK: the pool

    /// Workers of the current generation that were not asked to leave and are not leaving: the ones that count
    /// towards the target.
    private var activeWorkers: [Worker] {
        workers.values.filter { $0.generation == generation && $0.retirement == nil && !$0.leaving }
    }

    /// A worker that retired itself says so in its slot before it stops accepting.
    private func noticeLeavingWorkers() {
        for (pid, worker) in workers where worker.retirement == nil && !worker.leaving {
            guard scoreboard.slot(worker.slot).exitReason != ExitReason.none else { continue }
            workers[pid]?.leaving = true
            if !stopping { awaitingReplacement.append(pid) }
        }
    }

    private func retire(_ pid: pid_t, _ reason: RetirementReason) {
        guard var worker = workers[pid], worker.retirement == nil else { return }
        worker.retirement = (reason, monotonicSeconds() + configuration.gracefulTimeout)
        workers[pid] = worker
        kill(pid, SIGTERM)
    }

    private func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0 else { return }
            guard let worker = workers.removeValue(forKey: pid) else { continue }
            let slot = scoreboard.slot(worker.slot)
            scoreboard.releaseSlot(worker.slot)
            reaped(worker, slot: slot, exit: ExitStatus(waitStatus: status))
        }
    }

    /// Logs how a worker ended, counts the restart by cause, and queues its replacement where one is due.
    private func reaped(_ worker: Worker, slot: WorkerSlot, exit: ExitStatus) {
        let pid = worker.pid
        let lifetime = monotonicSeconds() - worker.startedAt
        if let retirement = worker.retirement {
            switch retirement.reason {
            case .stopping:
                logger.info("worker \(pid) \(exit)")
            case .reload:
                scoreboard.countRestart(.reload)
                logger.info("worker \(pid) of generation \(worker.generation) retired after reload: \(exit)")
            case .scaledDown:
                scoreboard.countRestart(.scaledDown)
                logger.info("worker \(pid) retired (one worker fewer): \(exit)")
            }
            return
        }
        if stopping {
            logger.info("worker \(pid) \(exit)")
            return
        }
        if !worker.leaving { awaitingReplacement.append(pid) }
        if worker.timedOut {
            scoreboard.countRestart(.timeout)
            logger.warning("worker \(pid) \(exit) by the watchdog; replacing it")
        } else if slot.exitReason == .maxRequests && exit == .exited(0) {
            scoreboard.countRestart(.maxRequests)
            logger.info("worker \(pid) retired after \(slot.requests) requests (max requests); replacing it")
        } else if slot.exitReason == .requestTimeout {
            scoreboard.countRestart(.timeout)
            let seconds = Double(slot.lastRequestNanoseconds ?? 0) / 1e9
            let request = slot.request.map { "\($0.method) \($0.path)" } ?? "a request"
            logger.warning(
                "worker \(pid) timed out after \(formatSeconds(seconds)) on \(request) (statement cancelled by the database); replacing it")
        } else {
            scoreboard.countRestart(.crashed)
            logger.warning("worker \(pid) \(exit) after \(formatSeconds(lifetime)); replacing it")
            if let delay = crashBackoff.recordExit(lifetime: lifetime) {
                logger.warning("workers are dying at start: next start in \(formatSeconds(delay))")
                if worker.generation == generation { countReloadFailure() }
            }
        }
    }

    /// New workers that cannot start (a broken build, a bad environment file) must not take the service down:
    /// after a few tries the reload is given up and the generation that was serving goes on serving.
    private func countReloadFailure() {
        guard let current = reload else { return }
        reload?.failures += 1
        guard current.failures + 1 >= Self.reloadFailureLimit else { return }
        logger.error(
            "reload abandoned: workers of generation \(generation) keep dying at start; generation \(current.previousGeneration) keeps serving")
        let failed = generation
        generation = current.previousGeneration
        reload = nil
        awaitingReplacement.removeAll()
        for worker in workers.values where worker.generation == failed { retire(worker.pid, .reload) }
        publishPool()
        notifier?.send("READY=1", "STATUS=reload failed: \(statusLine())")
    }

    /// The watchdog: a worker busy on one request for longer than the timeout is killed.
    private func killHungWorkers() {
        guard let timeout = configuration.requestTimeout, timeout > 0 else { return }
        for (pid, worker) in workers where !worker.sentKill {
            guard let request = scoreboard.slot(worker.slot).currentRequest else { continue }
            let seconds = secondsSince(request.startedNanoseconds)
            guard seconds > timeout else { continue }
            logger.warning("worker \(pid) timed out after \(formatSeconds(seconds)) on \(request.method) \(request.path); killing it")
            workers[pid]?.timedOut = true
            workers[pid]?.sentKill = true
            kill(pid, SIGKILL)
        }
    }

    /// A worker that did not leave within the grace period after SIGTERM gets SIGKILL, as PHP-FPM escalates.
    private func escalateRetirements() {
        let now = monotonicSeconds()
        for (pid, worker) in workers {
            guard let retirement = worker.retirement, now >= retirement.killAt, !worker.sentKill else { continue }
            logger.warning("worker \(pid) still running \(formatSeconds(configuration.gracefulTimeout)) after SIGTERM; killing it")
            workers[pid]?.sentKill = true
            kill(pid, SIGKILL)
        }
    }

    private func startMissingWorkers(_ launcher: WorkerLauncher) {
        var missing = targetWorkers - activeWorkers.count
        while missing > 0 && crashBackoff.mayStart() {
            guard let slot = freeSlot() else {
                logger.error("all \(Scoreboard.capacity) scoreboard slots are taken: not starting more workers")
                return
            }
            scoreboard.prepareSlot(slot, generation: generation)
            do {
                let pid = try launcher.launch(slot: slot, generation: generation, environment: environment.entries)
                scoreboard.publishStartingPID(pid, slot: slot)
                workers[pid] = Worker(pid: pid, slot: slot, generation: generation, startedAt: monotonicSeconds())
                if awaitingReplacement.isEmpty {
                    logger.info("worker \(pid) started (generation \(generation))")
                } else {
                    logger.info("worker \(pid) started (generation \(generation)), replacing \(awaitingReplacement.removeFirst())")
                }
            } catch {
                scoreboard.releaseSlot(slot)
                logger.error("cannot start a worker: \(error)")
                _ = crashBackoff.recordExit(lifetime: 0)
                return
            }
            missing -= 1
        }
    }

    private func freeSlot() -> Int? {
        let taken = Set(workers.values.map(\.slot))
        return (0..<Scoreboard.capacity).first { !taken.contains($0) }
    }

    /// Once every worker of the current generation accepts: tell systemd we are ready, and after a reload
    /// retire the previous generations, so that at every moment some workers accept.
    private func finishReloadOrStartWhenReady() {
        let active = activeWorkers
        guard active.count == targetWorkers,
              active.allSatisfy({ scoreboard.slot($0.slot).state.isAccepting }) else { return }
        if reload != nil {
            let old = workers.values.filter { $0.generation != generation && $0.retirement == nil }
            logger.info("reload complete: generation \(generation) accepting, retiring \(old.count) workers of earlier generations")
            for worker in old { retire(worker.pid, .reload) }
            reload = nil
            publishPool()
            notifier?.send("READY=1", "STATUS=\(statusLine())")
        } else if !announcedReady {
            logger.info("ready: \(active.count) workers accepting")
            notifier?.send("READY=1", "STATUS=\(statusLine())")
        }
        announcedReady = true
    }

    /// The scoreboard shows the generation that serves: during a reload, the old one until the new one accepts.
    /// Workers of an older generation than that are leaving, whatever their last state.
    private func publishPool() {
        scoreboard.publish(generation: reload?.previousGeneration ?? generation, targetWorkers: targetWorkers)
    }

    private func statusLine() -> String {
        let states = workers.values.map { scoreboard.slot($0.slot).state }
        let idle = states.filter { $0 == .idle }.count
        let busy = states.filter { $0 == .busy }.count
        return "\(workers.count) workers (\(idle) idle, \(busy) busy), \(scoreboard.acceptedRequests) requests"
    }

    /// STATUS= for `systemctl status`, sent when it changes, at most once a second.
    private func publishStatus() {
        guard let notifier, announcedReady, monotonicSeconds() - lastStatusSentAt >= 1 else { return }
        let line = statusLine()
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
