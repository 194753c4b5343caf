import HTTPMessages
import NotesStore

/// `/notes/` and `/notes/{note_id}/`: the FastAPI notes tutorial's API, with 404 for missing notes.
struct NotesEndpoints {
    static let pageSizeLimit: Int64 = 100
    static let defaultPageSize: Int64 = 20

    let notes: NoteStore

    func register(in router: inout Router) {
        router.add("GET", "/notes", list)
        router.add("POST", "/notes", create)
        router.add("GET", "/notes/{note_id}", get)
        router.add("PUT", "/notes/{note_id}", update)
        router.add("DELETE", "/notes/{note_id}", delete)
    }

    private static let notFound = APIError.notFound("Note not found")

    func list(_ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let (skip, take) = try Self.page(request)
        let page = try notes.notes(skip: skip, take: take)
        var writer = JSONWriter(capacity: 160 * page.count + 2)
        writer.array(page) { $0.note($1) }
        return .json(.ok, writer.bytes)
    }

    /// `skip` ≥ 0 (default 0) and `take` in 1...100 (default 20), both reported at once when wrong.
    static func page(_ request: HTTPRequest) throws(APIError) -> (skip: Int64, take: Int64) {
        let items = queryItems(request.rawQuery)
        let skip = IntegerParameter.query(items, name: "skip", default: 0, range: 0...Int64.max)
        let take = IntegerParameter.query(items, name: "take", default: defaultPageSize, range: 1...pageSizeLimit)
        switch (skip, take) {
        case (.success(let skip), .success(let take)): return (skip, take)
        default:
            throw .validation([skip, take].compactMap { if case .failure(let issue) = $0 { issue } else { nil } })
        }
    }

    func create(_ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let body = try JSONBody.parse(request)
        var issues: [ValidationIssue] = []
        guard let input = NoteInput.decode(body, issues: &issues) else { throw APIError.validation(issues) }
        return noteResponse(.created, try notes.create(text: input.text, completed: input.completed))
    }

    func get(_ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let id = try Self.requireNoteID(parameters)
        guard let note = try notes.note(id: id) else { throw Self.notFound }
        return noteResponse(.ok, note)
    }

    func update(_ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let body = try JSONBody.parse(request)
        var issues: [ValidationIssue] = []
        let id = Self.noteID(parameters)
        if case .failure(let issue) = id { issues.append(issue) }
        let input = NoteInput.decode(body, issues: &issues)
        guard case .success(let id) = id, let input else { throw APIError.validation(issues) }
        guard let note = try notes.update(id: id, text: input.text, completed: input.completed) else { throw Self.notFound }
        return noteResponse(.ok, note)
    }

    func delete(_ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let id = try Self.requireNoteID(parameters)
        guard try notes.delete(id: id) else { throw Self.notFound }
        var writer = JSONWriter(capacity: 64)
        writer.object { writer, member in
            member(&writer, "message")
            writer.string("Note with id: \(id) deleted successfully!")
        }
        return .json(.ok, writer.bytes)
    }

    private static func noteID(_ parameters: PathParameters) -> Result<Int64, ValidationIssue> {
        IntegerParameter.positiveID(parameters["note_id"] ?? "", name: "note_id")
    }

    /// The id, for endpoints where it is the only input.
    private static func requireNoteID(_ parameters: PathParameters) throws(APIError) -> Int64 {
        switch noteID(parameters) {
        case .success(let id): id
        case .failure(let issue): throw .validation([issue])
        }
    }

    private func noteResponse(_ status: HTTPStatus, _ note: Note) -> HTTPResponse {
        var writer = JSONWriter(capacity: 160 + note.text.utf8.count)
        writer.note(note)
        return .json(status, writer.bytes)
    }
}
