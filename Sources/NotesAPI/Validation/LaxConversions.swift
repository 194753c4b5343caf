/// Pydantic v2's lax conversions, as FastAPI applies them to what Python's `json.loads` made of a body or to
/// a path or query string (pydantic-core `input_python.rs` `validate_bool`/`validate_int`, `shared.rs`
/// `str_as_bool`, `str_as_int`, `clean_int_str`, `float_as_int`; docs/research/fastapi-bodies-and-examples.md).
enum Lax {
    /// Why a value is not the type asked for; each case is one pydantic error type with its message.
    enum Failure: Error, Equatable {
        case boolType, boolParsing
        case intType, intParsing, intFromFloat, intParsingSize, finiteNumber

        var type: String {
            switch self {
            case .boolType: "bool_type"
            case .boolParsing: "bool_parsing"
            case .intType: "int_type"
            case .intParsing: "int_parsing"
            case .intFromFloat: "int_from_float"
            case .intParsingSize: "int_parsing_size"
            case .finiteNumber: "finite_number"
            }
        }

        var message: String {
            switch self {
            case .boolType: "Input should be a valid boolean"
            case .boolParsing: "Input should be a valid boolean, unable to interpret input"
            case .intType: "Input should be a valid integer"
            case .intParsing: "Input should be a valid integer, unable to parse string as an integer"
            case .intFromFloat: "Input should be a valid integer, got a number with a fractional part"
            case .intParsingSize: "Unable to parse input string as an integer, exceeded maximum size"
            case .finiteNumber: "Input should be a finite number"
            }
        }
    }

    /// An integer of any size, as Python has them: most fit in 64 bits, the rest keep their digits.
    enum Integer: Equatable {
        case int64(Int64)
        /// Outside Int64's range: an optional `-` and digits without leading zeros.
        case beyondInt64(String)
    }

    /// Python refuses to parse integers longer than this (CPython's `int_max_str_digits`, jiter's limit).
    static let maxIntegerDigits = 4300

    // MARK: bool

    static func bool(_ value: JSONValue) -> Result<Bool, Failure> {
        switch value {
        case .bool(let flag):
            return .success(flag)
        case .string(let text), .loneSurrogateString(let text):
            return bool(text)
        case .number(let literal):
            if JSONNumber.isInteger(literal) {
                // An int that fits i64 is 0, 1 or refused; a larger one is tried as a float, which cannot
                // be converted back within i64: refused as no boolean at all.
                guard case .int64(let number)? = integer(digits: literal) else { return .failure(.boolType) }
                return intAsBool(number)
            }
            guard case .success(let number) = floatAsInt(JSONNumber.double(literal)) else { return .failure(.boolType) }
            return intAsBool(number)
        case .null, .array, .object:
            return .failure(.boolType)
        }
    }

    /// The spellings pydantic reads as booleans: ASCII case-insensitive words, `0` and `1` exactly.
    static func bool(_ text: String) -> Result<Bool, Failure> {
        if text == "1" { return .success(true) }
        if text == "0" { return .success(false) }
        switch asciiLowercased(text) {
        case "t", "y", "on", "yes", "true": return .success(true)
        case "f", "n", "no", "off", "false": return .success(false)
        default: return .failure(.boolParsing)
        }
    }

    private static func intAsBool(_ number: Int64) -> Result<Bool, Failure> {
        switch number {
        case 0: .success(false)
        case 1: .success(true)
        default: .failure(.boolParsing)
        }
    }

    // MARK: int

    static func integer(_ value: JSONValue) -> Result<Integer, Failure> {
        switch value {
        case .bool(let flag):
            return .success(.int64(flag ? 1 : 0))
        case .string(let text), .loneSurrogateString(let text):
            return integer(text)
        case .number(let literal):
            if JSONNumber.isInteger(literal) {
                guard let number = integer(digits: literal) else { return .failure(.intParsingSize) }
                return .success(number)
            }
            return floatAsInt(JSONNumber.double(literal)).map { .int64($0) }
        case .null, .array, .object:
            return .failure(.intType)
        }
    }

    /// A string as an integer: a plain integer first, then pydantic's cleaning (whitespace, one `+`, leading
    /// zeros, a `.0…` tail, single underscores between digits).
    static func integer(_ text: String) -> Result<Integer, Failure> {
        let utf8 = Array(text.utf8)
        if isPlainInteger(utf8) {
            guard let number = integer(digits: text) else { return .failure(.intParsingSize) }
            return .success(number)
        }
        guard let cleaned = cleaned(text), isPlainInteger(Array(cleaned.utf8)), let number = integer(digits: cleaned) else {
            return .failure(.intParsing)
        }
        return .success(number)
    }

