import NotesStore

/// Everything a request can be refused for. `ErrorResponses` turns each into its status and body.
public enum APIError: Error, Equatable {
    /// 400 with this detail: the request itself is malformed (what nginx would refuse, from another client).
    case badRequest(String)
    /// 404 with this detail.
    case notFound(String)
    /// 405; the methods the path does support.
    case methodNotAllowed(allowed: [String])
    /// 409 with this detail: the request contradicts the stored state.
    case conflict(String)
    /// 412: the resource has changed since the client read it (`If-Match`, RFC 9110 §13.1.1).
    case preconditionFailed
    /// 413.
    case contentTooLarge
    /// 400 "There was an error parsing the body": a JSON body that is not UTF-8 or nests too deep, or any
    /// body that is not UTF-8 (FastAPI's answer to what Python cannot decode).
    case unreadableBody
    /// 422, FastAPI's list of problems.
    case validation([ValidationIssue])
}

/// One entry of a 422 response, in FastAPI's (pydantic's) shape: `type`, `loc`, `msg`, `input` and, for
/// constraints, `ctx`.
public struct ValidationIssue: Error, Equatable, Sendable {
    public enum Location: Equatable, Sendable {
        case key(String)
        case index(Int)
    }

    public let type: String
    public let location: [Location]
    public let message: String
    public let input: JSONValue
    public let context: JSONObject?

    public init(type: String, location: [Location], message: String, input: JSONValue, context: JSONObject? = nil) {
        self.type = type
        self.location = location
        self.message = message
        self.input = input
        self.context = context
    }
}

/// Why a request failed: the client's mistake, or the store's trouble. `ErrorResponses` maps each to HTTP.
enum RequestError: Error {
    case api(APIError)
    case store(StoreError)
}
