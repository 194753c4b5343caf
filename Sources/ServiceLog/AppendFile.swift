#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// A file that several processes append whole lines to (the access log): opened O_APPEND, and each line goes
/// out in one write(2), so no line is ever split by or interleaved with another process's. Sole owner of its
/// descriptor; `reopen` (SIGUSR1, after logrotate moved the file) starts a fresh file at the same path.
public final class AppendFile {
    public let path: String
    private var fd: Int32

    public init(path: String) throws(SystemError) {
        self.path = path
        fd = try Self.open(path)
    }

    deinit {
        close(fd)
    }

    private static func open(_ path: String) throws(SystemError) -> Int32 {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        return fd
    }

    public func reopen() throws(SystemError) {
        let fresh = try Self.open(path)
        close(fd)
        fd = fresh
    }

    /// Writes `line` (which ends with its newline) in one call; a short write (a full disk) drops the rest
    /// rather than write a second piece another process's line could come between.
    public func append(_ line: [UInt8]) {
        line.withUnsafeBytes { bytes in
            while write(fd, bytes.baseAddress, bytes.count) < 0 && errno == EINTR {}
        }
    }
}
