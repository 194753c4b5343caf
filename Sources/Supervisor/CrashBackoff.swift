/// Paces restarts when workers die right after starting (database down, bad configuration): each early
/// death doubles the wait before the next start, up to a cap, so the supervisor never spins in a fork loop.
/// A worker that lived long enough resets the pace.
final class CrashBackoff {
    /// A worker that dies sooner than this after starting counts as failing at start.
    static let earlyExitThreshold = 1.0
    static let firstDelay = 0.1
    static let maximumDelay = 5.0

    private var delay = 0.0
    private(set) var nextStartAllowed: Double?

    /// Returns the new delay when this exit slows restarts down.
    func recordExit(lifetime: Double, now: Double) -> Double? {
        guard lifetime < Self.earlyExitThreshold else {
            delay = 0
            return nil
        }
        delay = delay == 0 ? Self.firstDelay : min(delay * 2, Self.maximumDelay)
        nextStartAllowed = now + delay
        return delay
    }

    func mayStart(now: Double) -> Bool {
        guard let next = nextStartAllowed else { return true }
        if now < next { return false }
        nextStartAllowed = nil
        return true
    }
}
