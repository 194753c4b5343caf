import HTTPMessages
import NotesStore

/// `/notes/` and `/notes/{note_id}/`: the FastAPI notes tutorial's API, with 404 for missing notes, PATCH,
/// a `completed` filter and `X-Total-Count`.
enum NotesEndpoints {
    static let noteID = Parameter.pathID("note_id", "The note's id.")
    static let completed = Parameter(
        name: "completed", location: .query, rule: .optionalBool, description: "Only the notes with this value of `completed`.")
    static let notFound = APIError.notFound("Note not found")
    static let input = RequestBody(entity: .note, fields: .allRequired, schema: "NoteIn")

    static let all = [list, create, get, replace, patch, delete]

    static let list = Endpoint(
        "GET", "/notes", operationID: "listNotes", parameters: [Paging.skip, Paging.take, completed], success: .page(.note)
    ) { services, inputs in
        services.notes.notes(skip: inputs.integer(Paging.skip), take: inputs.integer(Paging.take), completed: inputs.bool(completed))
            .map(Reply.page)
    }

    static let create = Endpoint(
        "POST", "/notes", operationID: "createNote", body: input, success: .entity(.note, .created)
    ) { services, inputs in
        services.notes.table.create(inputs.body, requestID: inputs.requestID).map(Reply.row)
    }

    static let get = Endpoint(
        "GET", "/notes/{note_id}", operationID: "getNote", parameters: [noteID], success: .entity(.note, .ok), errors: [notFound]
    ) { services, inputs in
        services.notes.table.find(id: inputs.integer(noteID)).map(Reply.row)
    }

    static let replace = Endpoint(
        "PUT", "/notes/{note_id}", operationID: "replaceNote", parameters: [noteID], body: input, success: .entity(.note, .ok),
        errors: [notFound]
    ) { services, inputs in
        services.notes.update(id: inputs.integer(noteID), inputs.body).map(Reply.row)
    }

    static let patch = Endpoint(
        "PATCH", "/notes/{note_id}", operationID: "updateNote", parameters: [noteID],
        body: RequestBody(entity: .note, fields: .allOptional, schema: "NotePatch"), success: .entity(.note, .ok),
        errors: [notFound]
    ) { services, inputs in
        services.notes.patch(id: inputs.integer(noteID), inputs.body).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/notes/{note_id}", operationID: "deleteNote", parameters: [noteID], success: .message, errors: [notFound]
    ) { services, inputs in
        let id = inputs.integer(noteID)
        return services.notes.table.delete(id: id).map { $0 ? .message("Note with id: \(id) deleted successfully!") : .missing }
    }
}
