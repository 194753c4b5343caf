#if canImport(Glibc)
import Glibc
#endif
import Logging
import Scoreboard
import SystemSupport
@testable import Supervisor

/// The pool's outside world without processes: spawned workers are numbers, signals are recorded, the clock
/// moves when a test says so, and each worker's slot says what the test writes in it.
final class FakeProcesses: ProcessControl, PoolReporting {
    var now = 1000.0
    private var nextPID: pid_t = 100
    private(set) var slotOf: [pid_t: Int] = [:]
    private(set) var spawned: [(pid: pid_t, generation: Int)] = []
    private(set) var signals: [(pid: pid_t, signo: Int32)] = []
    private var exited: [(pid: pid_t, status: ExitStatus)] = []
    var reports: [Int: WorkerReport] = [:]
    var spawnFails = false
    private(set) var restarts: [RestartCause] = []
    private(set) var published: (servingGeneration: Int, targetWorkers: Int)?
    private(set) var notifications: [String] = []
    var acceptedRequests: UInt64 = 0

    func spawn(slot: Int, generation: Int, environment: [String]) throws(SystemError) -> pid_t {
        if spawnFails { throw SystemError("spawn", code: ENOENT) }
        nextPID += 1
        slotOf[nextPID] = slot
        spawned.append((nextPID, generation))
        return nextPID
    }

    func signal(_ pid: pid_t, _ signo: Int32) { signals.append((pid, signo)) }

    func reapExited() -> (pid: pid_t, status: ExitStatus)? {
        exited.isEmpty ? nil : exited.removeFirst()
    }

    func report(slot: Int) -> WorkerReport { reports[slot] ?? WorkerReport(state: .free) }
    func prepareSlot(_ slot: Int, generation: Int) { reports[slot] = WorkerReport(state: .starting) }
    func releaseSlot(_ slot: Int) { reports[slot] = nil }
    /// What each worker holds, as a test sets it; unknown otherwise.
    var resident: [pid_t: Int] = [:]
    func residentBytes(_ pid: pid_t) -> Int? { resident[pid] }
    /// The listen queue's length, as a test sets it.
    var queuedConnections = 0
    /// The connections the database takes, as a worker would publish them; unknown otherwise.
    var databaseRoom: Int?
    /// What reading a worker's stack finds, as a test sets it; which stacks were read.
    var stacks: [pid_t: StackReading] = [:]
    private(set) var stacksRead: [pid_t] = []
    func stack(of pid: pid_t) -> StackReading {
        stacksRead.append(pid)
        return stacks[pid] ?? .unavailable("no stack set")
    }
    var random = 0.5
    func randomFraction() -> Double { random }
    func countRestart(_ cause: RestartCause) { restarts.append(cause) }
    func publishPool(servingGeneration: Int, targetWorkers: Int) { published = (servingGeneration, targetWorkers) }
    func notifySystemd(_ lines: [String]) { notifications += lines }

    // MARK: what a test makes the workers do

    /// The worker wrote its slot: ready, or a heartbeat while idle.
    func idle(_ pid: pid_t) {
        update(pid) {
            $0.state = .idle
            $0.answering = false
            $0.heartbeat = now
        }
    }

    func busy(_ pid: pid_t, _ method: String = "GET", _ path: String = "/notes/", requestID: String? = nil) {
        update(pid) {
            $0.state = .busy
            $0.request = (method, path, now)
            $0.requestID = requestID
            $0.databaseWait = nil
            $0.answering = false
        }
    }

    /// The worker made its answers and writes them out: it shows idle, the request still in hand.
    func answering(_ pid: pid_t) {
        update(pid) {
            $0.state = .idle
            $0.answering = true
            $0.heartbeat = now
        }
    }

    /// The busy worker sent `statement` (with `count` - 1 more) and waits for PostgreSQL.
    func waitsOnDatabase(_ pid: pid_t, _ statement: String, count: Int = 1) {
        update(pid) { $0.databaseWait = (statement, count, now) }
    }

    func retiresItself(_ pid: pid_t, _ reason: ExitReason, requests: UInt64 = 0) {
        update(pid) {
            $0.state = .retiring
            $0.exitReason = reason
            $0.requests = requests
        }
    }

    func update(_ pid: pid_t, _ change: (inout WorkerReport) -> Void) {
        let slot = slotOf[pid]!
        var report = reports[slot] ?? WorkerReport(state: .starting)
        change(&report)
        reports[slot] = report
    }

    func exits(_ pid: pid_t, _ status: ExitStatus) { exited.append((pid, status)) }

    func signals(to pid: pid_t) -> [Int32] { signals.filter { $0.pid == pid }.map(\.signo) }
    var pidsSpawned: [pid_t] { spawned.map(\.pid) }
}

/// Log lines kept for the tests to read.
final class LogLines: @unchecked Sendable {
    private(set) var lines: [String] = []
    func append(_ line: String) { lines.append(line) }
    func contains(_ text: String) -> Bool { lines.contains { $0.contains(text) } }
}

struct CapturingLogHandler: LogHandler {
    let sink: LogLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        sink.append("\(level): \(message)")
    }
}
