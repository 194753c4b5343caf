import FastCGIResponder
import HTTPMessages
import JSONOutput
import PoolStatus
import Scoreboard

/// `/status` and `/livez` answered by the supervisor itself, on a listener of its own that nginx routes them to,
/// as PHP-FPM's master answers `pm.status_listen`: it reads the scoreboard, so it answers when every worker is
/// busy, stopped or gone. The supervisor's loop calls `answerWaiting` when the listener is readable.
public final class StatusService {
    private let responder: FastCGIResponder
    private let scoreboard: Scoreboard

    /// Short deadlines: a silent peer holds the supervisor's loop, and with it the watchdog, that long at most.
    public init(listenFD: Int32, scoreboard: Scoreboard) throws(FastCGIError) {
        responder = try FastCGIResponder(listenFD: listenFD, maxBodyBytes: 0, headTimeoutSeconds: 1, bodyTimeoutSeconds: 1)
        self.scoreboard = scoreboard
    }

    public func answerWaiting() {
        try? responder.answerWaiting { respond(to: $0) }
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        let page = StatusRequest(request)
        switch page {
        case .notFound:
            return .json(.notFound, Array(#"{"detail":"Not Found"}"#.utf8))
        case .methodNotAllowed:
            return .json(.methodNotAllowed, Array(#"{"detail":"Method Not Allowed"}"#.utf8), headers: [("Allow", "GET")])
        case .live:
            return .json(.ok, Array(#"{"status":"ok"}"#.utf8))
        case .badFormat(let value):
            var writer = JSONWriter(capacity: 256)
            writer.object { writer, member in
                member(&writer, "detail")
                writer.array([value]) { writer, value in
                    writer.object { writer, member in
                        member(&writer, "type")
                        writer.string("enum")
                        member(&writer, "loc")
                        writer.array(["query", "format"]) { $0.string($1) }
                        member(&writer, "msg")
                        writer.string("Input should be \(StatusRequest.expected)")
                        member(&writer, "input")
                        writer.string(value)
                        member(&writer, "ctx")
                        writer.object { writer, member in
                            member(&writer, "expected")
                            writer.string(StatusRequest.expected)
                        }
                    }
                }
            }
            return .json(.unprocessableContent, writer.bytes)
        case .status(let prometheus):
            let names = scoreboard.metricLabels ?? (routes: [], statuses: [])
            let snapshot = PoolSnapshot(scoreboard, labels: MetricLabels(routes: names.routes, statuses: names.statuses))
            if prometheus {
                return HTTPResponse(
                    status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(snapshot.prometheusText.utf8))
            }
            return .json(.ok, snapshot.json)
        }
    }
}

/// What a request to the status listener asks for, read as the workers' router reads `/status` (percent-decoded
/// path with or without its trailing slash; `format`'s last value, `json` by default).
enum StatusRequest: Equatable {
    case status(prometheus: Bool)
    case live
    case badFormat(String)
    case notFound
    case methodNotAllowed

    static let expected = "'json' or 'prometheus'"

    init(_ request: HTTPRequest) {
        var path = percentDecoded(request.rawPath)
        if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        guard path == "/status" || path == "/livez" else {
            self = .notFound
            return
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            self = .methodNotAllowed
            return
        }
        if path == "/livez" {
            self = .live
            return
        }
        switch queryItems(request.rawQuery).last(where: { $0.name == "format" })?.value {
        case nil, "json": self = .status(prometheus: false)
        case "prometheus": self = .status(prometheus: true)
        case let other?: self = .badFormat(other)
        }
    }
}
