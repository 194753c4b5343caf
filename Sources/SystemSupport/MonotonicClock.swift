#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time on a clock that never jumps, for timeouts and durations. The same clock in every process of the
/// machine, so a worker's request start time means the same to the supervisor.
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

public func monotonicSeconds() -> Double {
    Double(monotonicNanoseconds()) / 1e9
}

/// Seconds from `start` (a `monotonicNanoseconds()` reading, possibly taken in another process) until now;
/// never negative, even when `start` was read after the caller's own idea of now.
public func secondsSince(_ start: UInt64) -> Double {
    let now = monotonicNanoseconds()
    return now > start ? Double(now - start) / 1e9 : 0
}
