import HTTPMessages
import NotesStore
import SystemSupport

/// Turns a request's body into a JSON object, or into the error FastAPI would give for it.
enum JSONBody {
    /// The body as JSON, checked in the order a client would fix things: media type, syntax (its size was
    /// checked before routing: `NotesApplication.respond`). Returns nil for an empty body, which the caller
    /// reports as a missing body.
    static func parse(_ request: HTTPRequest) throws(APIError) -> JSONValue? {
        guard let contentType = request.contentType, isJSON(contentType) else { throw .unsupportedMediaType }
        if request.body.isEmpty { return nil }
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw .validation([ValidationIssue(
                type: "json_invalid", location: [.key("body"), .index(error.offset)], message: "JSON decode error",
                input: .object([:]), context: ["error": .string(error.reason)])])
        }
    }

    /// `application/json`, or any `+json` type, with or without parameters such as charset.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
            .trimmingWhitespace().lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}

/// Reads typed fields out of a JSON body, collecting every problem instead of stopping at the first, so
/// that a client learns all it must fix from one 422.
struct FieldReader {
    private(set) var issues: [ValidationIssue] = []
    private let body: JSONValue?
    private let object: JSONObject?

    /// - Parameter issues: problems found elsewhere in the request (the path), reported together.
    init(_ body: JSONValue?, issues: [ValidationIssue] = []) {
        self.body = body
        self.issues = issues
        switch body {
        case .object(let object):
            self.object = object
        case nil:
            self.object = nil
            self.issues.append(ValidationIssue(type: "missing", location: [.key("body")], message: "Field required", input: .null))
        case let other?:
            self.object = nil
            self.issues.append(ValidationIssue(
                type: "model_attributes_type", location: [.key("body")],
                message: "Input should be a valid dictionary or object to extract fields from", input: other))
        }
    }

    /// The value of a writable column's field: required, or optional (absent when left out, as in PATCH);
    /// `.absent` also when it has a problem, which is then in `issues`.
    mutating func value(of column: Column, required: Bool) -> FieldValue {
        let name = column.name
        switch (column.kind, required) {
        case (.text, true): return string(name).map { .text($0) } ?? .absent
        case (.text, false): return optionalString(name).map { .text($0) } ?? .absent
        case (.boolean, true): return bool(name).map { .boolean($0) } ?? .absent
        case (.boolean, false): return optionalBool(name).map { .boolean($0) } ?? .absent
        case (.identifier, true): return id(name).map { .integer($0) } ?? .absent
        case (.identifier, false): return object?[name] == nil ? .absent : id(name).map { .integer($0) } ?? .absent
        case (.timestamp, _): preconditionFailure("\(name) is written by the database")
        }
    }

    /// A required JSON string. PostgreSQL text cannot hold NUL, so NUL is refused here, as bad input.
    mutating func string(_ name: String) -> String? {
        field(name).flatMap { string(name, $0) }
    }

    /// A string that may be left out (PATCH); present, it must be a string like any other.
    mutating func optionalString(_ name: String) -> String? {
        object?[name].flatMap { string(name, $0) }
    }

    private mutating func string(_ name: String, _ value: JSONValue) -> String? {
        guard case .string(let text) = value else {
            issues.append(ValidationIssue(
                type: "string_type", location: [.key("body"), .key(name)], message: "Input should be a valid string",
                input: value))
            return nil
        }
        if text.utf8.contains(0) {
            issues.append(ValidationIssue(
                type: "value_error", location: [.key("body"), .key(name)],
                message: "Value error, text must not contain NUL (\\u0000) characters", input: value,
                context: ["error": .string("text must not contain NUL (\\u0000) characters")]))
            return nil
        }
        return text
    }

    /// A required JSON boolean; strings and numbers are refused (strict, unlike pydantic's lax mode).
    mutating func bool(_ name: String) -> Bool? {
        field(name).flatMap { bool(name, $0) }
    }

    mutating func optionalBool(_ name: String) -> Bool? {
        object?[name].flatMap { bool(name, $0) }
    }

    private mutating func bool(_ name: String, _ value: JSONValue) -> Bool? {
        guard case .bool(let flag) = value else {
            issues.append(ValidationIssue(
                type: "bool_type", location: [.key("body"), .key(name)], message: "Input should be a valid boolean",
                input: value))
            return nil
        }
        return flag
    }

    /// A required id: a JSON number with an integral value from 1 to Int64.max. As in pydantic, `7.0` and
    /// `7e0` are 7 while `7.5` is refused; a string or any other type is refused (strict).
    mutating func id(_ name: String) -> Int64? {
        guard let value = field(name) else { return nil }
        let location: [ValidationIssue.Location] = [.key("body"), .key(name)]
        guard case .number(let literal) = value else {
            issues.append(ValidationIssue(type: "int_type", location: location, message: "Input should be a valid integer", input: value))
            return nil
        }
        guard let integer = integralDigits(ofJSONNumber: literal) else {
            issues.append(ValidationIssue(
                type: "int_from_float", location: location,
                message: "Input should be a valid integer, got a number with a fractional part", input: value))
            return nil
        }
        switch IntegerParameter.positiveID(integer, name: name) {
        case .success(let id):
            return id
        case .failure(let issue):
            issues.append(ValidationIssue(
                type: issue.type, location: location, message: issue.message, input: value, context: issue.context))
            return nil
        }
    }

    private mutating func field(_ name: String) -> JSONValue? {
        guard let object else { return nil }
        guard let value = object[name] else {
            issues.append(ValidationIssue(
                type: "missing", location: [.key("body"), .key(name)], message: "Field required", input: body ?? .null))
            return nil
        }
        return value
    }
}

/// The integer a JSON number literal stands for, as decimal digits with an optional sign, computed exactly
/// from its digits and exponent (no floating point); nil when it has a fractional part. Magnitudes far
/// beyond Int64 come back as a long run of 9s, which range checks then refuse.
func integralDigits(ofJSONNumber literal: String) -> String? {
    var text = Substring(literal)
    let negative = text.hasPrefix("-")
    if negative { text = text.dropFirst() }
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        let written = text[text.index(after: e)...]
        // Clamped while it is read, so that nothing below can overflow (Int.min has no negation): past 10^8,
        // more digits than a 1 MiB body holds, the answer no longer changes. The sign is kept:
        // 1e-99999999999999999999 is a tiny fraction, not a huge number.
        var magnitude = 0
        for digit in written.utf8 where digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") {
            magnitude = min(magnitude * 10 + Int(digit - UInt8(ascii: "0")), 100_000_000)
        }
        exponent = written.hasPrefix("-") ? -magnitude : magnitude
        text = text[..<e]
    }
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let fraction = parts.count > 1 ? parts[1] : ""
    var digits = String(parts[0]) + fraction
    exponent -= fraction.count
    if exponent < 0 {
        let dropped = digits.suffix(min(-exponent, digits.count))
        guard dropped.allSatisfy({ $0 == "0" }) else { return nil }
        digits = String(digits.dropLast(dropped.count))
    } else {
        digits += String(repeating: "0", count: min(exponent, 40))
    }
    digits = String(digits.drop { $0 == "0" })
    if digits.isEmpty { return "0" }
    if digits.count > 40 { digits = String(repeating: "9", count: 40) }
    return negative ? "-" + digits : digits
}
