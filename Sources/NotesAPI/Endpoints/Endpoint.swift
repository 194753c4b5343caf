import HTTPMessages
import NotesStore
import JSONOutput

/// A path or query parameter of an endpoint, with the rule that validates it. A class: each request reads its
/// endpoint's parameters, and a reference is one retain where a struct's copy is one per string it holds.
final class Parameter: Sendable {
    enum Location: String, Sendable {
        case path, query
    }

    enum Rule: Sendable, Equatable {
        /// Any integer, as FastAPI's `int`; one that no row has (zero, negative, beyond 64 bits) is answered
        /// with the endpoint's 404.
        case id
        /// An integer within `range`; `defaultValue` when left out.
        case integer(defaultValue: Int64, range: ClosedRange<Int64>)
        /// An integer within `range`; absent when left out.
        case optionalInteger(range: ClosedRange<Int64>)
        /// A boolean with the spellings pydantic accepts in a query string; absent when left out.
        case optionalBool
        /// One of a few words, as a string enum in FastAPI; `defaultValue` when left out.
        case choice(allowed: [String], defaultValue: String)
        /// One of a few words, as a `Literal[...]` in FastAPI (its 422 is a `literal_error`); `defaultValue`
        /// when left out.
        case literal(allowed: [String], defaultValue: String)
        /// Any text, as FastAPI's `str | None = None`; absent when left out, empty or only whitespace.
        case optionalText
        /// A page's `cursor` of this list (`ListCursor`), as its text; absent when left out or empty.
        case cursor(CursorList)
    }

    let name: String
    let location: Location
    let rule: Rule
    let description: String
    /// Its name among the OpenAPI document's parameter components: its own name, unless parameters of the same
    /// name differ between endpoints (each list's `order`).
    let component: String

    init(name: String, location: Location, rule: Rule, description: String, component: String? = nil) {
        self.name = name
        self.location = location
        self.rule = rule
        self.description = description
        self.component = component ?? name
    }

    /// An id in the path.
    static func pathID(_ name: String, _ description: String) -> Parameter {
        Parameter(name: name, location: .path, rule: .id, description: description)
    }
}

/// The list a `cursor` parameter belongs to: its entity, the same object for every endpoint of it.
struct CursorList: Sendable, Equatable {
    let entity: Entity

    static func == (lhs: CursorList, rhs: CursorList) -> Bool { lhs.entity === rhs.entity }
}

/// What an endpoint's body holds: the writable columns of an entity, all required (create, replace) or each
/// optional (PATCH). `schema` names it in the OpenAPI document.
struct RequestBody: Sendable {
    enum Fields: Sendable {
        case allRequired, allOptional
    }

    let entity: Entity
    let fields: Fields
    let schema: String
    let description: String
}

/// What an endpoint answers when all goes well; the text says it in the OpenAPI document.
enum Success: Sendable {
    /// One row of the entity, as a JSON object.
    case entity(Entity, HTTPStatus, String)
    /// A page of the entity as a JSON array, the number of all matching rows in `X-Total-Count`; also a whole
    /// collection, written as its rows arrive.
    case page(Entity, String)
    /// `{"message": ...}` with 200.
    case message(String)
    /// 204: no body, no content type.
    case noContent(String)
    /// An answer the handler makes whole (documents, the pool's status, the health check); the overlay of the
    /// OpenAPI document describes it.
    case document
}

/// A client error an endpoint may answer, and how the OpenAPI document describes it: as a named response
/// shared by the endpoints that answer it (`NoteNotFound`), or in place.
struct ErrorCase: Sendable {
    enum Documentation: Sendable {
        case component(name: String, description: String)
        case inline(description: String)
    }

    let error: APIError
    let documentation: Documentation

    static func named(_ name: String, _ error: APIError, _ description: String) -> ErrorCase {
        ErrorCase(error: error, documentation: .component(name: name, description: description))
    }

    static func inPlace(_ error: APIError, _ description: String) -> ErrorCase {
        ErrorCase(error: error, documentation: .inline(description: description))
    }
}

/// The conditional request header an endpoint evaluates against the entity tag of what it answers or writes
/// (`EntityTags`, RFC 9110 §13). Declaring it declares its answer: the header parameter, the 304 or 412, and
/// the `ETag` of the success, in the OpenAPI document.
enum Precondition: Sendable {
    /// `If-None-Match` on a read (weak comparison, a list of tags or `*`): 304 with the `ETag` and no body when
    /// it matches.
    case ifNoneMatch
    /// `If-Match` on a write (strong comparison, a list of tags or `*`, which any existing row matches): 412
    /// `Precondition Failed` when the row has another version, checked by the write's own statement.
    case ifMatch

