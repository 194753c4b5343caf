import HTTPMessages
import NotesStore
import SystemSupport

/// Turns a request's body into what FastAPI validates: the parsed JSON for a JSON media type, the body's text
/// for any other (which no model accepts), nothing for an empty body (routing.py, `get_request_handler`).
enum JSONBody {
    /// Nil for an empty body, which the caller reports as a missing body. Its size was checked before
    /// routing (`NotesApplication.respond`).
    static func parse(_ request: HTTPRequest) throws(APIError) -> JSONValue? {
        if request.body.isEmpty { return nil }
        // FastAPI (0.132 and later) parses only what says it is JSON; the rest stays bytes, refused as a whole.
        guard let contentType = request.contentType, isJSON(contentType) else {
            guard let text = String(validating: request.body, as: UTF8.self) else { throw .unreadableBody }
            return .string(text)
        }
        // Python's json.loads(bytes) reads UTF-8 with a byte order mark too; positions count from after it.
        let bytes = request.body.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(request.body.dropFirst(3)) : request.body
        do {
            // What parses is valid UTF-8: the parser checks strings, and anything else outside them is ASCII.
            return try JSONParser.parse(bytes)
        } catch {
            // Only now, off the UTF-8 path: Python may have read the body as UTF-16 or UTF-32.
            if let utf8 = try transcodedAsPythonDetects(request.body) {
                do {
                    return try JSONParser.parse(utf8)
                } catch {
                    throw invalid(error, in: utf8)
                }
            }
            // Python decodes before it parses: a body that is not UTF-8 (surrogates aside) fails there, whatever
            // its syntax.
            if JSONParser.decodingEncodedSurrogates(bytes) == nil { throw .unreadableBody }
            throw invalid(error, in: bytes)
        }
    }

    /// FastAPI's answer to what `json.loads` raised: a JSONDecodeError is a 422, anything else the 400.
    private static func invalid(_ error: JSONParseError, in bytes: [UInt8]) -> APIError {
        if error.isValueError { return .unreadableBody }
        return .validation([ValidationIssue(
            type: "json_invalid", location: [.key("body"), .index(characterOffset(error.offset, in: bytes))],
            message: "JSON decode error", input: .object([:]), context: ["error": .string(error.reason)])])
    }

    /// The body as UTF-8 when Python's `json.detect_encoding` finds UTF-16 or UTF-32 in it (by its byte order
    /// mark, or by where its first ASCII characters' zero bytes fall), without the mark; nil when it finds
    /// UTF-8. Text that does not decode is Python's UnicodeDecodeError, the 400.
    private static func transcodedAsPythonDetects(_ body: [UInt8]) throws(APIError) -> [UInt8]? {
        enum Width { case utf16, utf32 }
        let width: Width, bigEndian: Bool, skip: Int
        if body.starts(with: [0x00, 0x00, 0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE, 0x00, 0x00]) {
            (width, bigEndian, skip) = (.utf32, body[0] == 0, 4)
        } else if body.starts(with: [0xFE, 0xFF]) || body.starts(with: [0xFF, 0xFE]) {
            (width, bigEndian, skip) = (.utf16, body[0] == 0xFE, 2)
        } else if body.starts(with: [0xEF, 0xBB, 0xBF]) {
            return nil
        } else if body.count >= 4, body[0] == 0 {
            (width, bigEndian, skip) = (body[1] != 0 ? .utf16 : .utf32, true, 0)
        } else if body.count >= 4, body[1] == 0 {
            (width, bigEndian, skip) = (body[2] != 0 || body[3] != 0 ? .utf16 : .utf32, false, 0)
        } else if body.count == 2, body[0] == 0 || body[1] == 0 {
            (width, bigEndian, skip) = (.utf16, body[0] == 0, 0)
        } else {
            return nil
        }
        let bytes = body.dropFirst(skip)
        let size = width == .utf16 ? 2 : 4
        guard bytes.count % size == 0 else { throw .unreadableBody }
        let units = stride(from: bytes.startIndex, to: bytes.endIndex, by: size).map { start in
            (0..<size).reduce(UInt32(0)) { value, index in
                value | UInt32(bytes[start + (bigEndian ? size - 1 - index : index)]) << (8 * index)
            }
        }
        // Python decodes with surrogatepass: a lone surrogate is kept, here as its 3-byte encoding, which the
        // parser reads as Python's decoder would have left it.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(units.count)
        var index = 0
        while index < units.count {
            var scalar = units[index]
            index += 1
            if width == .utf16, (0xD800...0xDBFF).contains(scalar), index < units.count,
               (0xDC00...0xDFFF).contains(units[index]) {
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (units[index] - 0xDC00)
                index += 1
            }
            if (0xD800...0xDFFF).contains(scalar) {
                utf8 += [0xE0 | UInt8(scalar >> 12), 0x80 | UInt8(scalar >> 6 & 0x3F), 0x80 | UInt8(scalar & 0x3F)]
            } else if let unicode = Unicode.Scalar(scalar) {
                UTF8.encode(unicode) { utf8.append($0) }
            } else {
                throw .unreadableBody
            }
        }
        return utf8
    }

