/// Where the FastCGI socket listens: `unix:/path/to.sock` or `host:port` (`[::1]:9000` for IPv6). A port
/// alone (`9000` or `:9000`) listens on loopback: the FastCGI socket is for nginx on the same host unless
/// another address is named on purpose (then restrict peers with `--allow-from`).
public enum ListenAddress: Equatable, Sendable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: UInt16)

    public init?(parsing text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard path.hasPrefix("/"), path.utf8.count < 108 else { return nil }
            self = .unix(path: path)
            return
        }
        if let port = UInt16(text), port > 0 {
            self = .tcp(host: Self.loopback, port: port)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]), port > 0 else {
            return nil
        }
        var host = colon == text.startIndex ? Self.loopback : String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self = .tcp(host: host, port: port)
    }

    static let loopback = "127.0.0.1"

    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
