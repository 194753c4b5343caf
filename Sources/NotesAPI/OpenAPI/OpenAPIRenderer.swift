import HTTPMessages
import NotesStore

/// Renders the OpenAPI document from the endpoints' declarations (`make openapi`, `notes-openapi`): every
/// path, operation, parameter, body, answer and error, and the schemas of the entities and bodies, come from
/// the declarations; prose the declarations do not hold (the document's info, tag descriptions, column
/// descriptions) and the examples come from the overlay, which may add to what is rendered but never
/// contradict it.
public enum OpenAPIRenderer {
    public enum Failure: Error, CustomStringConvertible {
        /// The overlay says something else than the declarations at this place.
        case conflict(path: String, rendered: String, overlay: String)
        case overlayNotAnObject

        public var description: String {
            switch self {
            case .conflict(let path, let rendered, let overlay):
                "the overlay contradicts the declarations at \(path): rendered \(rendered), overlay \(overlay)"
            case .overlayNotAnObject:
                "the overlay is not a JSON object"
            }
        }
    }

    /// The document as committed: rendered, merged with `overlay`, written as Python's json module writes it.
    public static func document(overlay: [UInt8]) throws -> String {
        let overlayValue = try JSONParser.parse(overlay, maxDepth: 256)
        guard case .object = overlayValue else { throw Failure.overlayNotAnObject }
        let merged = try merge(.object(rendered()), overlayValue, at: "")
        guard case .object(var document) = merged else { throw Failure.overlayNotAnObject }
        document = ordered(sortingResponses(document))
        return JSONValue.object(document).prettyPrinted() + "\n"
    }

    /// What the declarations alone say, without the overlay.
    public static func renderedOnly() -> String {
        JSONValue.object(rendered()).prettyPrinted() + "\n"
    }

    static func rendered() -> JSONObject {
        var document = JSONObject()
        document.append("openapi", .string("3.1.0"))
        var tags: [Tag] = []
        for endpoint in Endpoints.all where !tags.contains(endpoint.tag) { tags.append(endpoint.tag) }
        document.append("tags", .array(tags.map { .object(["name": .string($0.rawValue)]) }))
        var paths = JSONObject()
        var order: [String] = []
        var operations: [String: JSONObject] = [:]
        for endpoint in Endpoints.all {
            if operations[endpoint.path] == nil { order.append(endpoint.path) }
            operations[endpoint.path, default: JSONObject()].append(endpoint.method.lowercased(), .object(operation(endpoint)))
        }
        for path in order { paths.append(path, .object(operations[path]!)) }
        document.append("paths", .object(paths))
        document.append("components", .object(components()))
        return document
    }

    private static func reference(_ kind: String, _ name: String) -> JSONValue {
        .object(["$ref": .string("#/components/\(kind)/\(name)")])
    }

    private static func json(schema: JSONValue) -> JSONValue {
        .object(["application/json": .object(["schema": schema])])
    }

    /// The schema name of an entity's rows: `Note` for `note`.
    static func schemaName(_ entity: Entity) -> String {
        entity.singular.prefix(1).uppercased() + entity.singular.dropFirst()
    }

