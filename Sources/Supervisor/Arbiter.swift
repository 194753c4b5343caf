#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SystemSupport

public struct SupervisorConfiguration: Sendable {
    public var listen: ListenAddress
    public var workers: Int
    public var workerBinary: String
    /// How long workers may take to finish their requests on a graceful stop before they are killed.
    public var gracefulTimeout: Double
    public var socketGroup: String?

    public init(listen: ListenAddress, workers: Int, workerBinary: String, gracefulTimeout: Double, socketGroup: String?) {
        self.listen = listen
        self.workers = workers
        self.workerBinary = workerBinary
        self.gracefulTimeout = gracefulTimeout
        self.socketGroup = socketGroup
    }
}

/// The supervisor's loop, after Gunicorn's arbiter: signal handlers only queue a byte; the loop wakes,
/// handles queued signals, reaps dead workers, then starts missing ones or, when stopping, escalates
/// to SIGKILL once the grace period is over. It knows processes and signals, nothing of what workers do.
public final class Arbiter {
    private let configuration: SupervisorConfiguration
    private let logger: Logger

    private struct Worker {
        let startedAt: Double
    }

    private var workers: [pid_t: Worker] = [:]
    /// Workers that died and have not been replaced yet, for the log line of their replacement.
    private var awaitingReplacement: [pid_t] = []
    /// Set when a graceful stop began.
    private var stopDeadline: Double?
    private var sentKill = false
    private let crashBackoff = CrashBackoff()

    public init(configuration: SupervisorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until every worker has stopped after SIGTERM or SIGINT. Throws only for start-up failures
    /// (socket, worker binary), before any worker runs.
    public func run() throws(SystemError) {
        let signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGCHLD])
        let socket = try ListenSocket(address: configuration.listen, group: configuration.socketGroup)
        let launcher = WorkerLauncher(binary: configuration.workerBinary, listenFD: socket.fd)
        try launcher.validate()
        logger.info("listening on \(configuration.listen) with \(configuration.workers) workers of \(configuration.workerBinary)")

        while true {
            handle(signals.drain())
            reapWorkers()
            if let stopDeadline {
                if workers.isEmpty { break }
                if monotonicSeconds() >= stopDeadline && !sentKill { killRemainingWorkers() }
            } else {
                startMissingWorkers(launcher)
            }
            waitForEvents(signals)
        }
        logger.info("stopped")
    }

    private func handle(_ received: [Int32]) {
        for signo in received where signo == SIGTERM || signo == SIGINT {
            guard stopDeadline == nil else { continue }
            logger.info("received \(String(cString: strsignal(signo))): stopping \(workers.count) workers gracefully")
            stopDeadline = monotonicSeconds() + configuration.gracefulTimeout
            for pid in workers.keys { kill(pid, SIGTERM) }
        }
    }

    private func reapWorkers() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0, let worker = workers.removeValue(forKey: pid) else { return }
            let exit = ExitStatus(waitStatus: status)
            if stopDeadline != nil {
                logger.info("worker \(pid) \(exit)")
                continue
            }
            let lifetime = monotonicSeconds() - worker.startedAt
            logger.warning("worker \(pid) \(exit) after \(formatSeconds(lifetime)); replacing it")
            awaitingReplacement.append(pid)
            if let delay = crashBackoff.recordExit(lifetime: lifetime) {
                logger.warning("workers are dying at start: next start in \(formatSeconds(delay))")
            }
        }
    }

    private func startMissingWorkers(_ launcher: WorkerLauncher) {
        while workers.count < configuration.workers && crashBackoff.mayStart() {
            do {
                let pid = try launcher.launch()
                workers[pid] = Worker(startedAt: monotonicSeconds())
                if awaitingReplacement.isEmpty {
                    logger.info("worker \(pid) started")
                } else {
                    logger.info("worker \(pid) started, replacing \(awaitingReplacement.removeFirst())")
                }
            } catch {
                logger.error("cannot start a worker: \(error)")
                _ = crashBackoff.recordExit(lifetime: 0)
                return
            }
        }
    }

    private func killRemainingWorkers() {
        sentKill = true
        logger.warning("graceful timeout of \(formatSeconds(configuration.gracefulTimeout)) reached: killing \(workers.count) workers")
        for pid in workers.keys { kill(pid, SIGKILL) }
    }

    /// Sleeps in poll() until a signal arrives or the next deadline (a delayed start, the grace period).
    private func waitForEvents(_ signals: SignalPipe) {
        var wake = monotonicSeconds() + 1
        if let stopDeadline, !sentKill { wake = min(wake, stopDeadline) }
        if let next = crashBackoff.nextStartAllowed { wake = min(wake, next) }
        let timeout = Int32(max(0, (wake - monotonicSeconds()) * 1000).rounded(.up))
        var descriptor = pollfd(fd: signals.readFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, timeout)
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds < 10 ? "\(Double(Int(seconds * 100)) / 100)s" : "\(Int(seconds))s"
}
