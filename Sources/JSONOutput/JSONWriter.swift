/// Appends JSON text to a byte buffer. Strings are escaped per RFC 8259 (quote, backslash, control
/// characters); everything else, any Unicode included, is written as UTF-8 unchanged. Inlinable: it writes every
/// response body, and called across the module boundary without inlining a GET by id cost more instructions.
@frozen public struct JSONWriter {
    /// The text written so far.
    @inlinable public var bytes: [UInt8] { storage }
    @usableFromInline var storage: [UInt8]

    @inlinable public init(capacity: Int = 256) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// Empties the text, keeping its storage for what is written next (a streamed body's next piece).
    @inlinable public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
    }

    @inlinable public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { storage.append(contentsOf: $0) }
    }

    /// Copies the runs of bytes that need no escaping whole (most strings are one such run), escaping the rest:
    /// byte by byte it was 13% of a worker's instructions for a GET by id.
    @inlinable public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: $0) }
    }

    /// A string from its UTF-8 bytes (a column's text as PostgreSQL sent it).
    @inlinable public mutating func string(utf8 value: ArraySlice<UInt8>) {
        value.withUnsafeBufferPointer { string(utf8: $0) }
    }

    @usableFromInline mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        storage.append(UInt8(ascii: "\""))
        var runStart = 0
        for (index, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            storage.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            escape(byte)
            runStart = index + 1
        }
        storage.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        storage.append(UInt8(ascii: "\""))
    }

    /// Bytes that are already JSON text (a bigint as PostgreSQL writes it).
    @inlinable public mutating func raw(utf8 value: ArraySlice<UInt8>) {
        storage.append(contentsOf: value)
    }

    @usableFromInline mutating func escape(_ byte: UInt8) {
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
            storage.append(Self.hexDigits[Int(byte >> 4)])
            storage.append(Self.hexDigits[Int(byte & 0x0F)])
        }
    }

    @usableFromInline static let hexDigits = Array("0123456789abcdef".utf8)

    @inlinable public mutating func integer<T: BinaryInteger>(_ value: T) {
        storage.append(contentsOf: String(value).utf8)
    }

    /// Writes a number literal as given; `literal` must be valid JSON number text.
    @inlinable public mutating func number(_ literal: String) {
        storage.append(contentsOf: literal.utf8)
    }

    @inlinable public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// Writes `"key":` — the caller writes the value next and handles commas via `object`.
    @inlinable public mutating func key(_ key: String) {
        string(key)
        storage.append(UInt8(ascii: ":"))
    }

    /// Writes `{...}`; `body` is given a function that writes each member's key and separates members.
    @inlinable public mutating func object(_ body: (inout JSONWriter, _ member: (inout JSONWriter, String) -> Void) -> Void) {
        storage.append(UInt8(ascii: "{"))
        var first = true
        body(&self) { writer, key in
            if !first { writer.storage.append(UInt8(ascii: ",")) }
            first = false
            writer.key(key)
        }
        storage.append(UInt8(ascii: "}"))
    }

    /// Writes `[...]` with one element per item.
    @inlinable public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        storage.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { storage.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        storage.append(UInt8(ascii: "]"))
    }
}

extension JSONWriter {
    /// Milliseconds with three decimals, from seconds.
    public mutating func milliseconds(_ seconds: Double) {
        let microseconds = Int((seconds * 1e6).rounded())
        let fraction = String(microseconds % 1000)
        number("\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)")
    }
}