    private static func operation(_ endpoint: Endpoint) -> JSONObject {
        var operation = JSONObject()
        operation.append("tags", .array([.string(endpoint.tag.rawValue)]))
        operation.append("operationId", .string(endpoint.operationID))
        operation.append("summary", .string(endpoint.summary))
        if let description = endpoint.description { operation.append("description", .string(description)) }
        let parameters = endpoint.parameters.map(\.component) + (endpoint.precondition.map { [$0.header] } ?? [])
        if !parameters.isEmpty {
            operation.append("parameters", .array(parameters.map { reference("parameters", $0) }))
        }
        if let body = endpoint.body {
            operation.append("requestBody", .object([
                "description": .string(body.description), "required": .bool(true),
                "content": json(schema: reference("schemas", body.schema)),
            ]))
        }
        var responses = JSONObject()
        switch endpoint.success {
        case .entity(let entity, let status, let description):
            responses.append(String(status.code), .object([
                "description": .string(description), "headers": .object(["ETag": reference("headers", "ETag")]),
                "content": json(schema: reference("schemas", schemaName(entity))),
            ]))
        case .page(let entity, let description):
            responses.append("200", .object([
                "description": .string(description),
                "headers": .object([
                    "X-Total-Count": reference("headers", "X-Total-Count"), "ETag": reference("headers", "ETag"),
                    "Link": reference("headers", "Link"),
                ]),
                "content": json(schema: .object(["type": .string("array"), "items": reference("schemas", schemaName(entity))])),
            ]))
        case .message(let description):
            responses.append("200", .object(["description": .string(description), "content": json(schema: reference("schemas", "Message"))]))
        case .noContent(let description):
            responses.append("204", .object(["description": .string(description)]))
        case .document:
            break
        }
        // nginx refuses a path it cannot parse (`%00` in an id) before it reaches a worker; a body that
        // cannot be decoded is refused as FastAPI refuses it.
        if endpoint.body != nil || endpoint.parameters.contains(where: { $0.location == .path }) {
            responses.append("400", reference("responses", "BadRequest"))
        }
        for errorCase in endpoint.errors {
            let status = String(ErrorResponses.response(for: errorCase.error).status.code)
            switch errorCase.documentation {
            case .component(let name, _):
                responses.append(status, reference("responses", name))
            case .inline(let description):
                responses.append(status, .object(["description": .string(description), "content": json(schema: reference("schemas", "Detail"))]))
            }
        }
        switch endpoint.precondition {
        case .ifNoneMatch: responses.append("304", reference("responses", "NotModified"))
        case .ifMatch: responses.append("412", reference("responses", "PreconditionFailed"))
        case nil: break
        }
        if endpoint.body != nil {
            responses.append("413", reference("responses", "ContentTooLarge"))
        }
        if endpoint.body != nil || !endpoint.parameters.isEmpty {
            responses.append("422", .object([
                "description": .string("Validation error: every problem with the request, in FastAPI's shape"),
                "content": json(schema: reference("schemas", "HTTPValidationError")),
            ]))
        }
        if case .document = endpoint.success {} else {
            responses.append("503", reference("responses", "ServiceUnavailable"))
        }
        operation.append("responses", .object(responses))
        return operation
    }

    private static func components() -> JSONObject {
        var schemas = JSONObject()
        var parameters = JSONObject()
        var responses = JSONObject()
        for endpoint in Endpoints.all {
            for parameter in endpoint.parameters where !parameters.keys.contains(parameter.component) {
                parameters.append(parameter.component, .object(self.parameter(parameter)))
            }
            switch endpoint.success {
            case .entity(let entity, _, _), .page(let entity, _):
                if !schemas.keys.contains(schemaName(entity)) { schemas.append(schemaName(entity), .object(rowSchema(entity))) }
            default:
                break
            }
            if let body = endpoint.body, !schemas.keys.contains(body.schema) {
                schemas.append(body.schema, .object(bodySchema(body)))
            }
            for errorCase in endpoint.errors {
                guard case .component(let name, let description) = errorCase.documentation, !responses.keys.contains(name) else { continue }
                responses.append(name, .object(["description": .string(description), "content": json(schema: reference("schemas", "Detail"))]))
            }
            if let precondition = endpoint.precondition, !parameters.keys.contains(precondition.header) {
                parameters.append(precondition.header, .object(self.parameter(precondition)))
                switch precondition {
                case .ifNoneMatch:
                    responses.append("NotModified", .object([
                        "description": .string("The representation has the tag `If-None-Match` names (or `*`): no body, the `ETag` again"),
                        "headers": .object(["ETag": reference("headers", "ETag")]),
                    ]))
                case .ifMatch:
                    responses.append("PreconditionFailed", .object([
                        "description": .string("The resource no longer has the tag `If-Match` names: it changed since it was read; nothing was written"),
                        "content": json(schema: reference("schemas", "Detail")),
                    ]))
                }
            }
        }
        var components = JSONObject()
        components.append("schemas", .object(schemas))
        components.append("parameters", .object(parameters))
        components.append("headers", .object([
            "ETag": .object([
                "description": .string(
                    "The strong entity tag of the representation (RFC 9110 §8.8.3): a row's version, a page's hash of its rows' ids and versions and its total"),
                "schema": .object(["type": .string("string")]),
            ])
        ]))
        components.append("responses", .object(responses))
        return components
    }

