/// The body of POST and PUT /notes: `{"text": str, "completed": bool}`. Unknown fields are ignored.
struct NoteInput: Equatable {
    let text: String
    let completed: Bool

    /// Decodes the body, adding every problem to `issues` (which may already hold path problems).
    static func decode(_ body: JSONValue?, issues: inout [ValidationIssue]) -> NoteInput? {
        var reader = FieldReader(body)
        let text = reader.string("text")
        let completed = reader.bool("completed")
        issues += reader.issues
        guard let text, let completed else { return nil }
        return NoteInput(text: text, completed: completed)
    }
}
