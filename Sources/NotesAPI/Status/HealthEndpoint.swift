import HTTPMessages
import NotesStore

/// `GET /healthz`: whether this worker's database connection answers; `GET /healthcheck`: the blog
/// example's, which answers as long as the application does.
enum HealthEndpoint {
    static let liveness = Endpoint(
        "GET", "/healthcheck", operationID: "getHealthcheck", tag: .service, summary: "Health check of the blog example",
        description: "Answers `{\"status\": \"ok\"}` whenever a worker answers, without asking the database, as the FastAPI blog example does; `/healthz` also asks the database.",
        success: .document
    ) { _, _ in
        Query(value: .response(.json(.ok, Array(#"{"status":"ok"}"#.utf8))))
    }

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
