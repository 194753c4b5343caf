#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// systemd's readiness protocol (sd_notify) spoken directly: one datagram per message to the unix socket named
/// by NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. Without NOTIFY_SOCKET nothing is sent.
final class SystemdNotifier {
    private let fd: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t

    init?(socketPath: String?) {
        guard let socketPath, !socketPath.isEmpty, socketPath.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            return nil
        }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(socketPath.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        // An abstract name is exactly as long as given; a path is NUL-terminated.
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (bytes.first == 0 ? 0 : 1))
    }

    deinit {
        close(fd)
    }

    /// Sends `KEY=VALUE` lines as one datagram. Failures are ignored: systemd going away must not stop the service.
    func send(_ lines: String...) {
        send(lines)
    }

    func send(_ lines: [String]) {
        let message = Array(lines.joined(separator: "\n").utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), $0, addressLength)
            }
        }
    }
}
