import HTTPMessages
import Logging
import NotesStore
import JSONOutput

/// The one place where errors become HTTP responses. A client's mistake gets a 4xx with a body that
/// says what to fix; an outage gets 503; anything else is a bug, answered 500 and logged with its cause
/// (the body never carries SQL or internals).
enum ErrorResponses {
    static func response(for error: RequestError, to request: HTTPRequest, logger: Logger) -> HTTPResponse {
        switch error {
        case .api(let error):
            return response(for: error)
        case .store(.unavailable(let reason)):
            logger.warning("database unavailable during \(request.method) \(request.rawPath): \(reason)")
            return detail(.serviceUnavailable, "Database unavailable", headers: [("Retry-After", "1")])
        case .store(.timedOut(let statement)):
            logger.warning("\(request.method) \(request.rawPath) ran out of time in statement \(statement)")
            return detail(.serviceUnavailable, "Request timed out")
        case .store(let error):
            // Out of memory, a failed statement, a schema that fell behind: none is the client's doing, and
            // none goes away by itself.
            logger.error("\(request.method) \(request.rawPath) failed: \(error)")
            return detail(.internalServerError, "Internal Server Error")
        }
    }

    static func response(for error: APIError) -> HTTPResponse {
        switch error {
        case .badRequest(let message):
            detail(.badRequest, message)
        case .notFound(let message):
            detail(.notFound, message)
        case .methodNotAllowed(let allowed):
            detail(.methodNotAllowed, "Method Not Allowed", headers: [("Allow", allowed.joined(separator: ", "))])
        case .conflict(let message):
            detail(.conflict, message)
        case .preconditionFailed:
            detail(.preconditionFailed, "Precondition Failed")
        case .contentTooLarge:
            detail(.contentTooLarge, "Request body too large")
        case .unreadableBody:
            detail(.badRequest, "There was an error parsing the body")
        case .validation(let issues):
            validation(issues)
        }
    }

    static func detail(_ status: HTTPStatus, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64)
        writer.object { writer, member in
            member(&writer, "detail")
            writer.string(message)
        }
        return .json(status, writer.bytes, headers: headers)
    }

    private static func validation(_ issues: [ValidationIssue]) -> HTTPResponse {
        var writer = JSONWriter()
        writer.object { writer, member in
            member(&writer, "detail")
            writer.array(issues) { writer, issue in
                writer.object { writer, member in
                    member(&writer, "type")
                    writer.string(issue.type)
                    member(&writer, "loc")
                    writer.array(issue.location) { writer, part in
                        switch part {
                        case .key(let key): writer.string(key)
                        case .index(let index): writer.integer(index)
                        }
                    }
                    member(&writer, "msg")
                    writer.string(issue.message)
                    member(&writer, "input")
                    writer.value(issue.input)
                    if let context = issue.context {
                        member(&writer, "ctx")
                        writer.value(.object(context))
                    }
                }
            }
        }
        return .json(.unprocessableContent, writer.bytes)
    }
}
