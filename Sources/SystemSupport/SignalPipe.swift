#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The write end of the process's signal pipe. A signal handler may only touch async-signal-safe state,
/// so this is a plain global written once, before any handler is installed.
nonisolated(unsafe) private var signalPipeWriteFD: Int32 = -1

/// Turns signals into bytes on a pipe (the self-pipe trick), so that one poll() loop can wait for
/// sockets and signals together and handle signals in normal code, outside of the handler.
///
/// Handlers are installed with `SA_RESTART`. The processes never block anywhere but in poll(), which
/// returns on a signal whatever the flag says, so nothing waits for a signal in vain; and a read or write
/// that a signal interrupts mid-request is resumed instead of failing, which matters because libfcgi's
/// `OS_Read` does not retry on `EINTR` and would abandon the request in hand. A socket with a receive or
/// send timeout is the exception (the kernel never restarts those calls): `deliveringOnlyInWaits` keeps the
/// signals pending while such work runs.
public final class SignalPipe {
    /// Becomes readable when a signal has arrived; pass it to poll().
    public let readFD: Int32
    private var handled = sigset_t()

    /// Installs the handlers. One per process: it owns the pipe and the handlers for its whole life.
    public init(signals: [Int32]) throws(SystemError) {
        precondition(signalPipeWriteFD == -1, "one SignalPipe per process")
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SystemError("pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readFD = fds[0]
        signalPipeWriteFD = fds[1]
        sigemptyset(&handled)
        for signo in signals {
            sigaddset(&handled, signo)
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signo in
                let savedErrno = errno
                var byte = UInt8(truncatingIfNeeded: signo)
                _ = write(signalPipeWriteFD, &byte, 1)
                errno = savedErrno
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            guard sigaction(signo, &action, nil) == 0 else { throw SystemError("sigaction(\(signo))") }
        }
    }

    /// Runs `body` with this pipe's signals blocked, except inside the waits it makes with the mask it is given
    /// (`epoll_pwait`, `ppoll`), which unblock them atomically for the wait alone: a signal is delivered (written to
    /// the pipe) only where the process waits, never in the middle of a call the kernel would not resume, and
    /// this costs no system call per piece of work in between (blocking and unblocking around each request was
    /// a quarter of a worker's system calls).
    public func deliveringOnlyInWaits<Result, Failure: Error>(
        _ body: (inout sigset_t) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        var waitMask = sigset_t()
        pthread_sigmask(SIG_BLOCK, &handled, &waitMask)
        defer { pthread_sigmask(SIG_SETMASK, &waitMask, nil) }
        return try body(&waitMask)
    }

    /// The signals that arrived since the last call, in order of arrival.
    public func drain() -> [Int32] {
        var received: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = read(readFD, &buffer, buffer.count)
            if count > 0 {
                received.append(contentsOf: buffer[0..<count].map { Int32($0) })
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return received
            }
        }
    }
}

/// Ignores SIGPIPE so that writing to a peer that went away fails with EPIPE instead of killing the process.
public func ignoreBrokenPipeSignal() {
    signal(SIGPIPE, SIG_IGN)
}
