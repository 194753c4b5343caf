import HTTPMessages
import Testing
@testable import NotesAPI

@Suite struct ValidationTests {
    @Test(arguments: [("1", Int64(1)), ("+7", 7), ("007", 7), ("9223372036854775807", .max)])
    func acceptsPositiveIDs(raw: String, expected: Int64) throws {
        #expect(try IntegerParameter.positiveID(raw, name: "note_id").get() == expected)
    }

    @Test(arguments: [
        ("abc", "int_parsing"), ("1.0", "int_parsing"), ("", "int_parsing"), (" 1", "int_parsing"), ("١", "int_parsing"),
        ("0", "greater_than"), ("-1", "greater_than"), ("-99999999999999999999", "greater_than"),
        ("9223372036854775808", "less_than_equal"),
    ])
    func refusesOtherIDs(raw: String, type: String) {
        guard case .failure(let issue) = IntegerParameter.positiveID(raw, name: "note_id") else {
            Issue.record("\(raw) accepted")
            return
        }
        #expect(issue.type == type)
        #expect(issue.location == [.key("path"), .key("note_id")])
        #expect(issue.input == .string(raw))
    }

    @Test func pagingDefaultsAndBounds() throws {
        func page(_ query: String) throws(APIError) -> (Int64, Int64) {
            let inputs = try NotesEndpoints.list.inputs(of: HTTPRequest(method: "GET", rawPath: "/notes/", rawQuery: query), path: [:])
            return (inputs.integer(Paging.skip), inputs.integer(Paging.take))
        }
        #expect(try page("") == (0, 20))
        #expect(try page("skip=5&take=100") == (5, 100))
        #expect(try page("take=1&take=3") == (0, 3))
        #expect(throws: APIError.self) { try page("take=0") }
        #expect(throws: APIError.self) { try page("take=101") }
        #expect(throws: APIError.self) { try page("skip=-1") }
        do {
            _ = try page("skip=x&take=y")
            Issue.record("accepted")
        } catch {
            guard case .validation(let issues) = error else { return }
            #expect(issues.map(\.location) == [[.key("query"), .key("skip")], [.key("query"), .key("take")]])
        }
    }

    @Test(arguments: [("true", true), ("FALSE", false), ("1", true), ("0", false), ("yes", true), ("off", false)])
    func readsQueryBooleansAsPydanticDoes(raw: String, expected: Bool) throws {
        #expect(try NotesEndpoints.completed.value(raw).get() == .boolean(expected))
    }

    @Test func refusesOtherQueryBooleans() {
        guard case .failure(let issue) = NotesEndpoints.completed.value("maybe") else {
            Issue.record("maybe accepted")
            return
        }
        #expect(issue.type == "bool_parsing")
        #expect(issue.location == [.key("query"), .key("completed")])
    }

    private func decode(_ json: String?) -> (text: String?, completed: Bool?, issues: [ValidationIssue]) {
        var reader = FieldReader(json.map { try! JSONParser.parse(Array($0.utf8)) })
        let text = reader.string("text")
        let completed = reader.bool("completed")
        return (text, completed, reader.issues)
    }

    @Test func decodesANoteAndIgnoresUnknownFields() {
        let decoded = decode(#"{"text": "a", "completed": true, "extra": [1]}"#)
        #expect(decoded.text == "a" && decoded.completed == true)
        #expect(decoded.issues.isEmpty)
    }

    @Test func reportsEveryFieldProblemAtOnce() {
        let issues = decode(#"{"completed": "true"}"#).issues
        #expect(issues.map(\.type) == ["missing", "bool_type"])
        #expect(issues.map(\.location) == [[.key("body"), .key("text")], [.key("body"), .key("completed")]])
    }

    @Test(arguments: [#"{"text": 1, "completed": 1}"#, #"{"text": null, "completed": null}"#, #"{"text": ["a"], "completed": "false"}"#])
    func isStrictAboutTypes(json: String) {
        #expect(decode(json).issues.map(\.type) == ["string_type", "bool_type"])
    }

    @Test func refusesNUL() {
        let decoded = decode(#"{"text": "a\u0000b", "completed": false}"#)
        #expect(decoded.text == nil)
        #expect(decoded.issues.map(\.type) == ["value_error"])
    }

    @Test func reportsMissingAndNonObjectBodies() {
        #expect(decode(nil).issues.map(\.type) == ["missing"])
        #expect(decode(nil).issues.first?.location == [.key("body")])
        #expect(decode("[1]").issues.map(\.type) == ["model_attributes_type"])
    }

    @Test func optionalFieldsMayBeLeftOutButNotNull() {
        var reader = FieldReader(try! JSONParser.parse(Array(#"{"completed": null}"#.utf8)))
        #expect(reader.optionalString("text") == nil)
        #expect(reader.optionalBool("completed") == nil)
        #expect(reader.issues.map(\.type) == ["bool_type"])
    }

    @Test(arguments: [
        ("7", nil), ("9223372036854775807", nil), ("\"7\"", "int_type"), ("null", "int_type"), ("1.0", nil),
        ("1e3", nil), ("70.50e1", nil), ("1.5", "int_from_float"), ("15e-1", "int_from_float"), ("0.0", "greater_than"),
        ("1e400", "less_than_equal"), ("-1e400", "greater_than"), ("0", "greater_than"), ("-5", "greater_than"),
        ("9223372036854775808", "less_than_equal"),
        // Exponents beyond Int keep their sign (found by test_hostile_http.py).
        ("1e-99999999999999999999", "int_from_float"), ("0e-99999999999999999999", "greater_than"),
        ("1e+99999999999999999999", "less_than_equal"),
        // Found by fuzz-json-body: negating Int.min trapped and killed the worker.
        ("1e-9223372036854775808", "int_from_float"), ("1.5e-9223372036854775808", "int_from_float"),
    ] as [(String, String?)])
    func readsBodyIDsStrictly(json: String, issue: String?) {
        var reader = FieldReader(try! JSONParser.parse(Array("{\"author_id\": \(json)}".utf8)))
        let id = reader.id("author_id")
        #expect(reader.issues.map(\.type) == (issue.map { [$0] } ?? []))
        #expect((id != nil) == (issue == nil))
        #expect(reader.issues.first.map { $0.location == [.key("body"), .key("author_id")] } ?? true)
    }

    @Test(arguments: [
        ("application/json", true), ("Application/JSON; charset=utf-8", true), ("application/merge-patch+json", true),
        ("text/plain", false), ("application/jsonx", false), ("", false), ("multipart/form-data; boundary=x", false),
    ])
    func recognisesJSONMediaTypes(contentType: String, isJSON: Bool) {
        #expect(JSONBody.isJSON(contentType) == isJSON)
    }

    @Test func checksMediaTypeThenSyntax() {
        func error(_ request: HTTPRequest) -> APIError? {
            do {
                _ = try JSONBody.parse(request)
                return nil
            } catch {
                return error
            }
        }
        #expect(error(HTTPRequest(method: "POST", rawPath: "/", contentType: nil, body: Array("{}".utf8))) == .unsupportedMediaType)
        guard case .validation(let issues) = error(HTTPRequest(method: "POST", rawPath: "/", contentType: "application/json", body: Array("{".utf8))) else {
            Issue.record("invalid JSON accepted")
            return
        }
        #expect(issues.first?.type == "json_invalid")
        #expect(issues.first?.location == [.key("body"), .index(1)])
    }
}
