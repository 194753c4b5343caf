import HTTPMessages
import NotesStore

/// `/articles` and `/articles/{article_id}`, from the FastAPI blog example; the content is stored as sent
/// (the example stores the title by mistake).
enum ArticleEndpoints {
    static let articleID = Parameter.pathID("article_id", "The article's id.")
    static let notFound = APIError.notFound("Article does not exist")

    static let all = [list, create, get, delete]

    static let list = Endpoint(
        "GET", "/articles", operationID: "listArticles", parameters: [Paging.skip, Paging.take], success: .page(.article)
    ) { services, inputs in
        services.articles.table.page(skip: inputs.integer(Paging.skip), take: inputs.integer(Paging.take)).map(Reply.page)
    }

    static let create = Endpoint(
        "POST", "/articles", operationID: "createArticle",
        body: RequestBody(entity: .article, fields: .allRequired, schema: "ArticleIn"), success: .entity(.article, .created),
        errors: [AuthorEndpoints.notFound]
    ) { services, inputs in
        services.articles.create(inputs.body, requestID: inputs.requestID).map { $0.map(Reply.row) ?? .refused(AuthorEndpoints.notFound) }
    }

    static let get = Endpoint(
        "GET", "/articles/{article_id}", operationID: "getArticle", parameters: [articleID], success: .entity(.article, .ok),
        errors: [notFound]
    ) { services, inputs in
        services.articles.table.find(id: inputs.integer(articleID)).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/articles/{article_id}", operationID: "deleteArticle", parameters: [articleID], success: .noContent,
        errors: [notFound]
    ) { services, inputs in
        services.articles.table.delete(id: inputs.integer(articleID)).map { $0 ? .noContent : .missing }
    }
}
