// fuzz-json-body: a request body through what the endpoints run on it — JSONBody.parse (the 422
// json_invalid with its byte offset), then the FieldReader calls of POST/PUT/PATCH /notes, POST /authors and
// POST /articles — checked against a reference written here from the README's rules, and the 422 body
// written for the issues, which must itself be valid JSON listing every issue.

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
    check(parsed, note) { fields in
        let text = fields.string("text")
        let completed = fields.bool("completed")
        return text != nil && completed != nil
    }
    // PUT with a bad id: the path's issue comes first, the body's follow (NotesEndpoints.idAndBody).
    let badID: ValidationIssue
    switch IntegerParameter.positiveID("0", name: "note_id") {
    case .failure(let issue): badID = issue
    case .success: require(false, "0 is not a valid id"); return 0
    }
    var put = FieldReader(parsed, issues: [badID])
    _ = put.string("text")
    _ = put.bool("completed")
    require(put.issues.first == badID && put.issues.count == 1 + expectedIssues(parsed, note).count,
            "PUT with a bad id: the path issue first, then the body's")
    checkResponse(put.issues)

    // PATCH /notes/{id}/: both optional.
    check(parsed, [Field("text", .string, required: false), Field("completed", .bool, required: false)]) { fields in
        _ = fields.optionalString("text")
        _ = fields.optionalBool("completed")
        return fields.issues.isEmpty
    }
    // POST /authors.
    check(parsed, [Field("first_name", .string), Field("last_name", .string)]) { fields in
        let first = fields.string("first_name")
        let last = fields.string("last_name")
        return first != nil && last != nil
    }
    // POST /articles.
    check(parsed, [Field("title", .string), Field("content", .string), Field("author_id", .id)]) { fields in
        let title = fields.string("title")
        let content = fields.string("content")
        let author = fields.id("author_id")
        if let author, case .object(let object)? = parsed, case .number(let literal)? = last(object, "author_id") {
            require(ReferenceID(literal) == .value(author), "author_id \(literal) read as \(author)")
        }
        return title != nil && content != nil && author != nil
    }
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

/// Runs one endpoint's reads on a fresh FieldReader; `read` returns whether the endpoint would go on (all
/// fields read). Checks: it goes on exactly when the reference finds nothing wrong, the issues are the
/// reference's (same types and locations, in order), and their 422 body is valid JSON.
func check(_ body: JSONValue?, _ fields: [Field], _ read: (inout FieldReader) -> Bool) {
    var reader = FieldReader(body)
    let proceeds = read(&reader)
    let expected = expectedIssues(body, fields)
    let got = reader.issues.map { Issue(type: $0.type, location: $0.location) }
    require(got == expected, "fields \(fields.map(\.name)): issues \(got), expected \(expected)")
    require(proceeds == expected.isEmpty, "fields \(fields.map(\.name)): proceeds=\(proceeds) with issues \(got)")
    for issue in reader.issues where issue.type != "missing" {
        // The issue's input is the field's value as sent, and never the whole body (except for the body itself).
        if case .object(let object)? = body, issue.location.count == 2, case .key(let name) = issue.location[1] {
            require(last(object, name).map { identical($0, issue.input) } ?? false, "input of \(issue.type) for \(name)")
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
        case (.string, _):
            issues.append(Issue(type: "string_type", location: location))
        case (.bool, .bool):
            break
        case (.bool, _):
            issues.append(Issue(type: "bool_type", location: location))
        case (.id, .number(let literal)):
            switch ReferenceID(literal) {
            case .value: break
            case .fractional: issues.append(Issue(type: "int_from_float", location: location))
            case .notPositive: issues.append(Issue(type: "greater_than", location: location))
            case .tooLarge: issues.append(Issue(type: "less_than_equal", location: location))
            }
        case (.id, _):
            issues.append(Issue(type: "int_type", location: location))
        }
    }
    return issues
}

/// What an id in a body is, from its JSON number literal, by exact decimal arithmetic: value = digits ×
/// 10^exponent. Written apart from the service's `integralDigits` so that the fuzzer compares two readings.
enum ReferenceID: Equatable {
    case value(Int64)
    case fractional
    case notPositive
    case tooLarge

    init(_ literal: String) {
        var bytes = Array(literal.utf8)[...]
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { bytes = bytes.dropFirst() }
        let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        let integer = bytes.prefix(while: isDigit)
        bytes = bytes.dropFirst(integer.count)
        var fraction: ArraySlice<UInt8> = []
        if bytes.first == UInt8(ascii: ".") {
            fraction = bytes.dropFirst().prefix(while: isDigit)
            bytes = bytes.dropFirst(1 + fraction.count)
        }
        // The exponent, clamped: past ±10^7 nothing changes for an input of at most a few KiB.
        var exponent = 0
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var sign = 1
            if let s = bytes.first, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
                sign = s == UInt8(ascii: "-") ? -1 : 1
                bytes = bytes.dropFirst()
            }
            for digit in bytes { exponent = min(exponent * 10 + Int(digit - UInt8(ascii: "0")), 10_000_000) }
            exponent *= sign
        }
        var digits = Array((integer + fraction).drop { $0 == UInt8(ascii: "0") })
        exponent -= fraction.count
        while digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty {
            self = .notPositive  // zero, whatever its spelling
        } else if exponent < 0 {
            self = .fractional
        } else if negative {
            self = .notPositive
        } else if digits.count + exponent > 19 {
            self = .tooLarge
        } else {
            let text = digits + Array(repeating: UInt8(ascii: "0"), count: exponent)
            if let value = Int64(String(decoding: text, as: UTF8.self)) {
                self = .value(value)
            } else {
                self = .tooLarge
            }
        }
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
        require(identical(input, issue.input), "422 entry input changed in writing: \(input) for \(issue.input)")
    }
}
