#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProcessStacks
import Scoreboard
import SystemSupport

/// What the pool's rules read from a worker's scoreboard slot, on the supervisor's clock (seconds).
struct WorkerReport {
    var state: WorkerState
    var exitReason: ExitReason = .none
    var requests: UInt64 = 0
    /// The request in hand, or the last one; nil before the first.
    var request: (method: String, path: String, startedAt: Double)?
    /// How long the last finished request took.
    var lastRequestSeconds: Double?
    /// When the worker last showed it was alive while not busy (ready, a request finished, a heartbeat while
    /// idle); nil before its first such write.
    var heartbeat: Double?

    /// The web server's id of `request` (nginx's `$request_id`).
    var requestID: String?
    /// The statement the worker waits on PostgreSQL for (with how many were sent together), and since when.
    var databaseWait: (statement: String, statements: Int, since: Double)?

    /// Its last batch is answered but still being written out (state idle meanwhile).
    var answering = false

    /// The request the worker has not let go of: being served (busy) or its answer being written.
    var requestInHand: (method: String, path: String, startedAt: Double)? {
        state == .busy || answering ? request : nil
    }

    /// The request in hand, while `state` is busy.
    var currentRequest: (method: String, path: String, startedAt: Double)? {
        state == .busy ? request : nil
    }
}

/// Everything the pool does to and learns from processes: the product's implementation is `SystemProcesses`
/// (posix_spawn, kill, waitpid, CLOCK_MONOTONIC, the scoreboard), the unit tests' a fake that runs none.
protocol ProcessControl: AnyObject {
    /// Seconds on a clock that never jumps.
    var now: Double { get }
    /// Starts a worker in `slot`, whose slot was prepared for it.
    func spawn(slot: Int, generation: Int, environment: [String]) throws(SystemError) -> pid_t
    func signal(_ pid: pid_t, _ signo: Int32)
    /// A child that has ended, without waiting; nil when none has.
    func reapExited() -> (pid: pid_t, status: ExitStatus)?

    func report(slot: Int) -> WorkerReport
    /// Clears `slot` for a worker about to start in `generation`.
    func prepareSlot(_ slot: Int, generation: Int)
    /// Frees `slot` once its worker was reaped.
    func releaseSlot(_ slot: Int)
    /// A worker's resident memory; nil when it cannot be read (the process is gone).
    func residentBytes(_ pid: pid_t) -> Int?
    /// A number in 0..<1, for jitter.
    func randomFraction() -> Double
    /// Connections waiting in the listening socket's accept queue, as last sampled (ListenQueueSampler).
    var queuedConnections: Int { get }
    /// How many more connections the database takes, as the last worker to start read it; nil before any.
    var databaseRoom: Int? { get }
    /// A worker's stack, read while it is stopped for a moment (the slow-request log).
    func stack(of pid: pid_t) -> StackReading
}

/// What reading a worker's stack found.
enum StackReading: Equatable {
    /// Innermost frame first, one line each.
    case frames([String])
    /// The worker ended while it was read; the reading waited for it, so the pool reaps it with this status.
    case exited(ExitStatus)
    /// Why it could not be read (ptrace refused: a seccomp filter, Yama, another tracer).
    case unavailable(String)
}

/// What the pool tells the world about itself: /status counters and header, systemd.
protocol PoolReporting: AnyObject {
    func countRestart(_ cause: RestartCause)
    /// The generation that serves and the pool's target size, for /status.
    func publishPool(servingGeneration: Int, targetWorkers: Int)
    /// sd_notify lines (READY=1, RELOADING=1, STATUS=…).
    func notifySystemd(_ lines: [String])
    /// Requests accepted by all workers since the supervisor started.
    var acceptedRequests: UInt64 { get }
}

/// The real processes of the pool, the scoreboard they write, and systemd.
final class SystemProcesses: ProcessControl, PoolReporting {
    private let launcher: WorkerLauncher
    private let scoreboard: Scoreboard
    private let notifier: SystemdNotifier?

    init(launcher: WorkerLauncher, scoreboard: Scoreboard, notifier: SystemdNotifier?) {
        self.launcher = launcher
        self.scoreboard = scoreboard
        self.notifier = notifier
    }

    var now: Double { monotonicSeconds() }

    func spawn(slot: Int, generation: Int, environment: [String]) throws(SystemError) -> pid_t {
        let pid = try launcher.launch(slot: slot, generation: generation, environment: environment)
        scoreboard.publishStartingPID(pid, slot: slot)
        return pid
    }

    func signal(_ pid: pid_t, _ signo: Int32) {
        kill(pid, signo)
    }

    func reapExited() -> (pid: pid_t, status: ExitStatus)? {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0 && errno == EINTR { continue }
            guard pid > 0 else { return nil }
            return (pid, ExitStatus(waitStatus: status))
        }
    }

    func report(slot index: Int) -> WorkerReport {
        let slot = scoreboard.slot(index)
        return WorkerReport(
            state: slot.state, exitReason: slot.exitReason, requests: slot.requests,
            request: slot.request.map { ($0.method, $0.path, Double($0.startedNanoseconds) / 1e9) },
            lastRequestSeconds: slot.lastRequestNanoseconds.map { Double($0) / 1e9 },
            heartbeat: slot.heartbeatNanoseconds.map { Double($0) / 1e9 },
            requestID: slot.requestID,
            databaseWait: slot.databaseWait.map { ($0.statement, $0.statements, Double($0.startedNanoseconds) / 1e9) },
            answering: slot.answering)
    }

    func stack(of pid: pid_t) -> StackReading {
        do {
            switch try ProcessStack.sample(pid: pid) {
            case .frames(let frames): return .frames(frames.map(\.description))
            case .exited(let status): return .exited(ExitStatus(waitStatus: status))
            }
        } catch {
            return .unavailable("\(error)")
        }
    }

    func prepareSlot(_ slot: Int, generation: Int) {
        scoreboard.prepareSlot(slot, generation: generation)
    }

    func releaseSlot(_ slot: Int) {
        scoreboard.releaseSlot(slot)
    }

    func residentBytes(_ pid: pid_t) -> Int? {
        ProcessMemory.residentBytes(of: pid)
    }

    func randomFraction() -> Double {
        Double.random(in: 0..<1)
    }

    var queuedConnections: Int {
        Int(scoreboard.metrics(routes: 0, statuses: 0).listenQueue)
    }

    var databaseRoom: Int? { scoreboard.databaseRoom }

    func countRestart(_ cause: RestartCause) {
        scoreboard.countRestart(cause)
    }

    func publishPool(servingGeneration: Int, targetWorkers: Int) {
        scoreboard.publish(generation: servingGeneration, targetWorkers: targetWorkers)
    }

    func notifySystemd(_ lines: [String]) {
        notifier?.send(lines)
    }

    var acceptedRequests: UInt64 { scoreboard.acceptedRequests }
}
