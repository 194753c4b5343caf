import NotesStore
import SystemSupport

/// The `cursor` of a list page: where the next page starts, and what the list was (its order, its `completed`
/// filter, its search words), so that following it needs nothing else and cannot mix the pages of two lists.
///
/// Opaque to clients: base64url (no padding) of a version byte, the fields each as a LEB128 length and its UTF-8
/// bytes (list, order, completed `t`/`f`/empty, search words, the last row's key value, its id), and a 32-bit
/// FNV-1a checksum of all that, which catches a cursor that was cut short, edited or garbled. The checksum is no
/// secret: a cursor grants nothing a request with `skip` would not, and a key PostgreSQL could not read is
/// refused when decoding (ids, RFC 3339 times).
struct ListCursor: Equatable, Sendable {
    static let version: UInt8 = 1
    /// A key value longer than this is cut (at a character boundary) to keep links within nginx's URI limit
    /// (`large_client_header_buffers`, 8 KiB): only rows that share these first bytes with the last row, and sort
    /// before it, could then be visited twice (README, "Paging").
    static let keyLimit = 1024

    /// The entity's table: `notes`, `authors`, `articles`.
    let list: String
    let order: String
    let completed: Bool?
    let search: String?
    let key: PageKey

    init(list: String, order: String, completed: Bool?, search: String?, key: PageKey) {
        self.list = list
        self.order = order
        self.completed = completed
        self.search = search
        var value = key.value
        if value.utf8.count > Self.keyLimit {
            var cut = Self.keyLimit
            let bytes = Array(value.utf8)
            while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
            value = String(decoding: bytes[..<cut], as: UTF8.self)
        }
        self.key = PageKey(value: value, id: key.id)
    }

    var encoded: String {
        var bytes: [UInt8] = [Self.version]
        for field in [list, order, completed.map { $0 ? "t" : "f" } ?? "", search ?? "", key.value, String(key.id)] {
            var length = field.utf8.count
            repeat {
                bytes.append(UInt8(length & 0x7F) | (length >= 0x80 ? 0x80 : 0))
                length >>= 7
            } while length > 0
            bytes.append(contentsOf: field.utf8)
        }
        let sum = Self.checksum(bytes)
        bytes += [UInt8(sum >> 24), UInt8(sum >> 16 & 0xFF), UInt8(sum >> 8 & 0xFF), UInt8(sum & 0xFF)]
        return Base64URL.encode(bytes)
    }

    /// Why a text is not a cursor of `entity`'s list; each reason is the 422's message.
    enum Malformed: Error, Equatable {
        case notBase64, checksum, version, fields, otherList, order, key
    }

    init(decoding text: String, of entity: Entity) throws(Malformed) {
        guard let bytes = Base64URL.decode(text), bytes.count > 5 else { throw .notBase64 }
        let body = bytes.dropLast(4)
        let sum = bytes.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard Self.checksum(body) == sum else { throw .checksum }
        guard body.first == Self.version else { throw .version }
        var fields: [String] = []
        var index = body.startIndex + 1
        while index < body.endIndex {
            var length = 0, shift = 0
            while true {
                guard index < body.endIndex, shift < 28 else { throw .fields }
                let byte = body[index]
                index += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte & 0x80 == 0 { break }
            }
            guard body.endIndex - index >= length else { throw .fields }
            fields.append(String(decoding: body[index..<index + length], as: UTF8.self))
            index += length
        }
        guard fields.count == 6, ["", "t", "f"].contains(fields[2]) else { throw .fields }
        guard fields[0] == entity.table else { throw .otherList }
        let order = fields[1]
        guard entity.orders.contains(order) else { throw .order }
        guard let id = Int64(fields[5]), id > 0, let column = entity.column(order.hasPrefix("-") ? String(order.dropFirst()) : order),
            Self.readable(fields[4], as: column.kind)
        else { throw .key }
        list = fields[0]
        self.order = order
        completed = fields[2].isEmpty ? nil : fields[2] == "t"
        search = fields[3].isEmpty ? nil : fields[3]
        key = PageKey(value: fields[4], id: id)
    }

    /// Whether PostgreSQL reads `value` as a key of this kind, as the stores' statements cast it.
    private static func readable(_ value: String, as kind: Column.Kind) -> Bool {
        switch kind {
        case .identifier: if let number = Int64(value) { number > 0 } else { false }
        case .text: !value.utf8.contains(0)
        case .boolean: value == "t" || value == "f"
        // What the statements write (`rfc3339`), and only a time that is written back the same.
        case .timestamp: unixMicroseconds(rfc3339: value).map { rfc3339(unixMicroseconds: $0) == value } ?? false
        }
    }

    static func checksum<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt32 {
        bytes.reduce(UInt32(0x811c_9dc5)) { ($0 ^ UInt32($1)) &* 0x0100_0193 }
    }
}

