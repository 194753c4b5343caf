#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a process holds in memory, as the kernel counts it.
public enum ProcessMemory {
    /// Resident set size from /proc/PID/statm (its second field, in pages); nil when unreadable, and for a
    /// process that has exited but is not reaped yet (no resident pages: unknown rather than 0 bytes).
    public static func residentBytes(of pid: Int32) -> Int? {
        let fd = open("/proc/\(pid)/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)), pages > 0 else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
