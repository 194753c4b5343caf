import HTTPMessages
import NotesStore

/// `/authors` and `/authors/{author_id}`, from the FastAPI blog example; deleting an author who still has
/// articles is a 409 rather than the example's 500.
enum AuthorEndpoints {
    static func register(in router: inout Routes) {
        router.add("GET", "/authors", list)
        router.add("POST", "/authors", create)
        router.add("GET", "/authors/{author_id}", get)
        router.add("DELETE", "/authors/{author_id}", delete)
    }

    static let notFound = APIError.notFound("Author does not exist")

    static func list(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        let (skip, take) = try QueryReader.page(of: request)
        return services.authors.authors(skip: skip, take: take).map { page in
            Responses.list(page, capacity: 160) { $0.author($1) }
        }
    }

    static func create(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        var body = FieldReader(try JSONBody.parse(request))
        let firstName = body.string("first_name")
        let lastName = body.string("last_name")
        guard let firstName, let lastName else { throw APIError.validation(body.issues) }
        return services.authors.create(firstName: firstName, lastName: lastName, requestID: request.requestID).map { author in
            Responses.json(.created) { $0.author(author) }
        }
    }

    static func get(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        services.authors.author(id: try pathID(parameters, "author_id")).found(or: notFound) { author in
            Responses.json(.ok) { $0.author(author) }
        }
    }

    static func delete(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        services.authors.delete(id: try pathID(parameters, "author_id")).map { deletion in
            switch deletion {
            case .deleted: return Responses.noContent
            case .notFound: throw notFound
            case .hasArticles: throw APIError.conflict("Author has articles: delete them first")
            }
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
