import HTTPMessages
import NotesStore

/// `GET /healthz`: whether this worker's database connection answers.
struct HealthEndpoint {
    let database: Database

    func register(in router: inout Router) {
        router.add("GET", "/healthz", check)
    }

    func check(_ request: HTTPRequest, _ parameters: PathParameters) -> HTTPResponse {
        do {
            try database.ping()
            return .json(.ok, Array(#"{"status":"ok"}"#.utf8))
        } catch {
            return .json(.serviceUnavailable, Array(#"{"status":"unavailable"}"#.utf8), headers: [("Retry-After", "1")])
        }
    }
}
