/// The slow-request log, as PHP-FPM's slowlog: one line per request still in hand after `--slow-request`
/// seconds, naming it and where it waits.
extension Pool {
    /// A request is written about once, when it first passes the limit: on PostgreSQL, the statement's name
    /// (never its parameters); in the worker's own code, the worker's stack, read while it stops for a moment.
    func logSlowRequests() {
        guard let limit = settings.slowRequest, limit > 0 else { return }
        let now = control.now
        for (pid, worker) in workers {
            if case .killed = worker.lifecycle { continue }
            let report = control.report(slot: worker.slot)
            guard let request = report.requestInHand, now - request.startedAt >= limit,
                  worker.slowRequestLogged != request.startedAt else { continue }
            workers[pid]?.slowRequestLogged = request.startedAt
            let head = "slow request: \(request.method) \(request.path) (request id \(report.requestID ?? "none")) "
                + "in worker \(pid) for \(formatSeconds(now - request.startedAt))"
            if let wait = report.databaseWait {
                let more = wait.statements > 1 ? " and \(wait.statements - 1) more sent with it" : ""
                logger.warning("\(head): waiting on PostgreSQL for \(formatSeconds(now - wait.since)), statement \(wait.statement)\(more)")
                continue
            }
            switch control.stack(of: pid) {
            case .frames(let frames):
                let stack = frames.enumerated().map { "#\($0.offset) \($0.element)" }.joined(separator: " | ")
                logger.warning("\(head): running in the worker; stack: \(stack)")
            case .unavailable(let reason):
                logger.warning("\(head): running in the worker; its stack cannot be read: \(reason)")
            case .exited(let status):
                logger.warning("\(head): running in the worker, which ended while its stack was read")
                reap(pid, status)
            }
        }
    }
}
