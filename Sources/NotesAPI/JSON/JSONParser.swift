/// Why a body is not JSON, with the byte offset where parsing stopped (FastAPI reports the same position).
public struct JSONParseError: Error, Equatable, Sendable {
    public let offset: Int
    public let reason: String
    /// Nested deeper than the parser goes: not a syntax error (Python's parser gives up on depth too, with
    /// an error of its own).
    public var tooDeep = false
    /// An integer literal longer than Python's `int()` reads: a ValueError there, not a syntax error.
    public var tooManyDigits = false

    /// What Python's `json.loads` raises as something other than a JSONDecodeError (FastAPI's 400).
    public var isValueError: Bool { tooDeep || tooManyDigits }
}

/// An RFC 8259 parser over raw bytes that reads what Python's `json.loads` reads: also `NaN`, `Infinity`,
/// `-Infinity` and escaped lone surrogates. It rejects invalid UTF-8, control characters inside strings,
/// trailing data, integer literals over Python's 4,300 digits and nesting deeper than `maxDepth`. The depth
/// limit keeps a hostile document from exhausting the stack.
public struct JSONParser {
    /// Where Python's recursion limit (1000, less the frames under `json.loads`) stops FastAPI behind uvicorn:
    /// 957 levels parse, 958 are a RecursionError.
    public static let defaultMaxDepth = 957

    private let bytes: [UInt8]
    private let maxDepth: Int
    private var position = 0

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("Extra data") }
        return value
    }

    private init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func failure(_ reason: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(offset: offset ?? position, reason: reason)
    }

    private func tooDeep() -> JSONParseError {
        JSONParseError(offset: position, reason: "Nesting deeper than \(maxDepth) levels", tooDeep: true)
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = current else { throw failure("Expecting value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            let (text, loneSurrogates) = try parseString()
            return loneSurrogates ? .loneSurrogateString(text) : .string(text)
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        // Python's extensions, kept as number literals (JSONNumber reads them as floats).
        case UInt8(ascii: "N"): return try parseLiteral("NaN", .number("NaN"))
        case UInt8(ascii: "I"): return try parseLiteral("Infinity", .number("Infinity"))
        case UInt8(ascii: "-") where position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "I"):
            return try parseLiteral("-Infinity", .number("-Infinity"))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("Expecting value")
        }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count else { throw failure("Expecting value") }
        for index in 0..<length where bytes[position + index] != word.utf8Start[index] {
            throw failure("Expecting value")
        }
        position += length
        return value
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw tooDeep() }
        position += 1
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else {
                throw failure("Expecting property name enclosed in double quotes")
            }
            // A key with a lone surrogate names no field: U+FFFD in its place is enough.
            let key = try parseString().text
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("Expecting ':' delimiter") }
            position += 1
            skipWhitespace()
            members.append(JSONObject.Member(key: key, value: try parseValue(depth: depth)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(JSONObject(members))
            default: throw failure("Expecting ',' delimiter")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw tooDeep() }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw failure("Expecting ',' delimiter")
            }
        }
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = position
        if current == UInt8(ascii: "-") { position += 1 }
        guard let first = current, isDigit(first) else { throw failure("Expecting value", at: start) }
        let digitsStart = position
        if first == UInt8(ascii: "0") {
            position += 1
        } else {
            skipDigits()
        }
        let isInteger = current != UInt8(ascii: ".") && current != UInt8(ascii: "e") && current != UInt8(ascii: "E")
        if isInteger && position - digitsStart > Lax.maxIntegerDigits {
            var error = failure("Exceeds the limit (\(Lax.maxIntegerDigits) digits) for integer string conversion", at: start)
            error.tooManyDigits = true
            throw error
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard let digit = current, isDigit(digit) else { throw failure("Expecting digit after '.'") }
            skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let digit = current, isDigit(digit) else { throw failure("Expecting digit in exponent") }
            skipDigits()
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private mutating func skipDigits() {
        while let byte = current, isDigit(byte) { position += 1 }
    }

    /// Collects the string's UTF-8 bytes (escapes decoded) and validates them once at the end. Each escaped
    /// lone surrogate, which Python keeps and a Swift string cannot hold, becomes U+FFFD, and is reported.
    private mutating func parseString() throws(JSONParseError) -> (text: String, loneSurrogates: Bool) {
        let start = position
        position += 1
        var utf8: [UInt8] = []
        var loneSurrogates = false
        while true {
            guard let byte = current else { throw failure("Unterminated string starting at", at: start) }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                if let string = String(validating: utf8, as: UTF8.self) { return (string, loneSurrogates) }
                guard let string = Self.decodingEncodedSurrogates(utf8) else {
                    throw failure("Invalid UTF-8 in string starting at", at: start)
                }
                return (string, true)
            case UInt8(ascii: "\\"):
                // Python: a backslash that ends the document leaves the string unterminated.
                guard position + 1 < bytes.count else { throw failure("Unterminated string starting at", at: start) }
                if try parseEscape(into: &utf8) { loneSurrogates = true }
            case 0..<0x20:
                throw failure("Invalid control character at")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    /// Decodes one escape; true when it was a lone surrogate (written as U+FFFD). Errors are where Python
    /// reports them: a bad escape at its backslash, a bad `\\uXXXX` at its `u`.
    private mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONParseError) -> Bool {
        let escapeStart = position
        position += 1
        guard let code = current else { throw failure("Invalid \\escape", at: escapeStart) }
        position += 1
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(code)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try parseHex4(u: escapeStart + 1)
            if (0xD800...0xDBFF).contains(scalar), current == UInt8(ascii: "\\"), position + 1 < bytes.count,
               bytes[position + 1] == UInt8(ascii: "u") {
                // As Python: a second \\u escape is decoded here; not a low surrogate, it stands on its own.
                let secondStart = position
                position += 2
                let low = try parseHex4(u: secondStart + 1)
                if (0xDC00...0xDFFF).contains(low) {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    position = secondStart
                }
            }
            guard let unicode = Unicode.Scalar(scalar) else {
                UTF8.encode("\u{FFFD}") { utf8.append($0) }
                return true
            }
            UTF8.encode(unicode) { utf8.append($0) }
        default:
            throw failure("Invalid \\escape", at: escapeStart)
        }
        return false
    }

    /// Python wants a character after the four digits (a string cannot end there anyway) and reports the escape.
    /// Text that is UTF-8 but for encoded surrogates (ED A0…BF 80…BF), which Python's decoder lets through
    /// (`surrogatepass`), as lone ones: U+FFFD in their place. Nil if anything else is not UTF-8.
    static func decodingEncodedSurrogates(_ bytes: some Collection<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            let second = bytes.index(after: index)
            if byte == 0xED, second != bytes.endIndex, (0xA0...0xBF).contains(bytes[second]) {
                let third = bytes.index(after: second)
                guard third != bytes.endIndex, (0x80...0xBF).contains(bytes[third]) else { return nil }
                decoded.append(contentsOf: [0xEF, 0xBF, 0xBD])
                index = bytes.index(after: third)
            } else {
                decoded.append(byte)
                index = second
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private mutating func parseHex4(u: Int) throws(JSONParseError) -> UInt32 {
        guard position + 4 < bytes.count else { throw failure("Invalid \\uXXXX escape", at: u) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("Invalid \\uXXXX escape", at: u)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
