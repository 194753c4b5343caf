#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the operator's signals do to the pool. HUP is `reload(environment:)` (`Pool+Reload.swift`); USR1,
/// which concerns the log file, is the arbiter's.
extension Pool {
    /// TERM or INT: every worker finishes its request and leaves; SIGKILL after `--graceful-timeout`.
    func stopGracefully(_ signo: Int32) {
        guard !mode.isStopping else { return }
        logger.info("received \(signalName(signo)): stopping \(workers.count) workers gracefully")
        mode = .stopping
        reporting.notifySystemd(["STOPPING=1"])
        for pid in Array(workers.keys) { retire(pid, .stopping) }
    }

    /// QUIT: every worker is killed at once.
    func stopNow(_ signo: Int32) {
        logger.info("received \(signalName(signo)): killing \(workers.count) workers")
        mode = .stopping
        reporting.notifySystemd(["STOPPING=1"])
        for pid in Array(workers.keys) { kill(pid, .quit) }
    }

    /// TTIN: one worker more at both ends of the range (a fixed pool: one worker more).
    func addWorker(_ signo: Int32) {
        guard !mode.isStopping else { return }
        sizing.raise()
        targetWorkers = sizing.isFixed ? sizing.minimum : max(targetWorkers, sizing.minimum)
        publishPool()
        logger.info("received \(signalName(signo)): \(describeRange())")
    }

    /// TTOU: one worker fewer at both ends of the range, never below one; when the target is then above the
    /// maximum, the newest worker is retired.
    func removeWorker(_ signo: Int32) {
        guard !mode.isStopping else { return }
        guard sizing.lower() else {
            logger.info("received \(signalName(signo)): already at 1 worker")
            return
        }
        let over = targetWorkers > sizing.maximum
        targetWorkers = min(targetWorkers, sizing.maximum)
        publishPool()
        logger.info("received \(signalName(signo)): \(describeRange())")
        guard over else { return }
        if let newest = activeWorkers.max(by: { $0.startedAt < $1.startedAt }) {
            retire(newest.pid, .scaledDown)
        }
    }

    /// "3 workers" for a fixed pool, "2...6 workers (target 3)" for an adaptive one.
    func describeRange() -> String {
        sizing.isFixed ? "\(targetWorkers) workers" : "\(sizing.minimum)...\(sizing.maximum) workers (target \(targetWorkers))"
    }

    /// Passes a signal on to every worker (USR1: reopen the log file).
    func forward(_ signo: Int32) {
        for pid in workers.keys { control.signal(pid, signo) }
    }
}