    /// The header's name, as the OpenAPI document writes it.
    var header: String {
        switch self {
        case .ifNoneMatch: "If-None-Match"
        case .ifMatch: "If-Match"
        }
    }
}

/// The groups the OpenAPI document lists operations in; the overlay describes each.
enum Tag: String, Sendable {
    case notes, authors, articles, service
}

/// A whole collection to stream: from `skip` on, in `order`, only the rows matching `search` when given. A class,
/// so that a reply does not grow by what only collections carry.
final class CollectionRequest: Sendable {
    let all: WholeCollection
    let skip: Int64
    let order: String
    let search: String?

    init(_ all: WholeCollection, skip: Int64, order: String, search: String?) {
        self.all = all
        self.skip = skip
        self.order = order
        self.search = search
    }
}

/// What a handler answers, for its endpoint's declaration to turn into a response.
enum Reply {
    /// The first row, as the declared entity; the declared 404 when there is none.
    case row(Rows)
    /// With the cursor of the page after it, when rows follow (`Paging.reply`).
    case page(Page, next: NextPage?)
    /// Every row from `skip` on, streamed.
    case collection(CollectionRequest)
    case message(String)
    case noContent
    /// The declared 404.
    case missing
    /// One of the declared errors.
    case refused(APIError)
    /// A response made whole (`Success.document`).
    case response(HTTPResponse)

    /// The answer to a conditional write (`If-Match`): `applied`'s, the declared 404, or 412.
    static func written<Value>(_ outcome: Conditional<Value>, _ applied: (Value) -> Reply) -> Reply {
        switch outcome {
        case .applied(let value): applied(value)
        case .missing: .missing
        case .changed: .refused(.preconditionFailed)
        }
    }

    /// The answer to a conditional write that returns its row.
    static func written(_ outcome: Conditional<Rows>) -> Reply {
        written(outcome, Reply.row)
    }
}

/// One endpoint, declared once: method, path, inputs with their validation, the answer, the errors. The
/// router, the validation, the rendering of answers and the route lists of nginx and the OpenAPI document
/// all come from these values.
struct Endpoint: Sendable {
    typealias Handler = @Sendable (Services, Inputs) -> Query<Reply>

    let method: String
    /// `/notes/{note_id}/`: each `{name}` is a path parameter; the trailing slash is optional in requests,
    /// and the document writes the path as declared.
    let path: String
    let operationID: String
    let tag: Tag
    /// Its index in `RequestLabels.routes`, what the request counters count it under; set by the router's table.
    /// Two bytes beside the one-byte `tag`, in what was padding: a larger Endpoint moved the batch's arrays of
    /// them into other malloc size classes, +300 instructions per GET by id (callgrind).
    var routeIndex: UInt16 = 0
    let summary: String
    let description: String?
    /// Path parameters first, then the query's, in the order a 422 lists their problems.
    let parameters: [Parameter]
    let body: RequestBody?
    let success: Success
    /// The client errors the handler may answer besides validation (422) and the body's (400, 413).
    let errors: [ErrorCase]
    /// The conditional request header it evaluates, if any.
    let precondition: Precondition?
    let handler: Handler

    init(
        _ method: String, _ path: String, operationID: String, tag: Tag, summary: String, description: String? = nil,
        parameters: [Parameter] = [], body: RequestBody? = nil, success: Success, errors: [ErrorCase] = [],
        precondition: Precondition? = nil, handler: @escaping Handler
    ) {
        self.method = method
        self.path = path
        self.operationID = operationID
        self.tag = tag
        self.summary = summary
        self.description = description
        self.parameters = parameters
        self.body = body
        self.success = success
        self.errors = errors
        self.precondition = precondition
        self.handler = handler
    }

