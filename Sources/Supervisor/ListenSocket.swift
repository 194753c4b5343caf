#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// The supervisor's listening socket, which every worker inherits as fd 0. Sole owner of the descriptor;
/// a unix socket's file is removed when the socket is closed.
public final class ListenSocket {
    public let fd: Int32
    public let address: ListenAddress
    /// False for a socket systemd passed in: its file is systemd's to keep, so a restart loses nothing queued.
    private let removesFileOnClose: Bool
    /// systemd's NETLINK_SOCK_DIAG socket until `takeSockDiag()` passes it on.
    private var sockDiag: Int32?

    /// Long enough that a burst of nginx connections waits for a free worker instead of being refused.
    public static let backlog: Int32 = 1024

    /// Binds and listens. A unix socket gets mode 0660 (and `group`, if given), so that only its owner and
    /// the web server's group can connect; a stale socket file left by a crash is replaced.
    public init(address: ListenAddress, group: String?) throws(SystemError) {
        self.address = address
        self.removesFileOnClose = true
        self.sockDiag = nil
        switch address {
        case .unix(let path):
            fd = try Self.bindUnix(path: path, group: group)
        case .tcp(let host, let port):
            fd = try Self.bindTCP(host: host, port: port)
        }
    }

    /// Takes over the sockets systemd passed (socket activation: `LISTEN_PID` is this process and `LISTEN_FDS` ≥ 1,
    /// from fd 3 on): the listening socket and, if notes.socket has `ListenNetlink=`, a NETLINK_SOCK_DIAG socket
    /// (`takeSockDiag()`), each found by what it is rather than by its place; returns nil when there are none.
    public init?(inheritedFrom environment: (String) -> String?) throws(SystemError) {
        guard let listenPID = environment("LISTEN_PID").flatMap({ pid_t($0) }), listenPID == getpid(),
              let count = environment("LISTEN_FDS").flatMap({ Int32($0) }), count >= 1 else {
            return nil
        }
        let layout: InheritedLayout
        do {
            layout = try InheritedLayout((3..<3 + count).map { ($0, InheritedDescriptor(of: $0)) })
        } catch {
            throw SystemError("\(error)", code: EINVAL)
        }
        // Neither may reach a worker: fd 0 is its own copy of the listening socket, and netlink is not its business.
        for fd in [layout.listening] + (layout.sockDiag.map { [$0] } ?? []) { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        self.fd = layout.listening
        self.address = Self.localAddress(of: layout.listening)
        self.removesFileOnClose = false
        self.sockDiag = layout.sockDiag
    }

    /// Hands the inherited NETLINK_SOCK_DIAG socket (if any, and only once) to its next owner, who closes it.
    public func takeSockDiag() -> Int32? {
        defer { sockDiag = nil }
        return sockDiag
    }

    deinit {
        close(fd)
        if let sockDiag { close(sockDiag) }
        if removesFileOnClose, case .unix(let path) = address { unlink(path) }
    }

    private static func localAddress(of fd: Int32) -> ListenAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return .unix(path: "(inherited)") }
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw in
                String(decoding: raw.dropFirst(MemoryLayout<sa_family_t>.size).prefix { $0 != 0 }, as: UTF8.self)
            }
            return .unix(path: path)
        case AF_INET, AF_INET6:
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
            let code = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
                }
            }
            guard code == 0 else { return .unix(path: "(inherited)") }
            return .tcp(host: String(cString: host), port: UInt16(String(cString: service)) ?? 0)
        default:
            return .unix(path: "(inherited)")
        }
    }

    private static func bindUnix(path: String, group: String?) throws(SystemError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        var status = stat()
        if lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK {
            unlink(path)
        }
        // The mode is set by umask at bind time; narrowing it closes the window before chmod.
        let previousMask = umask(0o117)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previousMask)
        guard bound == 0 else {
            let error = SystemError("bind \(path)")
            close(fd)
            throw error
        }
        do throws(SystemError) {
            guard chmod(path, 0o660) == 0 else { throw SystemError("chmod \(path)") }
            if let group {
                guard let entry = getgrnam(group) else { throw SystemError("unknown group \(group)", code: ENOENT) }
                guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else { throw SystemError("chown \(path)") }
            }
            guard listen(fd, backlog) == 0 else { throw SystemError("listen \(path)") }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        return fd
    }

    private static func bindTCP(host: String, port: UInt16) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE
        var results: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &results)
        guard code == 0, let first = results else {
            throw SystemError("resolve \(host): \(String(cString: gai_strerror(code)))", code: EINVAL)
        }
        defer { freeaddrinfo(results) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let error = SystemError("bind \(host):\(port)")
            close(fd)
            throw error
        }
        guard listen(fd, backlog) == 0 else {
            let error = SystemError("listen \(host):\(port)")
            close(fd)
            throw error
        }
        return fd
    }
}
