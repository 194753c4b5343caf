import HTTPMessages
import NotesStore

/// `/authors` and `/authors/{author_id}`, from the FastAPI blog example; deleting an author deletes their
/// articles too, as the example's ORM cascade does.
enum AuthorEndpoints {
    static let authorID = Parameter.pathID("author_id", "The author's id (a positive 64-bit integer)")
    static let notFound = ErrorCase.named("AuthorNotFound", .notFound("Author does not exist"), "No author has this id")
    static let articlesAddedMeanwhile = ErrorCase.inPlace(
        .conflict("Articles were being added to this author: try again"),
        "Articles for the author were added while it was being deleted, twice in a row; nothing was deleted")

    static let all = [list, create, get, delete]

    static let list = Endpoint.collection(
        "/authors", of: .author, operationID: "listAuthors", tag: .authors, summary: "List authors",
        description: "Authors in `order` (by ascending id when absent): without `take`, every one from `skip` on, as the blog example answers; with `take`, a page as for notes. `X-Total-Count` gives the number of all authors.",
        answer: "The authors, or the page of them", order: Paging.order(.author, component: "AuthorOrder")
    ) { $0.authors.all }

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
        parameters: [authorID], success: .entity(.author, .ok, "The author"), errors: [notFound],
        precondition: .ifNoneMatch
    ) { services, inputs in
        services.authors.table.find(id: inputs.integer(authorID)).map(Reply.row)
    }

    static let delete = Endpoint(
        "DELETE", "/authors/{author_id}", operationID: "deleteAuthor", tag: .authors, summary: "Delete an author",
        description: "Deletes the author and all the author's articles, in one transaction.",
        parameters: [authorID], success: .noContent("The author and their articles are deleted (no body)"),
        errors: [notFound, articlesAddedMeanwhile], precondition: .ifMatch
    ) { services, inputs in
        services.authors.delete(id: inputs.integer(authorID), versions: inputs.versions).map { deletion in
            switch deletion {
            case .deleted: .noContent
            case .notFound: .missing
            case .changed: .refused(.preconditionFailed)
            case .articlesAddedMeanwhile: .refused(articlesAddedMeanwhile.error)
            }
        }
    }
}
