/// What the pool as a whole is doing.
enum PoolMode: Equatable {
    /// Starting its first workers; systemd has not been told READY yet.
    case starting
    /// Every worker of the current generation has accepted once; READY was sent.
    case serving
    /// A new generation is starting while `previousGeneration` serves; `failures` counts the new workers
    /// that died at start (a reload is abandoned at `Pool.reloadFailureLimit`).
    case reloading(previousGeneration: Int, failures: Int)
    /// TERM, INT or QUIT: no worker is started any more, and the supervisor exits once none is left.
    case stopping

    var isStopping: Bool { self == .stopping }
}