    /// `-?[0-9]+`, as jiter reads an integer (leading zeros included).
    private static func isPlainInteger(_ bytes: [UInt8]) -> Bool {
        let digits = bytes.first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The value of `-?[0-9]+`; nil beyond `maxIntegerDigits` digits.
    private static func integer(digits text: String) -> Integer? {
        if let number = Int64(text) { return .int64(number) }
        var digits = Substring(text)
        let negative = digits.hasPrefix("-")
        if negative { digits = digits.dropFirst() }
        digits = digits.drop { $0 == "0" }
        guard digits.count <= maxIntegerDigits else { return nil }
        if digits.isEmpty { return .int64(0) }
        return .beyondInt64((negative ? "-" : "") + digits)
    }

    /// pydantic's `clean_int_str`; nil when the text cannot be an integer.
    private static func cleaned(_ text: String) -> String? {
        let lengthBefore = text.utf8.count
        var s = Substring(text).trimmingUnicodeWhitespace()
        if s.hasPrefix("+") {
            s = s.dropFirst()
            if s.hasPrefix("-") { return nil }
        }
        var negative = false
        if s.hasPrefix("-") {
            s = s.dropFirst()
            if s.hasPrefix("-") || s.hasPrefix("+") { return nil }
            negative = true
        }
        guard let stripped = strippingLeadingZeros(s) else { return nil }
        s = stripped
        if let dot = s.firstIndex(of: ".") {
            let decimals = s[s.index(after: dot)...]
            if !decimals.isEmpty && decimals.allSatisfy({ $0 == "0" }) { s = s[..<dot] }
        }
        let sign = negative ? "-" : ""
        if !s.hasPrefix("_") && !s.hasSuffix("_") && s.contains("_") && !s.contains("__") {
            return sign + s.filter { $0 != "_" }
        }
        // Nothing stripped: the plain parse refused this very text already.
        if lengthBefore == s.utf8.count { return nil }
        return sign + s
    }

    /// pydantic's `strip_leading_zeros`: one zero stays for `000` and `00.0`; underscores among the zeros go.
    private static func strippingLeadingZeros(_ s: Substring) -> Substring? {
        guard let first = s.first else { return nil }
        if first != "0" { return ("1"..."9").contains(first) || first == "-" ? s : nil }
        var index = s.index(after: s.startIndex)
        var previous = s.startIndex
        while index < s.endIndex {
            let character = s[index]
            switch character {
            case "0", "_": break
            case "1"..."9", "-": return s[index...]
            case ".": return s[previous...]
            default: return nil
            }
            previous = index
            index = s.index(after: index)
        }
        return s[previous...]
    }

    /// pydantic's `float_as_int`: whole and strictly inside Int64's range.
    static func floatAsInt(_ number: Double) -> Result<Int64, Failure> {
        guard number.isFinite else { return .failure(.finiteNumber) }
        guard number.rounded(.towardZero) == number else { return .failure(.intFromFloat) }
        guard number > -9.223_372_036_854_775_808e18 && number < 9.223_372_036_854_775_808e18 else {
            return .failure(.intParsingSize)
        }
        return .success(Int64(number))
    }

    private static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// Facts about JSON number literals as Python's `json.loads` reads them.
enum JSONNumber {
    /// No fraction and no exponent: Python makes an int of it, of any size; anything else (NaN and Infinity
    /// too) is a float.
    static func isInteger(_ literal: String) -> Bool {
        isLiteral(literal)
            && !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// A JSON number literal, not one of Python's `NaN`, `Infinity`, `-Infinity` (those end in a letter).
    static func isLiteral(_ literal: String) -> Bool {
        literal.utf8.last.map { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } ?? false
    }

    /// The nearest double, ±infinity past its range, as Python's `float()` gives it.
    static func double(_ literal: String) -> Double {
        Double(literal) ?? (literal.hasPrefix("-") ? -.infinity : .infinity)
    }
}

extension Substring {
    /// Without leading and trailing Unicode whitespace, as Rust's `str::trim`.
    func trimmingUnicodeWhitespace() -> Substring {
        let start = unicodeScalars.firstIndex { !$0.properties.isWhitespace } ?? unicodeScalars.endIndex
        let end = unicodeScalars.lastIndex { !$0.properties.isWhitespace }.map { unicodeScalars.index(after: $0) } ?? start
        return Substring(unicodeScalars[start..<Swift.max(start, end)])
    }
}
