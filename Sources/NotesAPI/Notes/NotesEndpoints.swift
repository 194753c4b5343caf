import HTTPMessages
import NotesStore

/// `/notes/` and `/notes/{note_id}/`: the FastAPI notes tutorial's API, with 404 for missing notes, PATCH,
/// a `completed` filter and `X-Total-Count`.
enum NotesEndpoints {
    static func register(in router: inout Routes) {
        router.add("GET", "/notes", list)
        router.add("POST", "/notes", create)
        router.add("GET", "/notes/{note_id}", get)
        router.add("PUT", "/notes/{note_id}", update)
        router.add("PATCH", "/notes/{note_id}", patch)
        router.add("DELETE", "/notes/{note_id}", delete)
    }

    private static let notFound = APIError.notFound("Note not found")

    static func list(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        var query = QueryReader(request)
        let (skip, take) = query.page()
        let completed = query.optionalBool("completed")
        try query.validate()
        return services.notes.notes(skip: skip, take: take, completed: completed).map { page in
            Responses.list(page, capacity: 160) { $0.note($1) }
        }
    }

    static func create(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        var body = FieldReader(try JSONBody.parse(request))
        let text = body.string("text")
        let completed = body.bool("completed")
        guard let text, let completed else { throw APIError.validation(body.issues) }
        return services.notes.create(text: text, completed: completed, requestID: request.requestID).map {
            noteResponse(.created, $0)
        }
    }

    static func get(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        services.notes.note(id: try pathID(parameters, "note_id")).found(or: notFound) { noteResponse(.ok, $0) }
    }

    static func update(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        let (id, body) = try idAndBody(request, parameters)
        var fields = body
        let text = fields.string("text")
        let completed = fields.bool("completed")
        guard let id, let text, let completed, fields.issues.isEmpty else { throw APIError.validation(fields.issues) }
        return services.notes.update(id: id, text: text, completed: completed).found(or: notFound) { noteResponse(.ok, $0) }
    }

    static func patch(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        let (id, body) = try idAndBody(request, parameters)
        var fields = body
        let text = fields.optionalString("text")
        let completed = fields.optionalBool("completed")
        guard let id, fields.issues.isEmpty else { throw APIError.validation(fields.issues) }
        return services.notes.patch(id: id, text: text, completed: completed).found(or: notFound) { noteResponse(.ok, $0) }
    }

    static func delete(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        let id = try pathID(parameters, "note_id")
        return services.notes.delete(id: id).found(or: notFound) {
            Responses.json(.ok, capacity: 64) { writer in
                writer.object { writer, member in
                    member(&writer, "message")
                    writer.string("Note with id: \(id) deleted successfully!")
                }
            }
        }
    }

    /// The id and the body of PUT and PATCH, read together so that a 422 lists the problems of both.
    private static func idAndBody(
        _ request: HTTPRequest, _ parameters: PathParameters
    ) throws(APIError) -> (Int64?, FieldReader) {
        let body = try JSONBody.parse(request)
        switch IntegerParameter.positiveID(parameters["note_id"] ?? "", name: "note_id") {
        case .success(let id): return (id, FieldReader(body))
        case .failure(let issue): return (nil, FieldReader(body, issues: [issue]))
        }
    }

    private static func noteResponse(_ status: HTTPStatus, _ note: Note) -> HTTPResponse {
        Responses.json(status, capacity: 160 + note.text.utf8.count) { $0.note(note) }
    }
}

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
