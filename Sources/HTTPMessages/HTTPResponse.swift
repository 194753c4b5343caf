/// An HTTP response: status, headers and a body that is already encoded; or, for a response made while it is
/// written, the `producer` that writes it.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When set, the server calls it instead of writing `status`, `headers` and `body`.
    public var producer: ResponseProducer?

    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response; `json` must already be valid JSON text.
    public static func json(_ status: HTTPStatus, _ json: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: json)
    }

    /// A response written by `producer` as it is made (a whole collection, row by row).
    public static func produced(by producer: ResponseProducer) -> HTTPResponse {
        var response = HTTPResponse(status: .ok)
        response.producer = producer
        return response
    }

    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Where a produced response goes: its head once, then its body piece by piece, each piece sent on while the
/// next is made, so the server never holds the whole body.
public protocol ResponseWriter: AnyObject {
    /// Without a length: the body ends when the producer returns. False when the peer is gone.
    func writeHead(_ status: HTTPStatus, headers: [(name: String, value: String)]) -> Bool
    /// False when the peer is gone: nothing more arrives.
    func writeBody(_ bytes: [UInt8]) -> Bool
}

/// Writes a response through a `ResponseWriter`; returns false when the response broke off after its head
/// (the body is incomplete), and the server must then end the exchange without completing it.
public struct ResponseProducer: @unchecked Sendable {
    // Unchecked: a worker makes and writes its responses on its one thread.
    public let produce: (ResponseWriter) -> Bool

    public init(_ produce: @escaping (ResponseWriter) -> Bool) {
        self.produce = produce
    }
}

extension ResponseWriter {
    /// A whole response, with its length.
    public func write(_ response: HTTPResponse) -> Bool {
        writeHead(response.status, headers: response.headers + [("Content-Length", String(response.body.count))])
            && writeBody(response.body)
    }
}
