import HTTPMessages
import NotesStore

/// `/articles` and `/articles/{article_id}`, from the FastAPI blog example; the content is stored as sent
/// (the example stores the title by mistake).
enum ArticleEndpoints {
    static let articleID = Parameter.pathID("article_id", "The article's id (a positive 64-bit integer)")
    static let notFound = ErrorCase.named("ArticleNotFound", .notFound("Article does not exist"), "No article has this id")
    static let authorMissing = ErrorCase.inPlace(.notFound("Author does not exist"), "No author has the id given as `author_id`")

    static let all = [list, create, get, delete]

    static let list = Endpoint.collection(
        "/articles", of: .article, operationID: "listArticles", tag: .articles, summary: "List articles",
        description: "Articles in `order` (by ascending id when absent): without `take`, every one from `skip` on, as the blog example answers; with `take`, a page as for notes. With `q`, only the articles whose title and content match the search. `X-Total-Count` gives the number of all matching articles.",
        answer: "The articles, or the page of them", order: Paging.order(.article, component: "ArticleOrder"),
        search: Paging.search(over: "title and content", component: "ArticleSearch")
    ) { $0.articles.all }

    static let create = Endpoint(
        "POST", "/articles", operationID: "createArticle", tag: .articles, summary: "Create an article",
        description: "The author must exist. The content is stored as sent.",
        body: RequestBody(
            entity: .article, fields: .allRequired, schema: "ArticleIn", description: "The article to create; unknown fields are ignored"),
        success: .entity(.article, .created, "The created article"), errors: [authorMissing]
    ) { services, inputs in
        services.articles.create(inputs.body, requestID: inputs.requestID).map { $0.map(Reply.row) ?? .missing }
    }

    static let get = Endpoint(
        "GET", "/articles/{article_id}", operationID: "getArticle", tag: .articles, summary: "Read an article",
        parameters: [articleID], success: .entity(.article, .ok, "The article"), errors: [notFound],
        precondition: .ifNoneMatch
    ) { services, inputs in
        services.articles.table.find(id: inputs.integer(articleID)).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/articles/{article_id}", operationID: "deleteArticle", tag: .articles, summary: "Delete an article",
        parameters: [articleID], success: .noContent("The article is deleted (no body)"), errors: [notFound],
        precondition: .ifMatch
    ) { services, inputs in
        services.articles.table.delete(id: inputs.integer(articleID), versions: inputs.versions).map { outcome in
            Reply.written(outcome) { .noContent }
        }
    }
}