    /// `GET` of an entity's rows in `order`, from `skip` on: at most `take` of them, or all of them without
    /// `take`, as the blog example's lists answer; only those matching `search` (`q`), when given.
    static func collection(
        _ path: String, of entity: Entity, operationID: String, tag: Tag, summary: String, description: String, answer: String,
        order: Parameter, search: Parameter? = nil, from collection: @escaping @Sendable (Services) -> WholeCollection
    ) -> Endpoint {
        Endpoint(
            "GET", path, operationID: operationID, tag: tag, summary: summary, description: description,
            parameters: [Paging.skip, Paging.optionalTake] + (search.map { [$0] } ?? []) + [order, Paging.cursor(entity)],
            success: .page(entity, answer),
            precondition: .ifNoneMatch
        ) { services, inputs in
            let all = collection(services), skip = inputs.integer(Paging.skip)
            let words = search.flatMap { inputs.optionalText($0) }, order = inputs.text(order)
            guard let take = inputs.optionalInteger(Paging.optionalTake) else {
                return Query(value: .collection(CollectionRequest(all, skip: skip, order: order, search: words)))
            }
            let page = inputs.cursor.map { all.table.page(after: $0.key, take: take, order: order, search: words) }
                ?? all.table.page(skip: skip, take: take, order: order, search: words)
            return page.map { Paging.reply($0, of: entity, take: take, order: order, search: words) }
        }
    }

    /// 304 with the tag and no body, when the endpoint evaluates `If-None-Match` and it matches (RFC 9110
    /// §13.1.2; §15.4.5: the tag is sent again, the body never).
    private func notModified(_ tag: String, _ ifNoneMatch: String?) -> HTTPResponse? {
        guard precondition == .ifNoneMatch, let ifNoneMatch, EntityTags.noneMatchFails(ifNoneMatch, current: tag) else { return nil }
        return HTTPResponse(status: .notModified, headers: [("ETag", tag)])
    }

    /// The declared 404.
    var notFound: APIError {
        for errorCase in errors {
            if case .notFound = errorCase.error { return errorCase.error }
        }
        preconditionFailure("\(method) \(path) answers 404 without declaring it")
    }

    /// The request's inputs, validated as declared, or every problem found in one 422. The body's syntax
    /// comes first, as in FastAPI; an id beyond 64 bits in a valid request is the declared 404.
    func inputs(of request: HTTPRequest, path pathParameters: PathParameters) throws(APIError) -> Inputs {
        let json = try body.map { _ throws(APIError) in try JSONBody.parse(request) } ?? nil
        var issues: [ValidationIssue] = []
        var values: [FieldValue] = []
        values.reserveCapacity(parameters.count)
        var query: [(name: String, value: String)]?
        var namesNoRow = false
        for parameter in parameters {
            let raw: String?
            switch parameter.location {
            case .path:
                raw = pathParameters[parameter.name]
            case .query:
                if query == nil { query = queryItems(request.rawQuery) }
                // The last occurrence wins, as in Starlette.
                raw = query?.last { $0.name == parameter.name }?.value
            }
            switch parameter.value(raw) {
            case .success(let value):
                if parameter.rule == .id && value == .absent { namesNoRow = true }
                values.append(value)
            case .failure(let issue):
                issues.append(issue)
                values.append(.absent)
            }
        }
        var bodyValues: [FieldValue] = []
        if let body {
            var reader = FieldReader(json, issues: issues)
            bodyValues = body.entity.writableColumns.map { column in reader.value(of: column, body.fields) }
            issues = reader.issues
            namesNoRow = namesNoRow || reader.namesNoRow
        }
        // A cursor is read against the others: the list parameters it carries become the request's.
        var cursor: ListCursor?
        if issues.isEmpty, let index = parameters.firstIndex(where: { if case .cursor = $0.rule { true } else { false } }),
            case .cursor(let list) = parameters[index].rule, case .text(let raw) = values[index]
        {
            do {
                cursor = try Paging.adopt(raw, of: list.entity, parameters: parameters, values: &values) { name in
                    query?.contains { $0.name == name } ?? false
                }
            } catch {
                issues.append(error)
            }
        }
        if !issues.isEmpty { throw .validation(issues) }
        if namesNoRow { throw notFound }
        var versions: [Int64]?
        if precondition == .ifMatch, let header = request.ifMatch { versions = EntityTags.versions(ifMatch: header) }
        return Inputs(
            parameters: parameters, values: values, body: bodyValues, requestID: request.requestID, versions: versions, cursor: cursor)
    }

