import HTTPMessages
import Testing
@testable import NotesAPI

@Suite struct ErrorResponseTests {
    private func body(_ response: HTTPResponse) -> String {
        String(decoding: response.body, as: UTF8.self)
    }

    @Test func mapsEachErrorToItsStatusAndFastAPIBody() {
        let cases: [(APIError, Int, String)] = [
            (.notFound("Note not found"), 404, #"{"detail":"Note not found"}"#),
            (.methodNotAllowed(allowed: ["GET", "POST"]), 405, #"{"detail":"Method Not Allowed"}"#),
            (.contentTooLarge, 413, #"{"detail":"Request body too large"}"#),
            (.unsupportedMediaType, 415, #"{"detail":"Unsupported Media Type"}"#),
        ]
        for (error, status, json) in cases {
            let response = ErrorResponses.response(for: error)
            #expect(response.status.code == status)
            #expect(body(response) == json)
            #expect(response.header("Content-Type") == "application/json")
        }
        #expect(ErrorResponses.response(for: .methodNotAllowed(allowed: ["GET", "POST"])).header("Allow") == "GET, POST")
    }

    @Test func writesValidationIssuesInPydanticShape() {
        let issue = ValidationIssue(
            type: "greater_than_equal", location: [.key("query"), .key("skip")],
            message: "Input should be greater than or equal to 0", input: .string("-1"), context: ["ge": .number("0")])
        let response = ErrorResponses.response(for: .validation([issue]))
        #expect(response.status.code == 422)
        #expect(body(response)
            == #"{"detail":[{"type":"greater_than_equal","loc":["query","skip"],"msg":"Input should be greater than or equal to 0","input":"-1","ctx":{"ge":0}}]}"#)
    }
}
