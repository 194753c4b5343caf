import NotesStore

/// The entity tags of the answers (RFC 9110 §8.8.3) and the conditional request headers that compare them
/// (§13.1.1 `If-Match`, §13.1.2 `If-None-Match`).
///
/// A row's tag is its version (migration 0006), which every statement that changes its representation counts
/// up in the same UPDATE: `"7"`. It comes with the row, so a GET by id costs no extra statement and no hashing
/// of the body. A page's tag is a hash of what decides its representation: each row's id and version in order,
/// the total (`X-Total-Count`), and whether a next page follows (`Link`).
enum EntityTags {
    /// The header value of row `row`'s tag: its version, quoted.
    static func row(_ row: Int, of rows: Rows, as entity: Entity) -> String {
        let version = rows.bytes(row: row, column: entity.versionColumn)
        // Written in place: up to 15 bytes this is a small string, with no allocation and no appending.
        return String(unsafeUninitializedCapacity: version.count + 2) { buffer in
            buffer[0] = UInt8(ascii: "\"")
            _ = buffer[1...].initialize(from: version)
            buffer[version.count + 1] = UInt8(ascii: "\"")
            return version.count + 2
        }
    }

    /// The header value of a page's tag: FNV-1a (64 bits) over each row's id and version and the total.
    static func page(_ page: Page, of entity: Entity) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add<Bytes: Sequence<UInt8>>(_ bytes: Bytes, then separator: UInt8) {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            hash = (hash ^ UInt64(separator)) &* 0x100_0000_01b3
        }
        let idColumn = entity.columns.firstIndex(of: .id)!
        for row in 0..<page.rows.rowCount {
            add(page.rows.bytes(row: row, column: idColumn), then: UInt8(ascii: ":"))
            add(page.rows.bytes(row: row, column: entity.versionColumn), then: UInt8(ascii: ";"))
        }
        add(String(page.total).utf8, then: UInt8(ascii: "#"))
        // Whether a next page follows (its `Link`): on a cursor page it rests on a row beyond the page.
        if page.hasNext { add(EmptyCollection(), then: UInt8(ascii: ">")) }
        let hex = String(hash, radix: 16)
        return "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// Whether `If-None-Match: header` matches `current` (a tag as `row` or `page` write it) by the weak
    /// comparison, or is `*` (the resource exists: it is being answered).
    static func noneMatchFails(_ header: String, current: String) -> Bool {
        let condition = Condition(header)
        if condition.any { return true }
        let opaque = current.utf8.dropFirst().dropLast()
        return condition.tags.contains { $0.opaque.elementsEqual(opaque) }
    }

    /// The versions `If-Match: header` allows a write on (the strong comparison: weak tags match nothing, and
    /// only a row's tag names a version); nil for `*`, which any existing row matches.
    static func versions(ifMatch header: String) -> [Int64]? {
        let condition = Condition(header)
        if condition.any { return nil }
        return condition.tags.compactMap { tag in
            guard !tag.weak, let first = tag.opaque.first, first != UInt8(ascii: "0"), tag.opaque.count <= 18,
                tag.opaque.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
            return tag.opaque.reduce(Int64(0)) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
        }
    }

    /// A parsed `If-Match` or `If-None-Match`: `*`, or a list of entity tags. What is not an entity tag is
    /// skipped up to the next comma: it matches nothing (§13.1.1: a server MUST NOT perform the method when
    /// the condition is false, and a tag it cannot read is no match).
    struct Condition {
        struct Tag {
            let weak: Bool
            /// The characters between the quotes.
            let opaque: ArraySlice<UInt8>
        }

        var any = false
        var tags: [Tag] = []

        init(_ header: String) {
            let bytes = Array(header.utf8)
            var index = 0
            func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
            let trimmed = bytes.drop(while: isSpace).reversed().drop(while: isSpace)
            if trimmed.count == 1, trimmed.first == UInt8(ascii: "*") {
                any = true
                return
            }
            while index < bytes.count {
                while index < bytes.count, isSpace(bytes[index]) || bytes[index] == UInt8(ascii: ",") { index += 1 }
                guard index < bytes.count else { break }
                var weak = false
                if bytes[index] == UInt8(ascii: "W"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                    weak = true
                    index += 2
                }
                if index < bytes.count, bytes[index] == UInt8(ascii: "\""),
                    let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\"")),
                    bytes[(index + 1)..<close].allSatisfy({ $0 == 0x21 || $0 >= 0x23 && $0 != 0x7F })
                {
                    var after = close + 1
                    while after < bytes.count, isSpace(bytes[after]) { after += 1 }
                    if after == bytes.count || bytes[after] == UInt8(ascii: ",") {
                        tags.append(Tag(weak: weak, opaque: bytes[(index + 1)..<close]))
                        index = after
                        continue
                    }
                }
                // Not an entity tag: skipped up to the next comma.
                while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            }
        }
    }
}
