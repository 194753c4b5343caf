import HTTPMessages
import NotesStore

/// `/articles` and `/articles/{article_id}`, from the FastAPI blog example; the content is stored as sent
/// (the example stores the title by mistake).
enum ArticleEndpoints {
    static func register(in router: inout Routes) {
        router.add("GET", "/articles", list)
        router.add("POST", "/articles", create)
        router.add("GET", "/articles/{article_id}", get)
        router.add("DELETE", "/articles/{article_id}", delete)
    }

    private static let notFound = APIError.notFound("Article does not exist")

    static func list(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        let (skip, take) = try QueryReader.page(of: request)
        return services.articles.articles(skip: skip, take: take).map { page in
            Responses.list(page, capacity: 256) { $0.article($1) }
        }
    }

    static func create(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        var body = FieldReader(try JSONBody.parse(request))
        let title = body.string("title")
        let content = body.string("content")
        let authorID = body.id("author_id")
        guard let title, let content, let authorID else { throw APIError.validation(body.issues) }
        let created = services.articles.create(title: title, content: content, authorID: authorID, requestID: request.requestID)
        return created.found(or: AuthorEndpoints.notFound) { article in
            Responses.json(.created, capacity: 128 + title.utf8.count + content.utf8.count) { $0.article(article) }
        }
    }

    static func get(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        services.articles.article(id: try pathID(parameters, "article_id")).found(or: notFound) { article in
            Responses.json(.ok) { $0.article(article) }
        }
    }

    static func delete(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) throws -> Query<HTTPResponse> {
        services.articles.delete(id: try pathID(parameters, "article_id")).found(or: notFound) { Responses.noContent }
    }
}

extension JSONWriter {
    mutating func article(_ article: Article) {
        object { writer, member in
            member(&writer, "id")
            writer.integer(article.id)
            member(&writer, "title")
            writer.string(article.title)
            member(&writer, "content")
            writer.string(article.content)
            member(&writer, "author_id")
            writer.integer(article.authorID)
        }
    }
}
