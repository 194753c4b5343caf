#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// What one descriptor systemd passed (LISTEN_FDS) is, as the kernel describes it.
enum InheritedDescriptor: Equatable, CustomStringConvertible {
    /// A stream socket in listen(2): notes.socket's `ListenStream=`.
    case listeningStream
    /// A NETLINK_SOCK_DIAG socket: notes.socket's `ListenNetlink=inet-diag 0`, for the unix socket's queue.
    case sockDiag
    /// Anything else, in words for the error.
    case other(String)

    var description: String {
        switch self {
        case .listeningStream: "a listening stream socket"
        case .sockDiag: "a NETLINK_SOCK_DIAG socket"
        case .other(let what): what
        }
    }

    /// Asks the kernel what `fd` is (fstat, then SO_DOMAIN, SO_TYPE, SO_ACCEPTCONN, SO_PROTOCOL).
    init(of fd: Int32) {
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            self = .other("not an open descriptor")
            return
        }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            self = .other((status.st_mode & S_IFMT) == S_IFIFO ? "a pipe" : "not a socket")
            return
        }
        func option(_ name: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1
        }
        let domain = option(SO_DOMAIN), type = option(SO_TYPE), accepting = option(SO_ACCEPTCONN) == 1
        if accepting && type == Int32(SOCK_STREAM.rawValue) && [AF_UNIX, AF_INET, AF_INET6].contains(domain) {
            self = .listeningStream
        } else if domain == AF_NETLINK && option(SO_PROTOCOL) == ListenQueueProbe.netlinkProtocol {
            self = .sockDiag
        } else {
            self = .other("a socket of family \(domain), type \(type)\(accepting ? ", listening" : "")")
        }
    }
}

/// The one layout of systemd's descriptors the supervisor accepts: one listening stream socket and at most one
/// NETLINK_SOCK_DIAG socket, in any order.
struct InheritedLayout {
    let listening: Int32
    let sockDiag: Int32?

    /// The layout of `passed` (descriptor and what it is, in LISTEN_FDS order), or the error that names each one.
    init(_ passed: [(fd: Int32, kind: InheritedDescriptor)]) throws(InheritedLayoutError) {
        let listening = passed.filter { $0.kind == .listeningStream }.map(\.fd)
        let sockDiag = passed.filter { $0.kind == .sockDiag }.map(\.fd)
        let problem: InheritedLayoutError.Problem? =
            if let other = passed.first(where: { $0.kind != .listeningStream && $0.kind != .sockDiag }) {
                .unexpected(fd: other.fd)
            } else if listening.isEmpty {
                .noListeningSocket
            } else if listening.count > 1 {
                .severalListeningSockets
            } else if sockDiag.count > 1 {
                .severalSockDiagSockets
            } else {
                nil
            }
        if let problem {
            throw InheritedLayoutError(problem: problem, passed: passed.map { ($0.fd, $0.kind.description) })
        }
        self.listening = listening[0]
        self.sockDiag = sockDiag.first
    }
}

/// Descriptors from systemd the supervisor cannot use; the description names every one and what was expected.
struct InheritedLayoutError: Error, CustomStringConvertible {
    enum Problem: Equatable {
        case unexpected(fd: Int32)
        case noListeningSocket
        case severalListeningSockets
        case severalSockDiagSockets
    }

    let problem: Problem
    let passed: [(fd: Int32, what: String)]

    var description: String {
        let reason = switch problem {
        case .unexpected(let fd): "fd \(fd) is neither"
        case .noListeningSocket: "no listening socket"
        case .severalListeningSockets: "more than one listening socket"
        case .severalSockDiagSockets: "more than one NETLINK_SOCK_DIAG socket"
        }
        let list = passed.map { "fd \($0.fd) is \($0.what)" }.joined(separator: ", ")
        return "systemd passed LISTEN_FDS=\(passed.count) (\(list)): \(reason); expected one listening stream socket "
            + "(notes.socket's ListenStream=) and at most one NETLINK_SOCK_DIAG socket (ListenNetlink=inet-diag 0)"
    }
}
