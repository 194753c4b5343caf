// `@inlinable`: the workers' router calls these on every request, from another module.

/// Decodes `%XX` escapes (and, in a query, `+` as space). A malformed escape is kept as it is, and bytes
/// that do not form UTF-8 become U+FFFD, so decoding never fails and never yields invalid text.
@inlinable
public func percentDecoded(_ text: some StringProtocol, plusAsSpace: Bool = false) -> String {
    let utf8 = Array(text.utf8)
    guard utf8.contains(UInt8(ascii: "%")) || (plusAsSpace && utf8.contains(UInt8(ascii: "+"))) else {
        return String(text)
    }
    var decoded: [UInt8] = []
    decoded.reserveCapacity(utf8.count)
    var index = 0
    while index < utf8.count {
        let byte = utf8[index]
        if byte == UInt8(ascii: "%"), index + 2 < utf8.count, let high = hexValue(utf8[index + 1]),
           let low = hexValue(utf8[index + 2]) {
            decoded.append(high << 4 | low)
            index += 3
        } else {
            decoded.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index += 1
        }
    }
    return String(decoding: decoded, as: UTF8.self)
}

@inlinable
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// `a=1&b=x%20y` → [("a", "1"), ("b", "x y")], in order, repeats kept.
@inlinable
public func queryItems(_ rawQuery: String) -> [(name: String, value: String)] {
    // On UTF-8 bytes, not Characters: "&" followed by a combining mark is one Character, and must still split.
    rawQuery.utf8.split(separator: UInt8(ascii: "&")).map { pair in
        let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
        return (percentDecoded(Substring(parts[0]), plusAsSpace: true),
                parts.count > 1 ? percentDecoded(Substring(parts[1]), plusAsSpace: true) : "")
    }
}
