import HTTPMessages
import Logging
import NotesStore
import JSONOutput

/// A whole collection as a JSON array, written piece by piece while its statement's rows arrive, so that a
/// worker's memory does not grow with the collection. The head goes out with the first row, which carries the
/// total for `X-Total-Count`; a failure before it is answered as any other, one after it breaks the response
/// off (the client sees an incomplete body, never a wrong one).
enum CollectionResponse {
    /// A piece goes out once the array's text reaches this size.
    static let pieceBytes = 32 * 1024

    static func producer(_ request: CollectionRequest, as entity: Entity, context: ResponseContext) -> ResponseProducer {
        let all = request.all, skip = request.skip, search = request.search
        let runner = context.runner, failure = context.failureResponse
        return ResponseProducer { writer in
            var json = JSONWriter(capacity: pieceBytes + 4096)
            var headWritten = false
            let end = all.stream(skip: skip, order: request.order, search: search, on: runner) { rows in
                if headWritten {
                    json.raw(",")
                } else {
                    headWritten = true
                    guard writer.writeHead(.ok, headers: head(total: rows.int64(row: 0, column: rows.columnCount - 1))) else {
                        return false
                    }
                    json.raw("[")
                }
                json.row(0, of: rows, as: entity)
                guard json.bytes.count >= pieceBytes else { return true }
                defer { json.removeAll() }
                return writer.writeBody(json.bytes)
            }
            switch end {
            case .finished where headWritten:
                json.raw("]")
                return writer.writeBody(json.bytes)
            case .finished:
                // No row to carry the total: nothing skipped means none; past the end, the count says.
                guard skip > 0 else { return writer.writeHead(.ok, headers: head(total: 0)) && writer.writeBody(Array("[]".utf8)) }
                switch runQueries([all.table.total(search: search)], on: runner)[0] {
                case .success(let total): return writer.writeHead(.ok, headers: head(total: total)) && writer.writeBody(Array("[]".utf8))
                case .failure(let error): return writer.write(failure(error))
                }
            case .stopped:
                return false
            case .failed(let error) where !headWritten:
                return writer.write(failure(error))
            case .failed(let error):
                // Logged as any failure; its response cannot be sent any more.
                _ = failure(error)
                return false
            }
        }
    }

    private static func head(total: Int64) -> [(name: String, value: String)] {
        [("Content-Type", "application/json"), ("X-Total-Count", String(total))]
    }
}

/// What a response made while it is written needs from the request it answers: the runner of its statements,
/// and the answer to a failure. Made only for such a response: the others do without its copies.
struct ResponseContext {
    let runner: any StatementRunner
    let request: HTTPRequest
    let logger: Logger

    func failureResponse(_ error: StoreError) -> HTTPResponse {
        ErrorResponses.response(for: .store(error), to: request, logger: logger)
    }
}
