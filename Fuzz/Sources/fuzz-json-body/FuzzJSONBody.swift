// fuzz-json-body: a request body through what the endpoints run on it — JSONBody.parse (the 422
// json_invalid with its character offset, the 400 for what Python cannot decode), then the FieldReader of
// POST/PUT/PATCH /notes, POST /authors and POST /articles — checked against a reference written here from
// pydantic's lax rules (README), and the 422 body written for the issues, which must itself be valid JSON
// listing every issue.

import FuzzSupport
import HTTPMessages
@testable import NotesAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let body = fuzzInput(data, size)
    let request = HTTPRequest(method: "POST", rawPath: "/notes/", contentType: "application/json", body: body)
    let parsed: JSONValue?
    do {
        parsed = try JSONBody.parse(request)
    } catch {
        if error == .unreadableBody { return 0 }
        guard case .validation(let issues) = error, issues.count == 1, issues[0].type == "json_invalid",
              issues[0].location.count == 2, case .index(let offset) = issues[0].location[1]
        else {
            require(false, "a body that does not parse must give one json_invalid issue, got \(error)")
            return 0
        }
        require((0...body.count).contains(offset), "json_invalid offset \(offset) outside 0...\(body.count)")
        checkResponse(issues)
        return 0
    }
    require((parsed == nil) == body.isEmpty, "JSONBody.parse returns nil exactly for an empty body")

    // POST /notes/ and PUT /notes/{id}/: text and completed required.
    let note: [Field] = [Field("text", .string), Field("completed", .bool)]
    check(parsed, NotesEndpoints.create.body!, note)
    // PUT with a bad id: the path's issue comes first, the body's follow (Endpoint.inputs).
    let badID = ValidationIssue(type: "int_parsing", location: [.key("path"), .key("note_id")], message: "", input: .string("x"))
    var put = FieldReader(parsed, issues: [badID])
    for column in NotesEndpoints.replace.body!.entity.writableColumns { _ = put.value(of: column, .allRequired) }
    require(put.issues.first == badID && put.issues.count == 1 + expectedIssues(parsed, note).count,
            "PUT with a bad id: the path issue first, then the body's")
    checkResponse(put.issues)
    // PATCH /notes/{id}/: both optional.
    check(parsed, NotesEndpoints.patch.body!, [Field("text", .string, required: false), Field("completed", .bool, required: false)])
    // POST /authors.
    check(parsed, AuthorEndpoints.create.body!, [Field("first_name", .string), Field("last_name", .string)])
    // POST /articles.
    check(parsed, ArticleEndpoints.create.body!, [Field("title", .string), Field("content", .string), Field("author_id", .id)])
    return 0
}

struct Field {
    enum Kind { case string, bool, id }
    let name: String
    let kind: Kind
    let required: Bool

    init(_ name: String, _ kind: Kind, required: Bool = true) {
        self.name = name
        self.kind = kind
        self.required = required
    }
}

/// Reads an entity's writable columns as its endpoint does. Checks: it goes on exactly when the reference
/// finds nothing wrong, the issues are the reference's (same types and locations, in order), each input is
/// the field's value as Python echoes it, and their 422 body is valid JSON.
func check(_ body: JSONValue?, _ declared: RequestBody, _ expectedFields: [Field]) {
    var reader = FieldReader(body)
    let values = declared.entity.writableColumns.map { reader.value(of: $0, declared.fields) }
    let expected = expectedIssues(body, expectedFields)
    let got = reader.issues.map { Issue(type: $0.type, location: $0.location) }
    require(got == expected, "fields \(expectedFields.map(\.name)): issues \(got), expected \(expected)")
    if expected.isEmpty, declared.fields == .allRequired {
        require(!values.contains(.absent) || reader.namesNoRow, "a valid body left a required field absent")
    }
    for issue in reader.issues where issue.type != "missing" {
        if case .object(let object)? = body, issue.location.count == 2, case .key(let name) = issue.location[1] {
            require(last(object, name).map { identical($0.pythonEcho, issue.input) } ?? false, "input of \(issue.type) for \(name)")
        }
    }
    checkResponse(reader.issues)
}

struct Issue: Equatable, CustomStringConvertible {
    let type: String
    let location: [ValidationIssue.Location]
    var description: String { "\(type)@\(location)" }
}