    /// A bigint's bounds: int64 format where the range needs it.
    private static func integerSchema(_ range: ClosedRange<Int64>) -> JSONObject {
        var schema: JSONObject = ["type": .string("integer")]
        if range.upperBound > Int64(Int32.max) || range.lowerBound < Int64(Int32.min) { schema.append("format", .string("int64")) }
        schema.append("minimum", .number(String(range.lowerBound)))
        schema.append("maximum", .number(String(range.upperBound)))
        return schema
    }

    private static func parameter(_ parameter: Parameter) -> JSONObject {
        var object: JSONObject = [
            "name": .string(parameter.name), "in": .string(parameter.location.rawValue),
            "required": .bool(parameter.location == .path), "description": .string(parameter.description),
        ]
        var schema: JSONObject
        switch parameter.rule {
        case .id:
            // Any integer, as FastAPI's `int`: one no row has is answered with the 404.
            schema = ["type": .string("integer")]
        case .integer(let defaultValue, let range):
            schema = integerSchema(range)
            schema.append("default", .number(String(defaultValue)))
        case .optionalInteger(let range):
            schema = integerSchema(range)
        case .optionalBool:
            schema = ["type": .string("boolean")]
        case .choice(let allowed, let defaultValue), .literal(let allowed, let defaultValue):
            schema = ["type": .string("string"), "enum": .array(allowed.map { .string($0) }), "default": .string(defaultValue)]
        case .optionalText:
            schema = ["type": .string("string")]
        case .cursor:
            schema = ["type": .string("string"), "pattern": .string("^[A-Za-z0-9_-]*$")]
        }
        object.append("schema", .object(schema))
        return object
    }

    /// A conditional request header (RFC 9110 §13.1): `*` or a list of entity tags.
    private static func parameter(_ precondition: Precondition) -> JSONObject {
        let description = switch precondition {
        case .ifNoneMatch:
            "Answer 304 with no body when the current `ETag` is one of these tags (weak comparison), or for `*`"
        case .ifMatch:
            "Write only if the current `ETag` is one of these tags (strong comparison), or for `*` if the resource exists; 412 otherwise"
        }
        return [
            "name": .string(precondition.header), "in": .string("header"), "required": .bool(false),
            "description": .string(description), "schema": .object(["type": .string("string")]),
        ]
    }

    private static func columnSchema(_ column: Column, written: Bool) -> JSONObject {
        switch column.kind {
        // Written (`author_id`): what pydantic's lax `int` reads; read: the ids rows have.
        case .identifier: written ? laxIntegerSchema : integerSchema(1...Int64.max)
        case .boolean: written ? laxBooleanSchema : ["type": .string("boolean")]
        // PostgreSQL text cannot hold NUL, which the validation refuses.
        case .text: written ? ["type": .string("string"), "pattern": .string("^[^\\u0000]*$")] : ["type": .string("string")]
        case .timestamp: ["type": .string("string"), "format": .string("date-time")]
        }
    }

