import Scoreboard

extension Recycling.Reason {
    var restartCause: RestartCause {
        switch self {
        case .memory: .maxRSS
        case .lifetime: .maxLifetime
        }
    }
}

extension Pool {
    /// Replaces a healthy worker over `--max-worker-rss` or past its lifetime: its replacement starts at once
    /// and it retires gracefully (SIGTERM: it finishes its request and the connections nginx keeps to it).
    /// One at a time, and not during a reload or a stop, so recycling never takes more than one worker's
    /// share of the pool away.
    func recycleWorkers() {
        guard mode == .serving, settings.recycling != .none else { return }
        let recycling = workers.values.contains {
            if case .retiring(.recycled, _) = $0.lifecycle { return true }
            return false
        }
        guard !recycling else { return }
        let now = control.now
        // The oldest first.
        for (pid, worker) in workers.sorted(by: { ($0.value.startedAt, $0.key) < ($1.value.startedAt, $1.key) })
        where worker.lifecycle == .serving && worker.generation == generation
            && control.report(slot: worker.slot).state.isAccepting {
            let resident = settings.recycling.maxResidentBytes == nil ? nil : control.residentBytes(pid)
            guard let reason = settings.recycling.reason(
                age: now - worker.startedAt, lifetime: worker.lifetime, residentBytes: resident) else { continue }
            logger.info("worker \(pid) recycled: \(reason); replacing it")
            awaitingReplacement.append(pid)
            retire(pid, .recycled(reason))
            return
        }
    }
}
