#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLinux

/// Reads how many connections wait in a listening socket's accept queue, as PHP-FPM's `listen queue` does:
/// TCP_INFO on TCP, sock_diag (UDIAG_SHOW_RQLEN) for a unix socket. Owns the netlink socket it asks through,
/// whether given (systemd's, where the unit forbids opening one) or opened here.
public final class ListenQueueProbe {
    private let fd: Int32
    private let isUnix: Bool
    private let diagFD: Int32

    /// The netlink protocol a unix socket's queue is asked over (NETLINK_SOCK_DIAG).
    public static let netlinkProtocol = NETLINK_SOCK_DIAG

    /// `sockDiag`: a NETLINK_SOCK_DIAG socket to ask through instead of opening one; the probe closes it.
    public init(listeningSocket fd: Int32, sockDiag: Int32? = nil) {
        self.fd = fd
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let family = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 ? Int32($0.pointee.sa_family) : -1 }
        }
        isUnix = family == AF_UNIX
        diagFD = sockDiag ?? (isUnix ? notes_sock_diag_open() : -1)
    }

    deinit {
        if diagFD >= 0 { close(diagFD) }
    }

    /// The queue's length and capacity now, or nil when the kernel does not say (no sock_diag for unix sockets).
    public func sample() -> (queued: UInt32, backlog: UInt32)? {
        var queued: UInt32 = 0, backlog: UInt32 = 0
        if isUnix {
            guard diagFD >= 0, notes_unix_listen_queue(diagFD, fd, &queued, &backlog) == 0 else { return nil }
        } else {
            guard notes_tcp_listen_queue(fd, &queued, &backlog) == 0 else { return nil }
        }
        return (queued, backlog)
    }
}
