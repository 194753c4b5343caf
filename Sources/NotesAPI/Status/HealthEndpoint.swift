import HTTPMessages
import NotesStore

/// `GET /healthz`: whether this worker's database connection answers.
enum HealthEndpoint {
    static func register(in router: inout Routes) {
        router.add("GET", "/healthz", answeredAtOnce: check)
    }

    static func check(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) -> HTTPResponse {
        do {
            try services.database.ping()
            return .json(.ok, Array(#"{"status":"ok"}"#.utf8))
        } catch {
            return .json(.serviceUnavailable, Array(#"{"status":"unavailable"}"#.utf8), headers: [("Retry-After", "1")])
        }
    }
}
