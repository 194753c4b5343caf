import Scoreboard

/// The adaptive pool (`--workers-min`, `--workers-max`, `--worker-idle-timeout`): each tick, what the workers'
/// slots and the listen queue show goes to `PoolSizing.decide`, whose decision becomes the target.
extension Pool {
    /// Connections left under what the workers measured: one for an operator's psql or a migration, one for
    /// two workers that read the room at once and each counted without the other.
    static let databaseMargin = 2

    func resize() {
        guard mode == .serving, !sizing.isFixed else { return }
        switch sizing.decide(observation()) {
        case .keep:
            break
        case .fill(let count):
            setTarget(activeWorkers.count + count, because: "below the minimum of \(sizing.minimum)")
        case .grow(let count, let cause):
            setTarget(activeWorkers.count + count, because: cause.rawValue)
        case .retire(let pid, let idleSeconds):
            let before = targetWorkers
            targetWorkers = activeWorkers.count - 1
            publishPool()
            logger.info("pool: \(before) -> \(targetWorkers) workers (worker \(pid) idle \(formatSeconds(idleSeconds)))")
            retire(pid, .idle)
        }
    }

    /// Raises the target only: a worker that died and awaits its replacement is not a reason to shrink.
    private func setTarget(_ workers: Int, because cause: String) {
        guard workers > targetWorkers else { return }
        logger.info("pool: \(targetWorkers) -> \(workers) workers (\(cause))")
        targetWorkers = workers
        publishPool()
    }

    func observation() -> PoolSizing.Observation {
        let now = control.now
        var starting = 0, busy = 0
        var idle: [(worker: Int32, seconds: Double)] = []
        let active = activeWorkers
        for worker in active {
            let report = control.report(slot: worker.slot)
            switch report.state {
            case .starting: starting += 1
            case .busy: busy += 1
            case .idle:
                // Idle since its last request ended, or since it started when it has served none.
                let since = report.request.map { $0.startedAt + (report.lastRequestSeconds ?? 0) } ?? worker.startedAt
                idle.append((worker.pid, max(0, now - since)))
            default: break
            }
        }
        // Every process of the pool holds one connection until it exits, leaving ones included.
        let granted = settings.databaseConnections.map { $0 - workers.count }
        let measured = control.databaseRoom.map { $0 - Self.databaseMargin }
        let room = [granted, measured].compactMap { $0 }.min()
        return PoolSizing.Observation(
            workers: active.count, starting: starting, busy: busy, queued: control.queuedConnections,
            databaseRoom: room, idle: idle)
    }
}
