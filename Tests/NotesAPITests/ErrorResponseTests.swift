import SystemSupport
import HTTPMessages
import Testing
@testable import NotesAPI
import JSONOutput

@Suite struct ErrorResponseTests {
    private func body(_ response: HTTPResponse) -> String {
        String(decoding: response.body, as: UTF8.self)
    }

    @Test func mapsEachErrorToItsStatusAndFastAPIBody() {
        let cases: [(APIError, Int, String)] = [
            (.badRequest("Invalid Content-Length"), 400, #"{"detail":"Invalid Content-Length"}"#),
            (.notFound("Note not found"), 404, #"{"detail":"Note not found"}"#),
            (.methodNotAllowed(allowed: ["GET", "POST"]), 405, #"{"detail":"Method Not Allowed"}"#),
            (.contentTooLarge, 413, #"{"detail":"Request body too large"}"#),
            (.unreadableBody, 400, #"{"detail":"There was an error parsing the body"}"#),
        ]
        for (error, status, json) in cases {
            let response = ErrorResponses.response(for: error)
            #expect(response.status.code == status)
            #expect(body(response) == json)
            #expect(response.header("Content-Type") == "application/json")
        }
        #expect(ErrorResponses.response(for: .methodNotAllowed(allowed: ["GET", "POST"])).header("Allow") == "GET, POST")
    }

    @Test func refusesAnUnusableBodyBeforeRouting() {
        #expect(NotesApplication.error(for: .tooLarge) == .contentTooLarge)
        #expect(NotesApplication.error(for: .invalidLength) == .badRequest("Invalid Content-Length"))
        #expect(NotesApplication.error(for: .incomplete) == .badRequest("Incomplete request body"))
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

@Suite struct StatusFormattingTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (1_795_321_573_239_944, "2026-11-22T04:26:13.239944Z"),
        (951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
    ])
    func formatsRFC3339(microseconds: Int64, expected: String) {
        #expect(rfc3339(unixMicroseconds: microseconds) == expected)
    }

    @Test func writesMillisecondsWithThreeDecimals() {
        var writer = JSONWriter()
        writer.milliseconds(0.0012345)
        writer.milliseconds(2.5)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "1.2352500.000")
    }
}