    /// The response a handler's reply stands for, by this declaration. A streamed collection runs its statement
    /// on the context's runner while it is written; only it asks for the context. `ifNoneMatch` is the
    /// request's header, evaluated when the endpoint declares it.
    func response(for reply: Reply, ifNoneMatch: String? = nil, context: () -> ResponseContext) -> Result<HTTPResponse, APIError> {
        switch (reply, success) {
        case (.row(let rows), .entity(let entity, let status, _)):
            guard rows.rowCount > 0 else { return .failure(notFound) }
            let tag = EntityTags.row(0, of: rows, as: entity)
            if let response = notModified(tag, ifNoneMatch) { return .success(response) }
            var writer = JSONWriter(capacity: 32 * rows.columnCount + rows.byteCount)
            writer.row(0, of: rows, as: entity)
            // One array of headers, not `.json`'s two joined: one allocation fewer on every GET by id.
            return .success(HTTPResponse(status: status, headers: [("Content-Type", "application/json"), ("ETag", tag)], body: writer.bytes))
        case (.page(let page, let next), .page(let entity, _)):
            let tag = EntityTags.page(page, of: entity)
            if let response = notModified(tag, ifNoneMatch) { return .success(response) }
            var writer = JSONWriter(capacity: 32 * page.rows.columnCount * page.rows.rowCount + page.rows.byteCount + 2)
            let columns = entity.columns
            writer.array(0..<page.rows.rowCount) { writer, row in writer.row(row, of: page.rows, columns: columns) }
            var headers = [("X-Total-Count", String(page.total)), ("ETag", tag)]
            if let next { headers.append(("Link", next.link(path: path))) }
            return .success(.json(.ok, writer.bytes, headers: headers))
        case (.collection(let request), .page(let entity, _)):
            return .success(.produced(by: CollectionResponse.producer(request, as: entity, context: context())))
        case (.message(let message), .message):
            var writer = JSONWriter(capacity: 32 + message.utf8.count)
            writer.object { writer, member in
                member(&writer, "message")
                writer.string(message)
            }
            return .success(.json(.ok, writer.bytes))
        case (.noContent, .noContent):
            return .success(HTTPResponse(status: .noContent))
        case (.missing, _):
            return .failure(notFound)
        case (.refused(let error), _):
            return .failure(error)
        case (.response(let response), .document):
            return .success(response)
        default:
            preconditionFailure("\(method) \(path) answered \(reply), which it does not declare")
        }
    }
}

/// An endpoint's validated inputs: each parameter's value, and the body's fields in the order of the
/// entity's writable columns (the order the store takes them in).
struct Inputs {
    let parameters: [Parameter]
    let values: [FieldValue]
    let body: [FieldValue]
    /// The web server's id of the client request: the same on every attempt (`EntityTable.create`).
    let requestID: String?
    /// The versions `If-Match` allows the write on (`EntityTags.versions`); nil without the header, with `*`, or
    /// when the endpoint does not declare it.
    let versions: [Int64]?
    /// The page's `cursor`, when the endpoint declares one and the request gives it; the list parameters it
    /// carries are already among `values`.
    let cursor: ListCursor?

    private func value(_ parameter: Parameter) -> FieldValue {
        guard let index = parameters.firstIndex(where: { $0.name == parameter.name && $0.location == parameter.location }) else {
            preconditionFailure("parameter \(parameter.name) is not declared")
        }
        return values[index]
    }

    /// An id or integer parameter.
    func integer(_ parameter: Parameter) -> Int64 {
        guard case .integer(let number) = value(parameter) else { preconditionFailure("\(parameter.name) is no integer") }
        return number
    }

    /// An optional integer parameter.
    func optionalInteger(_ parameter: Parameter) -> Int64? {
        switch value(parameter) {
        case .integer(let number): number
        case .absent: nil
        default: preconditionFailure("\(parameter.name) is no integer")
        }
    }

    /// An optional boolean parameter.
    func bool(_ parameter: Parameter) -> Bool? {
        switch value(parameter) {
        case .boolean(let flag): flag
        case .absent: nil
        default: preconditionFailure("\(parameter.name) is no boolean")
        }
    }

    func text(_ parameter: Parameter) -> String {
        guard case .text(let text) = value(parameter) else { preconditionFailure("\(parameter.name) is no text") }
        return text
    }

    /// An optional text parameter.
    func optionalText(_ parameter: Parameter) -> String? {
        switch value(parameter) {
        case .text(let text): text
        case .absent: nil
        default: preconditionFailure("\(parameter.name) is no text")
        }
    }
}
