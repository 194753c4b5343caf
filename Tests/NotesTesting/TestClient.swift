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
        requestID: String? = nil
    ) -> TestResponse {
        batch([request(method, uri, json: json, contentType: contentType, bodyProblem: bodyProblem, requestID: requestID)])[0]
    }

    public func request(
        _ method: String, _ uri: String, json: String? = nil, contentType: String? = nil, bodyProblem: BodyProblem? = nil,
        requestID: String? = nil
    ) -> HTTPRequest {
        HTTPRequest(
            method: method, requestURI: uri, contentType: contentType ?? (json == nil ? nil : "application/json"),
            body: Array((json ?? "").utf8), bodyProblem: bodyProblem, requestID: requestID)
    }

    /// Requests that arrived together, answered as one batch.
    public func batch(_ requests: [HTTPRequest]) -> [TestResponse] {
        application.respond(to: requests).map(TestResponse.init)
    }
}

/// A response with what tests look at.
public struct TestResponse {
    public let response: HTTPResponse

    public var status: Int { response.status.code }
    public var body: String { String(decoding: response.body, as: UTF8.self) }

    public func header(_ name: String) -> String? { response.header(name) }
}
