import HTTPMessages
import SystemSupport

/// Turns a request's body into a JSON object, or into the error FastAPI would give for it.
enum JSONBody {
    /// The body as JSON, checked in the order a client would fix things: size, media type, syntax.
    /// Returns nil for an empty body, which the caller reports as a missing body.
    static func parse(_ request: HTTPRequest) throws(APIError) -> JSONValue? {
        if request.bodyTooLarge { throw .contentTooLarge }
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

    init(_ body: JSONValue?) {
        self.body = body
        switch body {
        case .object(let object):
            self.object = object
        case nil:
            self.object = nil
            issues.append(ValidationIssue(type: "missing", location: [.key("body")], message: "Field required", input: .null))
        case let other?:
            self.object = nil
            issues.append(ValidationIssue(
                type: "model_attributes_type", location: [.key("body")],
                message: "Input should be a valid dictionary or object to extract fields from", input: other))
        }
    }

    /// A required JSON string. PostgreSQL text cannot hold NUL, so NUL is refused here, as bad input.
    mutating func string(_ name: String) -> String? {
        guard let value = field(name) else { return nil }
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
        guard let value = field(name) else { return nil }
        guard case .bool(let flag) = value else {
            issues.append(ValidationIssue(
                type: "bool_type", location: [.key("body"), .key(name)], message: "Input should be a valid boolean",
                input: value))
            return nil
        }
        return flag
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
