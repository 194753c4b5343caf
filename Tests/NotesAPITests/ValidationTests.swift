import HTTPMessages
import NotesStore
import Testing
@testable import NotesAPI

@Suite struct ValidationTests {
    @Test(arguments: [
        ("1", Int64(1)), ("+7", 7), ("007", 7), (" 7 ", 7), ("7.0", 7), ("1_000", 1000), ("0", 0), ("-5", -5),
        ("9223372036854775807", .max),
    ])
    func readsPathIDsAsPydanticReadsInt(raw: String, expected: Int64) throws {
        #expect(try IntegerParameter.id(raw, location: [.key("path"), .key("note_id")]).get() == expected)
    }

    @Test(arguments: ["9223372036854775808", "-99999999999999999999"])
    func anIDBeyond64BitsNamesNoRow(raw: String) throws {
        #expect(try IntegerParameter.id(raw, location: []).get() == nil)
        #expect(throws: APIError.notFound("Note not found")) {
            try NotesEndpoints.get.inputs(of: HTTPRequest(method: "GET", rawPath: "/notes/\(raw)/"), path: ["note_id": raw])
        }
    }

    @Test(arguments: ["abc", "1.5", "", "1e3", "١", "0x10", "1__0", "_7", "+-7"])
    func refusesPathIDsPydanticCannotRead(raw: String) {
        guard case .failure(let issue) = IntegerParameter.id(raw, location: [.key("path"), .key("note_id")]) else {
            Issue.record("\(raw) accepted")
            return
        }
        #expect(issue.type == "int_parsing")
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

    private func read(_ json: String?, _ entity: Entity = .note, _ fields: RequestBody.Fields = .allRequired) -> (values: [FieldValue], issues: [ValidationIssue], namesNoRow: Bool) {
        var reader = FieldReader(json.map { try! JSONParser.parse(Array($0.utf8)) })
        let values = entity.writableColumns.map { reader.value(of: $0, fields) }
        return (values, reader.issues, reader.namesNoRow)
    }

    private func decode(_ json: String?) -> (text: String?, completed: Bool?, issues: [ValidationIssue]) {
        let (values, issues, _) = read(json)
        guard case .text(let text) = values[0], case .boolean(let completed) = values[1] else { return (nil, nil, issues) }
        return (text, completed, issues)
    }

    @Test func decodesANoteAndIgnoresUnknownFields() {
        let decoded = decode(#"{"text": "a", "completed": true, "extra": [1]}"#)
        #expect(decoded.text == "a" && decoded.completed == true)
        #expect(decoded.issues.isEmpty)
    }

    @Test func reportsEveryFieldProblemAtOnce() {
        let issues = decode(#"{"completed": "maybe"}"#).issues
        #expect(issues.map(\.type) == ["missing", "bool_parsing"])
        #expect(issues.map(\.location) == [[.key("body"), .key("text")], [.key("body"), .key("completed")]])
    }

    @Test(arguments: [#"{"text": 1, "completed": null}"#, #"{"text": null, "completed": []}"#, #"{"text": ["a"], "completed": 0.5}"#])
    func refusesWhatPydanticDoesNotConvert(json: String) {
        #expect(decode(json).issues.map(\.type) == ["string_type", "bool_type"])
    }

    @Test func readsLaxBooleansInBodies() {
        #expect(decode(#"{"text": "a", "completed": "yes"}"#).completed == true)
        #expect(decode(#"{"text": "a", "completed": 0}"#).completed == false)
        #expect(decode(#"{"text": "a", "completed": 1.0}"#).completed == true)
    }

    @Test(arguments: [
        (#"{"text": "a", "completed": NaN}"#, "bool_type", JSONValue.null),
        (#"{"text": Infinity, "completed": true}"#, "string_type", .null),
        (#"{"text": "a", "completed": 1e400}"#, "bool_type", .number("1e400")),
    ])
    func takesNaNAndInfinityToPydantic(json: String, type: String, input: JSONValue) {
        let decoded = decode(json)
        #expect(decoded.issues.map(\.type) == [type])
        #expect(decoded.issues.first?.input == input)
        #expect(decode(#"{"text": "a", "completed": true, "x": [NaN, -Infinity]}"#).issues.isEmpty)
        #expect(read(#"{"title": "a", "content": "b", "author_id": -Infinity}"#, .article).issues.map(\.type) == ["finite_number"])
    }

    @Test func refusesLoneSurrogatesInTextButIgnoresThemElsewhere() {
        let decoded = decode(#"{"text": "a\ud800", "completed": false}"#)
        #expect(decoded.text == nil)
        #expect(decoded.issues.map(\.type) == ["string_unicode"])
        #expect(decoded.issues.first?.input == .loneSurrogateString("a\u{FFFD}"))
        #expect(decode(#"{"text": "a", "completed": "\udc00"}"#).issues.map(\.type) == ["bool_parsing"])
        #expect(decode(#"{"\ud800": 1, "text": "a", "completed": true, "x": "\udc00"}"#).text == "a")
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
        let (values, issues, _) = read(#"{"completed": null}"#, .note, .allOptional)
        #expect(values == [.absent, .absent])
        #expect(issues.map(\.type) == ["bool_type"])
    }

    @Test(arguments: [
        ("7", "7"), ("\"7\"", "7"), ("\" 007 \"", "7"), ("true", "1"), ("1.0", "1"), ("1e3", "1000"), ("70.50e1", "705"),
        ("0", "0"), ("-5", "-5"), ("9223372036854775807", "9223372036854775807"),
        // A double underflows to 0.0, which is whole (found by test_hostile_http.py and fuzz-json-body).
        ("1e-99999999999999999999", "0"), ("1e-9223372036854775808", "0"),
    ])
    func readsBodyIDsAsPydanticReadsInt(json: String, expected: String) {
        let (values, issues, namesNoRow) = read("{\"title\": \"t\", \"content\": \"c\", \"author_id\": \(json)}", .article)
        #expect(issues.isEmpty && !namesNoRow)
        #expect(values.last == .integer(Int64(expected)!))
    }

    @Test(arguments: [
        ("null", "int_type"), ("[7]", "int_type"), ("\"seven\"", "int_parsing"), ("\"1e3\"", "int_parsing"), ("1.5", "int_from_float"),
        ("15e-1", "int_from_float"), ("1e20", "int_parsing_size"), ("9223372036854775807.0", "int_parsing_size"),
        ("1e+99999999999999999999", "finite_number"), ("-1e400", "finite_number"),
    ])
    func refusesBodyIDsPydanticRefuses(json: String, type: String) {
        let (_, issues, _) = read("{\"title\": \"t\", \"content\": \"c\", \"author_id\": \(json)}", .article)
        #expect(issues.map(\.type) == [type])
        #expect(issues.first?.location == [.key("body"), .key("author_id")])
    }

    @Test func aBodyIDBeyond64BitsNamesNoRow() {
        let (_, issues, namesNoRow) = read(#"{"title": "t", "content": "c", "author_id": 9223372036854775808}"#, .article)
        #expect(issues.isEmpty && namesNoRow)
    }

    @Test(arguments: [
        ("application/json", true), ("Application/JSON; charset=utf-8", true), ("application/merge-patch+json", true),
        ("text/plain", false), ("application/jsonx", false), ("", false), ("multipart/form-data; boundary=x", false),
    ])
    func recognisesJSONMediaTypes(contentType: String, isJSON: Bool) {
        #expect(JSONBody.isJSON(contentType) == isJSON)
    }

    private func parse(_ body: String, contentType: String?) -> Result<JSONValue?, APIError> {
        let request = HTTPRequest(method: "POST", rawPath: "/", contentType: contentType, body: Array(body.utf8))
        return Result { () throws(APIError) in try JSONBody.parse(request) }
    }

    @Test func aBodyThatIsNotJSONIsItsTextAndAnEmptyOneIsNothing() throws {
        #expect(try parse(#"{"a":1}"#, contentType: nil).get() == .string(#"{"a":1}"#))
        #expect(try parse("text=a", contentType: "application/x-www-form-urlencoded").get() == .string("text=a"))
        #expect(try parse("", contentType: "application/json").get() == nil)
        #expect(try parse("", contentType: nil).get() == nil)
        #expect(try parse("\u{FEFF}{}", contentType: "application/json").get() == .object([:]))
    }

    @Test func reportsJSONErrorsAtCharacterPositions() {
        guard case .failure(.validation(let issues)) = parse(#"{"text":"é😀",}"#, contentType: "application/json") else {
            Issue.record("invalid JSON accepted")
            return
        }
        #expect(issues.first?.type == "json_invalid")
        #expect(issues.first?.location == [.key("body"), .index(13)])
    }

    private func parse(_ body: [UInt8]) -> Result<JSONValue?, APIError> {
        let request = HTTPRequest(method: "POST", rawPath: "/", contentType: "application/json", body: body)
        return Result { () throws(APIError) in try JSONBody.parse(request) }
    }

    @Test func aBodyPythonCannotDecodeIsA400() {
        #expect(parse([0x7B, 0xFF, 0x7D]) == .failure(.unreadableBody))
        let tooDeep = JSONParser.defaultMaxDepth + 1
        #expect(parse(Array((String(repeating: "[", count: tooDeep) + String(repeating: "]", count: tooDeep)).utf8)) == .failure(.unreadableBody))
        // Python's int() refuses over 4,300 digits: a ValueError, FastAPI's 400 (F8).
        #expect(parse(Array(("{\"x\":" + String(repeating: "7", count: Lax.maxIntegerDigits + 1) + "}").utf8)) == .failure(.unreadableBody))
        // UTF-16 with an odd byte count does not decode.
        #expect(parse(Array(#"{"a":1}"#.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }.dropLast()) == .failure(.unreadableBody))
    }

    @Test func readsSurrogatesPythonsDecoderLetsThrough() throws {
        // UTF-8 with an encoded surrogate, and UTF-16 with a lone surrogate unit, in an ignored field.
        let utf8 = Array(#"{"text":"a","completed":true,"x":""#.utf8) + [0xED, 0xB0, 0x80] + Array(#""}"#.utf8)
        let utf16 = Array(#"{"text":"a","completed":true,"x":""#.utf16) + [0xD800] + Array(#""}"#.utf16)
        for body in [utf8, utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }] {
            var reader = FieldReader(try parse(body).get())
            for column in Entity.note.writableColumns { _ = reader.value(of: column, .allRequired) }
            #expect(reader.issues.isEmpty)
        }
        // Anything else that is not UTF-8 is still the 400, a syntax error or not.
        #expect(parse(Array(#"{"x":""#.utf8) + [0xED, 0xA0] + Array(#""}"#.utf8)) == .failure(.unreadableBody))
        #expect(parse([0x7B, 0xED, 0xA0, 0x80, 0x7D, 0xFF]) == .failure(.unreadableBody))
    }

    @Test func readsAsDeepAsPythonDoesBehindUvicorn() throws {
        // 100 levels are a 422 model_attributes_type in FastAPI, not the 400.
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        guard case .success(.array?) = parse(Array(deep.utf8)) else {
            Issue.record("100 levels refused")
            return
        }
    }

    @Test(arguments: [
        ([0xFF, 0xFE], false, 2), ([0xFE, 0xFF], true, 2), ([], false, 2), ([], true, 2),
        ([0xFF, 0xFE, 0x00, 0x00], false, 4), ([0x00, 0x00, 0xFE, 0xFF], true, 4), ([], false, 4), ([], true, 4),
    ] as [([UInt8], Bool, Int)])
    func readsUTF16AndUTF32AsPythonDetectsThem(bom: [UInt8], bigEndian: Bool, width: Int) throws {
        let json = #"{"text":"é😀","completed":true}"#
        let units: [UInt32] = width == 2 ? json.utf16.map { UInt32($0) } : json.unicodeScalars.map(\.value)
        let bytes = bom + units.flatMap { unit in
            let little = (0..<width).map { UInt8(truncatingIfNeeded: unit >> (8 * $0)) }
            return bigEndian ? little.reversed() : little
        }
        #expect(try parse(bytes).get() == .object(["text": .string("é😀"), "completed": .bool(true)]))
        // Errors count characters of the decoded text, after the mark.
        let broken = bom + Array(#"{"a":1,}"#.utf16).flatMap { unit -> [UInt8] in
            let little = (0..<width).map { UInt8(truncatingIfNeeded: UInt32(unit) >> (8 * $0)) }
            return bigEndian ? little.reversed() : little
        }
        guard case .failure(.validation(let issues)) = parse(broken) else {
            Issue.record("broken UTF-\(width * 8) JSON accepted")
            return
        }
        #expect(issues.first?.location == [.key("body"), .index(7)])
    }
}
