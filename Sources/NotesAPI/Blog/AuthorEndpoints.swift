import HTTPMessages
import NotesStore

/// `/authors` and `/authors/{author_id}`, from the FastAPI blog example; deleting an author who still has
/// articles is a 409 rather than the example's 500.
enum AuthorEndpoints {
    static func register(in router: inout Router<Services>) {
        router.add("GET", "/authors", list)
        router.add("POST", "/authors", create)
        router.add("GET", "/authors/{author_id}", get)
        router.add("DELETE", "/authors/{author_id}", delete)
    }

    static let notFound = APIError.notFound("Author does not exist")

    static func list(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        let (skip, take) = try QueryReader.page(of: request)
        return Responses.list(try services.authors.authors(skip: skip, take: take), capacity: 160) { $0.author($1) }
    }

    static func create(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        var body = FieldReader(try JSONBody.parse(request))
        let firstName = body.string("first_name")
        let lastName = body.string("last_name")
        guard let firstName, let lastName else { throw APIError.validation(body.issues) }
        let author = try services.authors.create(firstName: firstName, lastName: lastName, requestID: request.requestID)
        return Responses.json(.created) { $0.author(author) }
    }

    static func get(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        guard let author = try services.authors.author(id: try pathID(parameters, "author_id")) else { throw notFound }
        return Responses.json(.ok) { $0.author(author) }
    }

    static func delete(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> HTTPResponse {
        switch try services.authors.delete(id: try pathID(parameters, "author_id")) {
        case .deleted: return Responses.noContent
        case .notFound: throw notFound
        case .hasArticles: throw APIError.conflict("Author has articles: delete them first")
        }
    }
}

extension JSONWriter {
    mutating func author(_ author: Author) {
        object { writer, member in
            member(&writer, "id")
            writer.integer(author.id)
            member(&writer, "first_name")
            writer.string(author.firstName)
            member(&writer, "last_name")
            writer.string(author.lastName)
            member(&writer, "created_at")
            writer.string(author.createdAt)
            member(&writer, "updated_at")
            writer.string(author.updatedAt)
        }
    }
}