    /// The values pydantic's lax `bool` reads (`Lax.bool`): booleans, 0 and 1, and its words in any case.
    private static let laxBooleanSchema: JSONObject = [
        "anyOf": .array([
            .object(["type": .string("boolean")]),
            .object(["type": .string("integer"), "enum": .array([.number("0"), .number("1")])]),
            .object([
                "type": .string("string"),
                "pattern": .string("^([01]|[tT]|[fF]|[yY]|[nN]|[oO][nN]|[oO][fF][fF]|[yY][eE][sS]|[nN][oO]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])$"),
            ]),
        ]),
    ]

    /// The values pydantic's lax `int` reads (`Lax.integer`), its plainer spellings: integers, booleans,
    /// and decimal digits in a string (a sign, leading zeros and surrounding whitespace allowed).
    private static let laxIntegerSchema: JSONObject = [
        "anyOf": .array([
            .object(["type": .string("integer")]),
            .object(["type": .string("boolean")]),
            .object(["type": .string("string"), "pattern": .string("^[ \\t\\n\\r]*[+-]?[0-9]+[ \\t\\n\\r]*$")]),
        ]),
    ]

    private static func rowSchema(_ entity: Entity) -> JSONObject {
        var properties = JSONObject()
        for column in entity.columns { properties.append(column.name, .object(columnSchema(column, written: false))) }
        return [
            "type": .string("object"), "properties": .object(properties),
            "required": .array(entity.columns.map { .string($0.name) }), "additionalProperties": .bool(false),
        ]
    }

    private static func bodySchema(_ body: RequestBody) -> JSONObject {
        var properties = JSONObject()
        for column in body.entity.writableColumns { properties.append(column.name, .object(columnSchema(column, written: true))) }
        var schema: JSONObject = ["type": .string("object"), "properties": .object(properties)]
        if body.fields == .allRequired { schema.append("required", .array(body.entity.writableColumns.map { .string($0.name) })) }
        return schema
    }

    /// `overlay` laid over `rendered`: members only the overlay has are added after the rendered ones, objects
    /// and arrays of the same length are merged member by member, and anything else must be equal.
    static func merge(_ rendered: JSONValue, _ overlay: JSONValue, at path: String) throws -> JSONValue {
        switch (rendered, overlay) {
        case (.object(let base), .object(let extra)):
            var merged = base
            for member in extra.members {
                if let index = merged.members.firstIndex(where: { $0.key == member.key }) {
                    let value = try merge(merged.members[index].value, member.value, at: path + "/" + member.key)
                    merged.members[index] = JSONObject.Member(key: member.key, value: value)
                } else {
                    merged.append(member.key, member.value)
                }
            }
            return .object(merged)
        case (.array(let base), .array(let extra)) where base.count == extra.count:
            return .array(try zip(base, extra).enumerated().map { index, pair in try merge(pair.0, pair.1, at: path + "/\(index)") })
        default:
            guard rendered == overlay else {
                throw Failure.conflict(path: path, rendered: rendered.prettyPrinted(), overlay: overlay.prettyPrinted())
            }
            return rendered
        }
    }

    /// Responses in the order of their status codes, wherever they are.
    private static func sortingResponses(_ object: JSONObject) -> JSONObject {
        JSONObject(object.members.map { member in
            guard case .object(let inner) = member.value else { return member }
            var sorted = sortingResponses(inner)
            if member.key == "responses", sorted.members.allSatisfy({ Int($0.key) != nil }) {
                sorted.members.sort { Int($0.key)! < Int($1.key)! }
            }
            return JSONObject.Member(key: member.key, value: .object(sorted))
        })
    }

    /// The top level in the order OpenAPI documents are read.
    private static func ordered(_ document: JSONObject) -> JSONObject {
        let order = ["openapi", "info", "servers", "tags", "paths", "components"]
        return JSONObject(document.members.sorted {
            (order.firstIndex(of: $0.key) ?? order.count) < (order.firstIndex(of: $1.key) ?? order.count)
        })
    }
}
