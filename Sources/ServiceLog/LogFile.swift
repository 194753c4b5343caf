#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// Points stderr (fd 2) at `path`, appending, so that everything this process and its children log goes
/// there. Called again after logrotate moved the file (SIGUSR1), it starts a fresh file at the same path.
public func redirectStderr(toFile path: String) throws(SystemError) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
    guard fd >= 0 else { throw SystemError("open log file \(path)") }
    defer { close(fd) }
    guard dup2(fd, STDERR_FILENO) >= 0 else { throw SystemError("dup2 log file \(path)") }
}
