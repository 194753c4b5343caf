#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Scoreboard
import SystemSupport

/// The pool's rules, without a process or a clock of their own: the workers and what each is doing, the
/// pool's mode and generation, and what to do on a signal (`Pool+Commands.swift`), when a worker ends
/// (`Pool+Reaping.swift`), at each tick (`tick`: the watchdog in `Pool+Watchdog.swift`, reloads in
/// `Pool+Reload.swift`, starting workers below). Every effect goes through `ProcessControl` and
/// `PoolReporting`, so the unit tests run the rules against a fake in milliseconds.
///
/// A generation is the workers started from one reading of the worker binary and the environment file:
/// 1 at start, a new number at every HUP, never reused.
final class Pool {
    struct Settings {
        /// How long a worker asked to stop may take before SIGKILL.
        var gracefulTimeout: Double
        /// The watchdog's limit (`--timeout`); nil: no watchdog.
        var requestTimeout: Double?
        /// When a healthy worker is replaced all the same (`--max-worker-rss`, `--max-worker-lifetime`).
        var recycling = Recycling.none
        /// Connections the database grants the whole pool (`--database-connections`); an adaptive pool never
        /// grows past it. nil: no limit known.
        var databaseConnections: Int? = nil
        /// A request in hand this long gets a line in the log (`--slow-request`); nil: none.
        var slowRequest: Double? = nil
    }

    let settings: Settings
    let control: ProcessControl
    let reporting: PoolReporting
    let logger: Logger

    var workers: [pid_t: PoolWorker] = [:]
    var mode = PoolMode.starting
    /// What the pool currently wants: the sizing's latest decision (Pool+Sizing.swift), TTIN/TTOU, or the fixed size.
    var targetWorkers: Int
    /// The range the pool moves in (`--workers N` is N...N) and when an idle worker goes.
    var sizing: PoolSizing
    /// The generation new workers start in.
    var generation = 1
    /// The highest generation number used so far: an abandoned reload's number is not used again.
    var latestGeneration = 1
    /// Read from the environment file at start and at each HUP.
    var environment: [String]
    /// Workers that stopped counting towards the target and have not been replaced yet, for the log line of
    /// their replacement.
    var awaitingReplacement: [pid_t] = []
    let crashBackoff = CrashBackoff()

    init(settings: Settings, sizing: PoolSizing, environment: [String], control: ProcessControl,
         reporting: PoolReporting, logger: Logger) {
        self.settings = settings
        self.sizing = sizing
        self.targetWorkers = sizing.minimum
        self.environment = environment
        self.control = control
        self.reporting = reporting
        self.logger = logger
    }

    /// The generation the scoreboard shows as serving: during a reload, the previous one until the new one
    /// accepts. Workers of an older generation than that are leaving, whatever their last state.
    var servingGeneration: Int {
        if case .reloading(let previous, _) = mode { return previous }
        return generation
    }

    /// Workers of the current generation that count towards the target.
    var activeWorkers: [PoolWorker] {
        workers.values.filter { $0.generation == generation && $0.lifecycle == .serving }
    }

    /// True once the pool has stopped: every worker is gone after TERM, INT or QUIT.
    var hasStopped: Bool { mode.isStopping && workers.isEmpty }

    /// One turn of the supervisor's loop, after the signals it received: reaps ended workers, notices workers
    /// that retired themselves, kills stuck ones, escalates retirements that take too long, starts missing
    /// workers and finishes a reload or the start-up.
    func tick() {
        reapWorkers()
        noticeLeavingWorkers()
        killStuckWorkers()
        logSlowRequests()
        recycleWorkers()
        escalateRetirements()
        if !mode.isStopping {
            resize()
            startMissingWorkers()
            finishReloadOrStartWhenReady()
        }
    }

    func publishPool() {
        reporting.publishPool(servingGeneration: servingGeneration, targetWorkers: targetWorkers)
    }

    /// A worker that retired itself says so in its slot before it stops accepting.
    private func noticeLeavingWorkers() {
        for (pid, worker) in workers where worker.lifecycle == .serving {
            guard control.report(slot: worker.slot).exitReason != ExitReason.none else { continue }
            workers[pid]?.lifecycle = .leaving
            if !mode.isStopping { awaitingReplacement.append(pid) }
        }
    }

    /// Asks a worker to stop with SIGTERM; it is killed if still running at the deadline.
    func retire(_ pid: pid_t, _ reason: RetirementReason, within seconds: Double? = nil) {
        guard let worker = workers[pid], worker.lifecycle.mayRetire else { return }
        if worker.lifecycle == .serving, reason.isUnresponsive, !mode.isStopping { awaitingReplacement.append(pid) }
        workers[pid]?.lifecycle = .retiring(reason, deadline: control.now + (seconds ?? settings.gracefulTimeout))
        control.signal(pid, SIGTERM)
    }

    func kill(_ pid: pid_t, _ cause: KillCause) {
        guard let worker = workers[pid] else { return }
        if case .killed = worker.lifecycle { return }
        workers[pid]?.lifecycle = .killed(cause)
        control.signal(pid, SIGKILL)
    }

    /// A worker that did not leave by its retirement's deadline gets SIGKILL, as PHP-FPM escalates.
    private func escalateRetirements() {
        let now = control.now
        for (pid, worker) in workers {
            guard case .retiring(let reason, let deadline) = worker.lifecycle, now >= deadline else { continue }
            let grace = reason.isUnresponsive ? Watchdog.killGrace(settings.requestTimeout) : settings.gracefulTimeout
            logger.warning("worker \(pid) still running \(formatSeconds(grace)) after SIGTERM; killing it")
            kill(pid, .escalated(reason))
        }
    }

    private func startMissingWorkers() {
        var missing = targetWorkers - activeWorkers.count
        while missing > 0 && crashBackoff.mayStart(now: control.now) {
            guard let slot = freeSlot() else {
                logger.error("all \(Scoreboard.capacity) scoreboard slots are taken: not starting more workers")
                return
            }
            control.prepareSlot(slot, generation: generation)
            do {
                let pid = try control.spawn(slot: slot, generation: generation, environment: environment)
                workers[pid] = PoolWorker(
                    pid: pid, slot: slot, generation: generation, startedAt: control.now,
                    lifetime: settings.recycling.lifetime(random: control.randomFraction()))
                if awaitingReplacement.isEmpty {
                    logger.info("worker \(pid) started (generation \(generation))")
                } else {
                    logger.info("worker \(pid) started (generation \(generation)), replacing \(awaitingReplacement.removeFirst())")
                }
            } catch {
                control.releaseSlot(slot)
                logger.error("cannot start a worker: \(error)")
                _ = crashBackoff.recordExit(lifetime: 0, now: control.now)
                return
            }
            missing -= 1
        }
    }

    private func freeSlot() -> Int? {
        let taken = Set(workers.values.map(\.slot))
        return (0..<Scoreboard.capacity).first { !taken.contains($0) }
    }

    func statusLine() -> String {
        let states = workers.values.map { control.report(slot: $0.slot).state }
        let idle = states.filter { $0 == .idle }.count
        let busy = states.filter { $0 == .busy }.count
        return "\(workers.count) workers (\(idle) idle, \(busy) busy), \(reporting.acceptedRequests) requests"
    }
}

extension RetirementReason {
    var isUnresponsive: Bool {
        if case .unresponsive = self { return true }
        return false
    }
}
