import HTTPMessages
import NotesStore

/// `/authors` and `/authors/{author_id}`, from the FastAPI blog example; deleting an author who still has
/// articles is a 409 rather than the example's 500.
enum AuthorEndpoints {
    static let authorID = Parameter.pathID("author_id", "The author's id (a positive 64-bit integer)")
    static let notFound = ErrorCase.named("AuthorNotFound", .notFound("Author does not exist"), "No author has this id")
    static let hasArticles = ErrorCase.inPlace(.conflict("Author has articles: delete them first"), "The author still has articles")

    static let all = [list, create, get, delete]

    static let list = Endpoint.page(
        "/authors", of: .author, operationID: "listAuthors", tag: .authors, summary: "List authors",
        description: "Authors by ascending id, with the same paging as notes. `X-Total-Count` gives the number of all authors.",
        answer: "The page of authors"
    ) { $0.authors.table }

    static let create = Endpoint(
        "POST", "/authors", operationID: "createAuthor", tag: .authors, summary: "Create an author",
        body: RequestBody(
            entity: .author, fields: .allRequired, schema: "AuthorIn", description: "The author to create; unknown fields are ignored"),
        success: .entity(.author, .created, "The created author")
    ) { services, inputs in
        services.authors.table.create(inputs.body, requestID: inputs.requestID).map(Reply.row)
    }

    static let get = Endpoint(
        "GET", "/authors/{author_id}", operationID: "getAuthor", tag: .authors, summary: "Read an author",
        parameters: [authorID], success: .entity(.author, .ok, "The author"), errors: [notFound]
    ) { services, inputs in
        services.authors.table.find(id: inputs.integer(authorID)).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/authors/{author_id}", operationID: "deleteAuthor", tag: .authors, summary: "Delete an author",
        description: "Only an author without articles can be deleted: delete the author's articles first.",
        parameters: [authorID], success: .noContent("The author is deleted (no body)"), errors: [notFound, hasArticles]
    ) { services, inputs in
        services.authors.delete(id: inputs.integer(authorID)).map { deletion in
            switch deletion {
            case .deleted: .noContent
            case .notFound: .missing
            case .hasArticles: .refused(hasArticles.error)
            }
        }
    }
}
