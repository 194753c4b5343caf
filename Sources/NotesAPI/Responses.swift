import HTTPMessages
import NotesStore

/// Response shapes the endpoints share.
enum Responses {
    /// One JSON object or value.
    static func json(_ status: HTTPStatus, capacity: Int = 256, _ write: (inout JSONWriter) -> Void) -> HTTPResponse {
        var writer = JSONWriter(capacity: capacity)
        write(&writer)
        return .json(status, writer.bytes)
    }

    /// A page as a JSON array, with the number of all matching rows in `X-Total-Count`.
    static func list<Row>(_ page: Page<Row>, capacity: Int, _ element: (inout JSONWriter, Row) -> Void) -> HTTPResponse {
        var writer = JSONWriter(capacity: capacity * page.rows.count + 2)
        writer.array(page.rows, element)
        return .json(.ok, writer.bytes, headers: [("X-Total-Count", String(page.total))])
    }

    /// 204: no body, no content type.
    static let noContent = HTTPResponse(status: .noContent)
}

/// An id from the path, for endpoints where it is the only input.
func pathID(_ parameters: PathParameters, _ name: String) throws(APIError) -> Int64 {
    switch IntegerParameter.positiveID(parameters[name] ?? "", name: name) {
    case .success(let id): id
    case .failure(let issue): throw .validation([issue])
    }
}

extension Query {
    /// The response for the row found, or `missing` thrown when there was none.
    func found<Row>(or missing: APIError, _ respond: @escaping (Row) -> HTTPResponse) -> Query<HTTPResponse>
    where Value == Row? {
        map { row in
            guard let row else { throw missing }
            return respond(row)
        }
    }
}

extension Query<Bool> {
    /// The response when the statement found its row, or `missing` thrown when it did not.
    func found(or missing: APIError, _ respond: @escaping () -> HTTPResponse) -> Query<HTTPResponse> {
        map { $0 ? () : nil }.found(or: missing) { respond() }
    }
}