    /// Python reports positions in characters of the decoded text, not in bytes.
    private static func characterOffset(_ byteOffset: Int, in bytes: [UInt8]) -> Int {
        bytes.prefix(byteOffset).reduce(0) { count, byte in byte & 0xC0 == 0x80 ? count : count + 1 }
    }

    /// `application/json`, or any `application/*+json`, with or without parameters such as charset.
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
                message: "Input should be a valid dictionary or object to extract fields from", input: other.pythonEcho))
        }
    }

    /// An integer no row can have as its id (beyond 64 bits) was given for an id: the request can only be
    /// answered with the endpoint's 404, once it is otherwise valid.
    private(set) var namesNoRow = false

    /// The value of a writable column's field: required, or optional (absent when left out, as in PATCH);
    /// `.absent` also when it has a problem, which is then in `issues`.
    mutating func value(of column: Column, _ fields: RequestBody.Fields) -> FieldValue {
        let name = column.name
        let value: JSONValue?
        switch fields {
        case .allRequired: value = field(name)
        case .allOptional: value = object?[name]
        }
        guard let value else { return .absent }
        switch column.kind {
        case .text: return string(name, value).map { .text($0) } ?? .absent
        case .boolean: return laxValue(name, value, Lax.bool).map { .boolean($0) } ?? .absent
        case .identifier:
            switch laxValue(name, value, Lax.integer) {
            case .int64(let id)?: return .integer(id)
            case .beyondInt64?:
                namesNoRow = true
                return .absent
            case nil: return .absent
            }
        case .timestamp: preconditionFailure("\(name) is written by the database")
        }
    }

    /// A JSON string (pydantic's `str` takes nothing else, not even numbers). PostgreSQL text cannot hold NUL
    /// or a lone surrogate, so those are refused here, as bad input (FastAPI fails with a 500 on them).
    private mutating func string(_ name: String, _ value: JSONValue) -> String? {
        if case .loneSurrogateString = value {
            // pydantic's own error for a str it cannot read as Unicode.
            issues.append(ValidationIssue(
                type: "string_unicode", location: [.key("body"), .key(name)],
                message: "Input should be a valid string, unable to parse raw data as a unicode string", input: value))
            return nil
        }
        guard case .string(let text) = value else {
            issues.append(ValidationIssue(
                type: "string_type", location: [.key("body"), .key(name)], message: "Input should be a valid string",
                input: value.pythonEcho))
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

    /// A value converted as pydantic's lax mode converts it, or its problem recorded.
    private mutating func laxValue<T>(_ name: String, _ value: JSONValue, _ convert: (JSONValue) -> Result<T, Lax.Failure>) -> T? {
        switch convert(value) {
        case .success(let converted):
            return converted
        case .failure(let failure):
            issues.append(ValidationIssue(
                type: failure.type, location: [.key("body"), .key(name)], message: failure.message, input: value.pythonEcho))
            return nil
        }
    }

    private mutating func field(_ name: String) -> JSONValue? {
        guard let object else { return nil }
        guard let value = object[name] else {
            issues.append(ValidationIssue(
                type: "missing", location: [.key("body"), .key(name)], message: "Field required", input: body?.pythonEcho ?? .null))
            return nil
        }
        return value
    }
}
