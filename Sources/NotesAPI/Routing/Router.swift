import HTTPMessages

/// Path parameters of a matched route, percent-decoded, by name.
public typealias PathParameters = [String: String]

/// Matches a request to a target (an endpoint) by path pattern and method. Patterns are written as
/// `/notes/{note_id}`; a request path matches with or without a trailing slash. The table is built once.
public struct Router<Target: Sendable>: Sendable {
    public enum Match {
        case found(Target, PathParameters)
        /// The path exists but not for this method; `allowed` is for the `Allow` header.
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    private struct Route: Sendable {
        let segments: [Segment]
        var handlers: [(method: String, target: Target)]
    }

    private enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
    }

    private var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, _ target: Target) {
        let segments = Self.split(pattern).map { part -> Segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        if let index = routes.firstIndex(where: { $0.segments == segments }) {
            routes[index].handlers.append((method, target))
        } else {
            routes.append(Route(segments: segments, handlers: [(method, target)]))
        }
    }

    /// The method and path pattern of every route, for documentation and tests.
    public var endpoints: [(method: String, pattern: String)] {
        routes.flatMap { route in
            let pattern = "/" + route.segments.map {
                switch $0 {
                case .literal(let text): text
                case .parameter(let name): "{\(name)}"
                }
            }.joined(separator: "/")
            return route.handlers.map { ($0.method, pattern) }
        }
    }

    public func match(method: String, rawPath: String) -> Match {
        guard rawPath.utf8.first == UInt8(ascii: "/") else { return .notFound }
        // Decoded before it is split, as Starlette routes the decoded path: %2F is a '/' there too.
        let parts = Self.split(percentDecoded(rawPath)).map { String($0) }
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: parts) else { continue }
            guard let target = route.handlers.first(where: { $0.method == method })?.target else {
                return .methodNotAllowed(allowed: route.handlers.map { $0.method })
            }
            return .found(target, parameters)
        }
        return .notFound
    }

    /// `/notes/1/` → ["notes", "1"]. One trailing slash is optional; any other empty segment stays and
    /// matches nothing, so `//notes` is not `/notes`. Works on UTF-8 bytes: '/' is ASCII, and splitting by
    /// Character would segment grapheme clusters on every request for nothing.
    private static func split(_ path: String) -> [Substring] {
        var body = path.utf8.dropFirst()
        if body.last == UInt8(ascii: "/") { body = body.dropLast() }
        guard !body.isEmpty else { return [] }
        return body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map { Substring($0) }
    }

    private static func bind(_ segments: [Segment], to parts: [String]) -> PathParameters? {
        guard segments.count == parts.count else { return nil }
        var parameters: PathParameters = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): guard text == part else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                parameters[name] = part
            }
        }
        return parameters
    }
}
