import JSONOutput

extension JSONWriter {
    /// A parsed document written back (the echoed `input` of an error).
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
