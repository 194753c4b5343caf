/// HUP: a new generation replaces the serving one without a moment when no worker accepts; a new generation
/// whose workers keep dying at start is abandoned and the serving one kept.
extension Pool {
    /// After this many early deaths of new workers, a reload is abandoned and the previous generation kept.
    static let reloadFailureLimit = 5

    /// Starts a new generation, from the worker binary as it is on disk now and `environment` (nil: the one
    /// in use); the serving generation is retired once every new worker accepts (`finishReloadOrStartWhenReady`).
    /// A HUP during a reload replaces the generation being started; the one serving before stays the fallback.
    func reload(environment newEnvironment: [String]?) {
        guard !mode.isStopping else { return }
        reporting.notifySystemd(["RELOADING=1", "MONOTONIC_USEC=\(Int(control.now * 1_000_000))"])
        if let newEnvironment { environment = newEnvironment }
        mode = .reloading(previousGeneration: servingGeneration, failures: 0)
        latestGeneration += 1
        generation = latestGeneration
        publishPool()
        logger.info("reloading: starting generation \(generation) (\(targetWorkers) workers)")
    }

    /// New workers that cannot start (a broken build, a bad environment file) must not take the service down:
    /// after a few tries the reload is given up and the generation that was serving goes on serving.
    func countReloadFailure() {
        guard case .reloading(let previous, let failures) = mode else { return }
        guard failures + 1 >= Self.reloadFailureLimit else {
            mode = .reloading(previousGeneration: previous, failures: failures + 1)
            return
        }
        logger.error(
            "reload abandoned: workers of generation \(generation) keep dying at start; generation \(previous) keeps serving")
        let failed = generation
        generation = previous
        mode = .serving
        awaitingReplacement.removeAll()
        for worker in workers.values where worker.generation == failed { retire(worker.pid, .reload) }
        publishPool()
        reporting.notifySystemd(["READY=1", "STATUS=reload failed: \(statusLine())"])
    }

    /// Once every worker of the current generation accepts: tell systemd we are ready, and after a reload
    /// retire the previous generations, so that at every moment some workers accept.
    func finishReloadOrStartWhenReady() {
        let active = activeWorkers
        guard active.count == targetWorkers,
              active.allSatisfy({ control.report(slot: $0.slot).state.isAccepting }) else { return }
        switch mode {
        case .reloading:
            let old = workers.values.filter { $0.generation != generation && $0.lifecycle.mayRetire }
            logger.info("reload complete: generation \(generation) accepting, retiring \(old.count) workers of earlier generations")
            for worker in old { retire(worker.pid, .reload) }
            mode = .serving
            publishPool()
            reporting.notifySystemd(["READY=1", "STATUS=\(statusLine())"])
        case .starting:
            logger.info("ready: \(active.count) workers accepting")
            reporting.notifySystemd(["READY=1", "STATUS=\(statusLine())"])
            mode = .serving
        case .serving, .stopping:
            break
        }
    }
}
