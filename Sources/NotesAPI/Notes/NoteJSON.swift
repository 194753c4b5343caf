import NotesStore

extension JSONWriter {
    /// `{"id":1,"text":"...","completed":false,"created_at":"...","updated_at":"..."}`
    mutating func note(_ note: Note) {
        object { writer, member in
            member(&writer, "id")
            writer.integer(note.id)
            member(&writer, "text")
            writer.string(note.text)
            member(&writer, "completed")
            writer.bool(note.completed)
            member(&writer, "created_at")
            writer.string(note.createdAt)
            member(&writer, "updated_at")
            writer.string(note.updatedAt)
        }
    }
}