/// RFC 4648 §5, without padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * position)) & 0x3F]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil for any character outside the alphabet, padding included, or a length no encoding has.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var value = 0, bits = 0
        for character in text.utf8 {
            let digit: Int
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = Int(character - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = Int(character - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(character - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"): digit = 62
            case UInt8(ascii: "_"): digit = 63
            default: return nil
            }
            value = (value << 6 | digit) & 0xFFFFFF
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((value >> bits) & 0xFF))
            }
        }
        // A last character with bits left over that are not zero, or one character alone, is no encoding's end.
        guard bits < 6, value & ((1 << bits) - 1) == 0 else { return nil }
        return out
    }
}

/// The cursor of the page after one, for the answer's `Link` (a class: a reply carries it by reference).
final class NextPage: Sendable {
    let cursor: String
    let take: Int64

    init(cursor: String, take: Int64) {
        self.cursor = cursor
        self.take = take
    }

    /// RFC 8288: the next page, relative to the list's path, with the page size of this one.
    func link(path: String) -> String {
        "<\(path)?cursor=\(cursor)&take=\(take)>; rel=\"next\""
    }
}

extension Paging {
    /// `cursor`: where a page starts, from the `Link` of the page before it. One component for every list: what it
    /// holds is opaque, and each list refuses another's.
    static func cursor(_ entity: Entity) -> Parameter {
        Parameter(
            name: "cursor", location: .query, rule: .cursor(CursorList(entity: entity)),
            description: """
                Where the page starts: the opaque value in the `Link: <…>; rel="next"` of the page before it. It keeps \
                that page's `order`, filters and `q`, which may be left out or given with the same values; `skip` \
                must be absent or 0. Pages reached this way cost the same at any depth, and a walk from the first \
                page visits every matching item once, in order, while others are created and deleted. Empty: the \
                first page.
                """,
            component: "Cursor")
    }

    /// The 422 of a cursor that cannot be used here, in FastAPI's shape for a validator's `ValueError`.
    static func cursorIssue(_ message: String, _ raw: String) -> ValidationIssue {
        ValidationIssue(
            type: "value_error", location: [.key("query"), .key("cursor")], message: "Value error, \(message)", input: .string(raw),
            context: ["error": .object(JSONObject())])
    }

    /// The 422's message for a text that is no cursor of the list.
    static func message(_ malformed: ListCursor.Malformed) -> String {
        switch malformed {
        case .notBase64: "not a cursor of this API (not base64url)"
        case .checksum: "the cursor is damaged or was changed (its checksum does not match)"
        case .version: "the cursor is of another version of this API"
        case .fields, .key: "the cursor is damaged or was changed"
        case .otherList: "the cursor is of another list"
        case .order: "the cursor's order is not one of this list's"
        }
    }

    /// The request's cursor (`raw`, already validated), its list parameters put into `values`: one the request
    /// `given` too must have the cursor's value, `skip` must be 0, and a list without `take` (a whole collection)
    /// has no pages to follow.
    static func adopt(
        _ raw: String, of entity: Entity, parameters: [Parameter], values: inout [FieldValue], given: (String) -> Bool
    ) throws(ValidationIssue) -> ListCursor {
        guard let cursor = try? ListCursor(decoding: raw, of: entity) else { preconditionFailure("cursor adopted unvalidated") }
        for (index, parameter) in parameters.enumerated() where parameter.location == .query {
            let carried: FieldValue
            switch parameter.name {
            case skip.name:
                guard values[index] == .integer(0) else { throw cursorIssue("a cursor's page starts after its row: leave out `skip`", raw) }
                continue
            case take.name:
                guard values[index] != .absent else { throw cursorIssue("a cursor pages with `take`", raw) }
                continue
            case "order": carried = .text(cursor.order)
            case "completed": carried = cursor.completed.map { .boolean($0) } ?? .absent
            case "q": carried = cursor.search.map { .text($0) } ?? .absent
            default: continue
            }
            if given(parameter.name), values[index] != carried {
                throw cursorIssue("the cursor is of a list with another `\(parameter.name)`: leave it out or give the cursor's", raw)
            }
            values[index] = carried
        }
        return cursor
    }

    /// A page's reply, with the cursor of the page after it when there is one.
    static func reply(_ page: Page, of entity: Entity, take: Int64, order: String, completed: Bool? = nil, search: String?) -> Reply {
        guard page.hasNext, page.rows.rowCount > 0 else { return .page(page, next: nil) }
        let key = PageKey(row: page.rows.rowCount - 1, of: page.rows, as: entity, order: order)
        let cursor = ListCursor(list: entity.table, order: order, completed: completed, search: search, key: key)
        return .page(page, next: NextPage(cursor: cursor.encoded, take: take))
    }
}
