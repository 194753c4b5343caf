import HTTPMessages
import Logging
import NotesAPI
import NotesStore
import Scoreboard

/// Sends requests to a `NotesApplication` in the process, as the worker would hand them over, against a
/// fake statement runner (in the manner of HummingbirdTesting's client).
public struct TestClient {
    public let runner: FakeStatementRunner
    public let application: NotesApplication

    /// - Parameter scoreboard: the pool's, as a worker under the supervisor has one; nil as under spawn-fcgi.
    public init(runner: FakeStatementRunner = FakeStatementRunner(), scoreboard: Scoreboard? = nil) {
        self.runner = runner
        var logger = Logger(label: "notes-test")
        logger.logLevel = .critical
        application = NotesApplication(runner: runner, scoreboard: scoreboard, logger: logger)
    }

    /// One request; `json` is sent as the body with `Content-Type: application/json` unless `contentType` says otherwise.
    public func execute(
        _ method: String, _ uri: String, json: String? = nil, contentType: String? = nil, bodyProblem: BodyProblem? = nil,
        requestID: String? = nil, ifMatch: String? = nil, ifNoneMatch: String? = nil
    ) -> TestResponse {
        batch([
            request(
                method, uri, json: json, contentType: contentType, bodyProblem: bodyProblem, requestID: requestID, ifMatch: ifMatch,
                ifNoneMatch: ifNoneMatch)
        ])[0]
    }

    public func request(
        _ method: String, _ uri: String, json: String? = nil, contentType: String? = nil, bodyProblem: BodyProblem? = nil,
        requestID: String? = nil, ifMatch: String? = nil, ifNoneMatch: String? = nil
    ) -> HTTPRequest {
        HTTPRequest(
            method: method, requestURI: uri, contentType: contentType ?? (json == nil ? nil : "application/json"),
            body: Array((json ?? "").utf8), bodyProblem: bodyProblem, requestID: requestID, ifMatch: ifMatch,
            ifNoneMatch: ifNoneMatch)
    }

    /// Requests that arrived together, answered as one batch.
    public func batch(_ requests: [HTTPRequest]) -> [TestResponse] {
        application.respond(to: requests).map(TestResponse.init)
    }
}

/// A response with what tests look at; a produced one is written out first, as the worker would write it.
public struct TestResponse {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let bytes: [UInt8]
    /// A produced response that broke off after its head: the worker ends the exchange without completing it.
    public let brokeOff: Bool
    /// Whether the response was produced while it was written.
    public let produced: Bool

    init(_ response: HTTPResponse) {
        guard let producer = response.producer else {
            status = response.status.code
            headers = response.headers
            bytes = response.body
            brokeOff = false
            produced = false
            return
        }
        let writer = CapturingWriter()
        brokeOff = !producer.produce(writer)
        status = writer.status?.code ?? 0
        headers = writer.headers
        bytes = writer.body
        produced = true
    }

    public var body: String { String(decoding: bytes, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// Keeps what a produced response writes, and how many pieces its body came in.
public final class CapturingWriter: ResponseWriter {
    public private(set) var status: HTTPStatus?
    public private(set) var headers: [(name: String, value: String)] = []
    public private(set) var body: [UInt8] = []
    public private(set) var pieces = 0

    public init() {}

    public func writeHead(_ status: HTTPStatus, headers: [(name: String, value: String)]) -> Bool {
        precondition(self.status == nil, "a second head")
        self.status = status
        self.headers = headers
        return true
    }

    public func writeBody(_ bytes: [UInt8]) -> Bool {
        precondition(status != nil, "a body before the head")
        body += bytes
        pieces += 1
        return true
    }
}
