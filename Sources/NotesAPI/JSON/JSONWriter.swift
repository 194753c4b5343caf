/// Appends JSON text to a byte buffer. Strings are escaped per RFC 8259 (quote, backslash, control
/// characters); everything else, any Unicode included, is written as UTF-8 unchanged.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// Empties the text, keeping its storage for what is written next (a streamed body's next piece).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Copies the runs of bytes that need no escaping whole (most strings are one such run), escaping the rest:
    /// byte by byte it was 13% of a worker's instructions for a GET by id.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: $0) }
    }

    /// A string from its UTF-8 bytes (a column's text as PostgreSQL sent it).
    public mutating func string(utf8 value: ArraySlice<UInt8>) {
        value.withUnsafeBufferPointer { string(utf8: $0) }
    }

    private mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            escape(byte)
            runStart = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        bytes.append(UInt8(ascii: "\""))
    }

    /// Bytes that are already JSON text (a bigint as PostgreSQL writes it).
    public mutating func raw(utf8 value: ArraySlice<UInt8>) {
        bytes.append(contentsOf: value)
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        default:
            raw("\\u00")
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public mutating func integer<T: BinaryInteger>(_ value: T) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// Writes a number literal as given; `literal` must be valid JSON number text.
    public mutating func number(_ literal: String) {
        bytes.append(contentsOf: literal.utf8)
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// Writes `"key":` — the caller writes the value next and handles commas via `object`.
    public mutating func key(_ key: String) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes `{...}`; `body` is given a function that writes each member's key and separates members.
    public mutating func object(_ body: (inout JSONWriter, _ member: (inout JSONWriter, String) -> Void) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        body(&self) { writer, key in
            if !first { writer.bytes.append(UInt8(ascii: ",")) }
            first = false
            writer.key(key)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes `[...]` with one element per item.
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .number(let literal): number(literal)
        case .string(let text), .loneSurrogateString(let text): string(text)
        case .array(let elements): array(elements) { $0.value($1) }
        case .object(let object):
            self.object { writer, member in
                for entry in object.members {
                    member(&writer, entry.key)
                    writer.value(entry.value)
                }
            }
        }
    }
}
