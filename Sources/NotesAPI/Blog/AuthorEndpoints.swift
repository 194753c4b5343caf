import HTTPMessages
import NotesStore

/// `/authors` and `/authors/{author_id}`, from the FastAPI blog example; deleting an author who still has
/// articles is a 409 rather than the example's 500.
enum AuthorEndpoints {
    static let authorID = Parameter.pathID("author_id", "The author's id.")
    static let notFound = APIError.notFound("Author does not exist")
    static let hasArticles = APIError.conflict("Author has articles: delete them first")

    static let all = [list, create, get, delete]

    static let list = Endpoint(
        "GET", "/authors", operationID: "listAuthors", parameters: [Paging.skip, Paging.take], success: .page(.author)
    ) { services, inputs in
        services.authors.table.page(skip: inputs.integer(Paging.skip), take: inputs.integer(Paging.take)).map(Reply.page)
    }

    static let create = Endpoint(
        "POST", "/authors", operationID: "createAuthor", body: RequestBody(entity: .author, fields: .allRequired, schema: "AuthorIn"),
        success: .entity(.author, .created)
    ) { services, inputs in
        services.authors.table.create(inputs.body, requestID: inputs.requestID).map(Reply.row)
    }

    static let get = Endpoint(
        "GET", "/authors/{author_id}", operationID: "getAuthor", parameters: [authorID], success: .entity(.author, .ok),
        errors: [notFound]
    ) { services, inputs in
        services.authors.table.find(id: inputs.integer(authorID)).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/authors/{author_id}", operationID: "deleteAuthor", parameters: [authorID], success: .noContent,
        errors: [notFound, hasArticles]
    ) { services, inputs in
        services.authors.delete(id: inputs.integer(authorID)).map { deletion in
            switch deletion {
            case .deleted: .noContent
            case .notFound: .missing
            case .hasArticles: .refused(hasArticles)
            }
        }
    }
}
