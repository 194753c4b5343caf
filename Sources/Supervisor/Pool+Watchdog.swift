import Scoreboard

/// The watchdog's constants.
enum Watchdog {
    /// How long a stuck worker gets between SIGTERM and SIGKILL. SIGTERM first: a worker that was only slow
    /// (a machine swapping) leaves gracefully and loses nothing; a stopped or looping one does not react to
    /// it (signals reach a worker only while it waits), and SIGKILL ends it this much later.
    static func killGrace(_ timeout: Double?) -> Double {
        min(1, timeout ?? 1)
    }
}

extension Pool {
    /// A worker shows progress in its slot: the start of the request in hand while busy, otherwise its
    /// heartbeat (written when it became ready, after each request, and periodically while it waits), and
    /// before either its start. One that shows none for `--timeout` seconds, whatever its state, is stuck: it
    /// gets SIGTERM, SIGKILL after `Watchdog.killGrace`, and is replaced at once.
    func killStuckWorkers() {
        guard let timeout = settings.requestTimeout, timeout > 0 else { return }
        let now = control.now
        for (pid, worker) in workers {
            switch worker.lifecycle {
            case .killed: continue
            case .retiring(let reason, _) where reason.isUnresponsive: continue
            default: break
            }
            let report = control.report(slot: worker.slot)
            let lastProgress: Double
            if let request = report.currentRequest {
                lastProgress = request.startedAt
            } else {
                lastProgress = report.heartbeat ?? worker.startedAt
            }
            let stalled = now - lastProgress
            guard stalled > timeout else { continue }
            if let request = report.currentRequest {
                logger.warning(
                    "worker \(pid) timed out after \(formatSeconds(stalled)) on \(request.method) \(request.path) (unresponsive while busy); killing it")
            } else {
                logger.warning("worker \(pid) unresponsive while \(report.state): no progress for \(formatSeconds(stalled)); killing it")
            }
            let grace = Watchdog.killGrace(timeout)
            if case .retiring(_, let deadline) = worker.lifecycle {
                // Already asked to stop (a reload, a scale-down, a stop): it gets no more than the grace now.
                workers[pid]?.lifecycle = .retiring(.unresponsive(report.state), deadline: min(deadline, now + grace))
            } else {
                retire(pid, .unresponsive(report.state), within: grace)
            }
        }
    }
}
