/// When a worker is retired to be replaced by a fresh one, though nothing is wrong with it: it holds more memory
/// than `--max-worker-rss` allows, or it has lived `--max-worker-lifetime` plus its own jitter (so that workers
/// started together do not all leave together, as Gunicorn's `max_requests_jitter` spreads request limits).
struct Recycling: Sendable, Equatable {
    /// Bytes of resident memory; nil: no limit.
    let maxResidentBytes: Int?
    /// Seconds; nil: no limit.
    let maxLifetime: Double?
    /// Up to this many seconds more, drawn once per worker.
    let lifetimeJitter: Double

    enum Reason: Sendable, Equatable, CustomStringConvertible {
        case memory(residentBytes: Int, limit: Int)
        case lifetime(seconds: Double, limit: Double)

        var description: String {
            switch self {
            case let .memory(resident, limit):
                "its resident memory \(resident / 1_048_576) MiB is over --max-worker-rss \(limit / 1_048_576) MiB"
            case let .lifetime(seconds, limit):
                "it has run \(formatSeconds(seconds)), over its lifetime of \(formatSeconds(limit))"
            }
        }
    }

    static let none = Recycling(maxResidentBytes: nil, maxLifetime: nil, lifetimeJitter: 0)

    /// The lifetime of a worker starting now; `random` is in 0..<1.
    func lifetime(random: Double) -> Double? {
        maxLifetime.map { $0 + lifetimeJitter * random }
    }

    /// Whether a worker that has run `age` seconds of its `lifetime` and holds `residentBytes` should go.
    func reason(age: Double, lifetime: Double?, residentBytes: Int?) -> Reason? {
        if let limit = maxResidentBytes, let resident = residentBytes, resident > limit {
            return .memory(residentBytes: resident, limit: limit)
        }
        if let lifetime, age >= lifetime { return .lifetime(seconds: age, limit: lifetime) }
        return nil
    }
}
