import HTTPMessages
import NotesStore

/// `GET /healthz`: whether this worker's database connection answers.
enum HealthEndpoint {
    static let check = Endpoint(
        "GET", "/healthz", operationID: "getHealth", tag: .service, summary: "Health check",
        description: "Whether the answering worker's database connection answers.", success: .document
    ) { services, _ in
        do {
            try services.runner.ping()
            return Query(value: .response(.json(.ok, Array(#"{"status":"ok"}"#.utf8))))
        } catch {
            return Query(value: .response(
                .json(.serviceUnavailable, Array(#"{"status":"unavailable"}"#.utf8), headers: [("Retry-After", "1")])))
        }
    }
}
