import JSONOutput

extension JSONValue {
    /// The value as Python's `json.dumps(value, indent=2, ensure_ascii=False)` writes it, so that a document
    /// written here and one written by Python's tools are the same bytes.
    func prettyPrinted() -> String {
        var writer = JSONWriter(capacity: 1 << 16)
        write(to: &writer, depth: 0)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private func write(to writer: inout JSONWriter, depth: Int) {
        func newline(_ depth: Int) {
            writer.raw("\n")
            for _ in 0..<depth { writer.raw("  ") }
        }
        switch self {
        case .array(let elements) where !elements.isEmpty:
            writer.raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { writer.raw(",") }
                newline(depth + 1)
                element.write(to: &writer, depth: depth + 1)
            }
            newline(depth)
            writer.raw("]")
        case .object(let object) where !object.members.isEmpty:
            writer.raw("{")
            for (index, member) in object.members.enumerated() {
                if index > 0 { writer.raw(",") }
                newline(depth + 1)
                writer.string(member.key)
                writer.raw(": ")
                member.value.write(to: &writer, depth: depth + 1)
            }
            newline(depth)
            writer.raw("}")
        default:
            writer.value(self)
        }
    }
}

extension JSONObject {
    /// Appends a member.
    mutating func append(_ key: String, _ value: JSONValue) {
        members.append(Member(key: key, value: value))
    }

    /// The keys, in order.
    var keys: [String] { members.map { $0.key } }
}
