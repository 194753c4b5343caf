#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import NotesAPI

/// Stops the run when a property does not hold. libFuzzer treats the abort as a crash and saves the input
/// (`crash-<sha1>`), so a broken property is reported exactly like a memory error. Swift's own traps
/// (overflow, index out of range, force-unwrap of nil) are crashes too, without help from here.
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if condition() { return }
    var text = "fuzz property violated (\(file):\(line)): \(message())\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The input bytes libFuzzer hands over (a null pointer when the input is empty).
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// Shows bytes in a failure message: printable ASCII as is, anything else as \xNN.
public func describe(_ bytes: some Sequence<UInt8>, limit: Int = 300) -> String {
    var text = ""
    for (index, byte) in bytes.enumerated() {
        if index == limit {
            text += "…"
            break
        }
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
            text.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            text += "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }
    }
    return text
}

/// Every byte as `%XX` (and, with `plusForSpace`, a space as `+`): the most escaped spelling of a string,
/// which a percent-decoder must turn back into exactly these bytes.
public func percentEncodedEverything(_ bytes: some Sequence<UInt8>, plusForSpace: Bool = false) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        if plusForSpace && byte == UInt8(ascii: " ") {
            out.append(UInt8(ascii: "+"))
        } else {
            out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
        }
    }
    return String(decoding: out, as: UTF8.self)
}

/// What a strict decimal integer parser must answer for `raw` (an optional sign, then ASCII digits only),
/// written independently of the service's parser so the fuzzer can compare the two.
public enum ReferenceInteger: Equatable {
    case value(Int64)
    case belowInt64
    case aboveInt64
    case notAnInteger

    public init(_ raw: String) {
        var bytes = Array(raw.utf8)
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            self = .notAnInteger
            return
        }
        let digits = Array(bytes.drop { $0 == UInt8(ascii: "0") })
        // Int64.max is 9223372036854775807 and Int64.min is -9223372036854775808: compare the digits as text.
        let limit = Array((negative ? "9223372036854775808" : "9223372036854775807").utf8)
        if digits.count > limit.count || (digits.count == limit.count && digits.lexicographicallyPrecedes(limit) == false
            && digits != limit) {
            self = negative ? .belowInt64 : .aboveInt64
            return
        }
        var magnitude: UInt64 = 0
        for digit in digits { magnitude = magnitude * 10 + UInt64(digit - UInt8(ascii: "0")) }
        self = .value(negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude))
    }
}

/// Byte-exact equality of two JSON values. JSONValue's own == compares strings as Swift does, by canonical
/// equivalence ("é" precomposed equals "e" + U+0301), which is not what a round trip must preserve.
public func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.bool(let x), .bool(let y)): x == y
    case (.number(let x), .number(let y)): Array(x.utf8) == Array(y.utf8)
    case (.string(let x), .string(let y)), (.loneSurrogateString(let x), .loneSurrogateString(let y)):
        Array(x.utf8) == Array(y.utf8)
    case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    case (.object(let x), .object(let y)):
        x.members.count == y.members.count && zip(x.members, y.members).allSatisfy {
            Array($0.key.utf8) == Array($1.key.utf8) && identical($0.value, $1.value)
        }
    default: false
    }
}

/// The value as it is written (U+FFFD standing for each surrogate): strings read with lone surrogates become plain strings.
public func plain(_ value: JSONValue) -> JSONValue {
    switch value {
    case .loneSurrogateString(let text): .string(text)
    case .array(let elements): .array(elements.map(plain))
    case .object(let object): .object(JSONObject(object.members.map { JSONObject.Member(key: $0.key, value: plain($0.value)) }))
    default: value
    }
}

/// The last member with this key, keys compared byte for byte (as Python's dict does, and so FastAPI).
public func last(_ object: JSONObject, _ key: String) -> JSONValue? {
    let wanted = Array(key.utf8)
    return object.members.last { Array($0.key.utf8) == wanted }?.value
}
