#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Scoreboard

/// When a worker ends: how it is logged and counted, whether it is replaced, and the crash backoff.
extension Pool {
    func reapWorkers() {
        while let (pid, status) = control.reapExited() {
            reap(pid, status)
        }
    }

    /// Takes a worker that ended out of the pool, whoever waited for it (the loop above, or a stack reading
    /// that found it gone).
    func reap(_ pid: pid_t, _ status: ExitStatus) {
        guard let worker = workers.removeValue(forKey: pid) else { return }
        let report = control.report(slot: worker.slot)
        control.releaseSlot(worker.slot)
        reaped(worker, report: report, exit: status)
    }

    /// Logs how a worker ended, counts the restart by cause, and queues its replacement where one is due.
    func reaped(_ worker: PoolWorker, report: WorkerReport, exit: ExitStatus) {
        let pid = worker.pid
        let lifetime = control.now - worker.startedAt
        let retirement: RetirementReason?
        switch worker.lifecycle {
        case .retiring(let reason, _), .killed(.escalated(let reason)): retirement = reason
        case .killed(.quit): retirement = .stopping
        case .serving, .leaving: retirement = nil
        }
        switch retirement {
        case .stopping:
            logger.info("worker \(pid) \(exit)")
            return
        case .reload:
            reporting.countRestart(.reload)
            logger.info("worker \(pid) of generation \(worker.generation) retired after reload: \(exit)")
            return
        case .scaledDown:
            reporting.countRestart(.scaledDown)
            logger.info("worker \(pid) retired (one worker fewer): \(exit)")
            return
        case .idle:
            reporting.countRestart(.scaledDown)
            logger.info("worker \(pid) retired (idle, the pool shrinks): \(exit)")
            return
        case .unresponsive(let state):
            reporting.countRestart(.timeout)
            logger.warning("worker \(pid) \(exit) by the watchdog (unresponsive while \(state)); replacing it")
            if state == .starting && worker.generation == generation { countReloadFailure() }
            return
        case .recycled(let reason):
            reporting.countRestart(reason.restartCause)
            logger.info("worker \(pid) recycled: \(exit)")
            return
        case nil:
            break
        }
        if mode.isStopping {
            logger.info("worker \(pid) \(exit)")
            return
        }
        if worker.lifecycle == .serving { awaitingReplacement.append(pid) }
        if report.exitReason == .maxRequests && exit == .exited(0) {
            reporting.countRestart(.maxRequests)
            logger.info("worker \(pid) retired after \(report.requests) requests (max requests); replacing it")
        } else if report.exitReason == .requestTimeout {
            reporting.countRestart(.timeout)
            let request = report.request.map { "\($0.method) \($0.path)" } ?? "a request"
            logger.warning(
                "worker \(pid) timed out after \(formatSeconds(report.lastRequestSeconds ?? 0)) on \(request) (statement cancelled by the database); replacing it")
        } else {
            reporting.countRestart(.crashed)
            logger.warning("worker \(pid) \(exit) after \(formatSeconds(lifetime)); replacing it")
            if let delay = crashBackoff.recordExit(lifetime: lifetime, now: control.now) {
                logger.warning("workers are dying at start: next start in \(formatSeconds(delay))")
                if worker.generation == generation { countReloadFailure() }
            }
        }
    }
}
