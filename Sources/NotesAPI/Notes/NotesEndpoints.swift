import HTTPMessages
import NotesStore

/// `/notes/` and `/notes/{note_id}/`: the FastAPI notes tutorial's API, with 404 for missing notes, PATCH,
/// a `completed` filter and `X-Total-Count`.
enum NotesEndpoints {
    static let noteID = Parameter.pathID("note_id", "The note's id (a positive 64-bit integer)")
    static let completed = Parameter(
        name: "completed", location: .query, rule: .optionalBool,
        description: """
            Only the completed notes (`true`) or only the open ones (`false`); all notes when absent. Like FastAPI, \
            also accepts `1`/`0`, `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, in any case.
            """)
    static let search = Paging.search(over: "text", component: "NoteSearch")
    static let order = Paging.order(.note, component: "NoteOrder")
    static let cursor = Paging.cursor(.note)
    static let notFound = ErrorCase.named("NoteNotFound", .notFound("Note not found"), "No note has this id")

    static func input(_ description: String) -> RequestBody {
        RequestBody(entity: .note, fields: .allRequired, schema: "NoteIn", description: description)
    }

    static let all = [list, create, get, replace, patch, delete]

    static let list = Endpoint(
        "GET", "/notes/", operationID: "listNotes", tag: .notes, summary: "List notes",
        description: """
            Notes in `order` (by ascending id when absent), `take` at most, after skipping `skip`; optionally only the \
            completed (or only the open) ones, and only those whose text matches the search `q`. `X-Total-Count` \
            gives the number of all matching notes, regardless of `skip` and `take`. `Link: <…>; rel="next"` gives the             next page, by `cursor`, when there is one.
            """,
        parameters: [Paging.skip, Paging.take, completed, search, order, cursor], success: .page(.note, "The page of notes"),
        precondition: .ifNoneMatch
    ) { services, inputs in
        let take = inputs.integer(Paging.take), flag = inputs.bool(completed), words = inputs.optionalText(search)
        let order = inputs.text(order)
        let page = inputs.cursor.map { services.notes.notes(after: $0.key, take: take, completed: flag, search: words, order: order) }
            ?? services.notes.notes(skip: inputs.integer(Paging.skip), take: take, completed: flag, search: words, order: order)
        return page.map { Paging.reply($0, of: .note, take: take, order: order, completed: flag, search: words) }
    }

    static let create = Endpoint(
        "POST", "/notes/", operationID: "createNote", tag: .notes, summary: "Create a note",
        body: input("The note to create; unknown fields are ignored"), success: .entity(.note, .created, "The created note")
    ) { services, inputs in
        services.notes.table.create(inputs.body, requestID: inputs.requestID).map(Reply.row)
    }

    static let get = Endpoint(
        "GET", "/notes/{note_id}/", operationID: "getNote", tag: .notes, summary: "Read a note", parameters: [noteID],
        success: .entity(.note, .ok, "The note"), errors: [notFound], precondition: .ifNoneMatch
    ) { services, inputs in
        services.notes.table.find(id: inputs.integer(noteID)).map(Reply.row)
    }

    static let replace = Endpoint(
        "PUT", "/notes/{note_id}/", operationID: "replaceNote", tag: .notes, summary: "Replace a note",
        description: "Sets both fields and `updated_at`.", parameters: [noteID],
        body: input("The note's new content; unknown fields are ignored"), success: .entity(.note, .ok, "The updated note"),
        errors: [notFound], precondition: .ifMatch
    ) { services, inputs in
        services.notes.update(id: inputs.integer(noteID), inputs.body, versions: inputs.versions).map(Reply.written)
    }

    static let patch = Endpoint(
        "PATCH", "/notes/{note_id}/", operationID: "updateNote", tag: .notes, summary: "Update some fields of a note",
        description: """
            Changes only the fields sent. `updated_at` changes only when a field is sent; an empty object changes \
            nothing and returns the note as it is.
            """,
        parameters: [noteID],
        body: RequestBody(
            entity: .note, fields: .allOptional, schema: "NotePatch", description: "The fields to change; unknown fields are ignored"),
        success: .entity(.note, .ok, "The note after the change"), errors: [notFound], precondition: .ifMatch
    ) { services, inputs in
        services.notes.patch(id: inputs.integer(noteID), inputs.body, versions: inputs.versions).map(Reply.written)
    }

    static let delete = Endpoint(
        "DELETE", "/notes/{note_id}/", operationID: "deleteNote", tag: .notes, summary: "Delete a note", parameters: [noteID],
        success: .message("The note is deleted"), errors: [notFound], precondition: .ifMatch
    ) { services, inputs in
        let id = inputs.integer(noteID)
        return services.notes.table.delete(id: id, versions: inputs.versions).map { outcome in
            Reply.written(outcome) { .message("Note with id: \(id) deleted successfully!") }
        }
    }
}