/// The issues FastAPI would list for this body and these fields, from the README's table.
func expectedIssues(_ body: JSONValue?, _ fields: [Field]) -> [Issue] {
    guard let body else { return [Issue(type: "missing", location: [.key("body")])] }
    guard case .object(let object) = body else { return [Issue(type: "model_attributes_type", location: [.key("body")])] }
    var issues: [Issue] = []
    for field in fields {
        let location: [ValidationIssue.Location] = [.key("body"), .key(field.name)]
        guard let value = last(object, field.name) else {
            if field.required { issues.append(Issue(type: "missing", location: location)) }
            continue
        }
        switch (field.kind, value) {
        case (.string, .string(let text)):
            if text.utf8.contains(0) { issues.append(Issue(type: "value_error", location: location)) }
        case (.string, .loneSurrogateString):
            issues.append(Issue(type: "string_unicode", location: location))
        case (.string, _):
            issues.append(Issue(type: "string_type", location: location))
        case (.bool, _):
            if let type = referenceBoolIssue(value) { issues.append(Issue(type: type, location: location)) }
        case (.id, _):
            if let type = referenceIntIssue(value) { issues.append(Issue(type: type, location: location)) }
        }
    }
    return issues
}

/// pydantic's lax bool, restated: booleans; the words of its table in any ASCII case and "0"/"1"; an integer
/// within 64 bits must be 0 or 1; a float must be whole and within 64 bits, then 0 or 1.
func referenceBoolIssue(_ value: JSONValue) -> String? {
    switch value {
    case .bool:
        return nil
    case .string(let text), .loneSurrogateString(let text):
        let words: Set<String> = ["t", "f", "y", "n", "on", "off", "yes", "no", "true", "false"]
        let lowered = String(decoding: text.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
        return text == "0" || text == "1" || words.contains(lowered) ? nil : "bool_parsing"
    case .number(let literal) where literal.last!.isNumber && !literal.contains(where: { ".eE".contains($0) }):
        guard let number = Int64(literal) else { return "bool_type" }
        return number == 0 || number == 1 ? nil : "bool_parsing"
    case .number(let literal):
        let number = Double(literal) ?? .infinity
        guard number.isFinite, number == number.rounded(), abs(number) < 9.2e18 else { return "bool_type" }
        return number == 0 || number == 1 ? nil : "bool_parsing"
    case .null, .array, .object:
        return "bool_type"
    }
}

/// pydantic's lax int, restated for what a JSON body holds (strings are checked by fuzz-query-path's
/// properties, which read the same parser): any JSON integer, booleans, whole finite floats within 64 bits.
func referenceIntIssue(_ value: JSONValue) -> String? {
    switch value {
    case .bool:
        return nil
    case .string(let text), .loneSurrogateString(let text):
        if case .value = ReferenceInteger(text) { return nil }
        guard case .failure(let failure) = Lax.integer(text) else { return nil }
        return failure.type
    case .number(let literal) where literal.last!.isNumber && !literal.contains(where: { ".eE".contains($0) }):
        // Python's json.loads refuses longer literals (the 400), so none reaches pydantic.
        require(literal.filter(\.isNumber).count <= Lax.maxIntegerDigits, "integer literal over the limit parsed")
        return nil
    case .number(let literal):
        let number = Double(literal) ?? (literal.hasPrefix("-") ? -.infinity : .infinity)
        if !number.isFinite { return "finite_number" }
        if number != number.rounded(.towardZero) { return "int_from_float" }
        return abs(number) < 9_223_372_036_854_775_808.0 ? nil : "int_parsing_size"
    case .null, .array, .object:
        return "int_type"
    }
}

/// The 422 body for these issues must be valid JSON: {"detail": [one object per issue, with type, loc, msg
/// and input, in order]}.
func checkResponse(_ issues: [ValidationIssue]) {
    guard !issues.isEmpty else { return }
    let response = ErrorResponses.response(for: APIError.validation(issues))
    require(response.status.code == 422, "validation answered \(response.status.code)")
    let document: JSONValue
    do {
        // The input sits 3 levels down in the 422 body: a body at the parser's depth limit is deeper there.
        document = try JSONParser.parse(response.body, maxDepth: JSONParser.defaultMaxDepth + 3)
    } catch {
        require(false, "422 body is not JSON (\(error)): \(describe(response.body))")
        return
    }
    guard case .object(let object) = document, case .array(let details)? = last(object, "detail") else {
        require(false, "422 body has no detail array: \(describe(response.body))")
        return
    }
    require(details.count == issues.count, "422 lists \(details.count) of \(issues.count) issues")
    for (detail, issue) in zip(details, issues) {
        guard case .object(let entry) = detail, case .string(let type)? = last(entry, "type"),
              case .array? = last(entry, "loc"), case .string? = last(entry, "msg"), let input = last(entry, "input")
        else {
            require(false, "422 entry lacks type, loc, msg or input: \(detail)")
            return
        }
        require(Array(type.utf8) == Array(issue.type.utf8), "422 entry type \(type) for \(issue.type)")
        require(identical(input, plain(issue.input)), "422 entry input changed in writing: \(input) for \(issue.input)")
    }
}
