#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPMessages
import NotesStore
import Scoreboard
import SystemSupport
import PoolStatus

/// `GET /status`: the pool as the scoreboard shows it, in the spirit of PHP-FPM's status page, as JSON or,
/// with `?format=prometheus`, in Prometheus' text format. nginx lets only localhost reach it. A worker that
/// runs without the supervisor has no scoreboard, and no status page.
enum StatusEndpoint {
    static let format = Parameter(
        name: "format", location: .query, rule: .choice(allowed: ["json", "prometheus"], defaultValue: "json"),
        description: "`json` (default) or `prometheus` (Prometheus text exposition format)")
    static let noScoreboard = ErrorCase.inPlace(.notFound("Not Found"), "The worker runs without a supervisor, so there is no scoreboard")

    /// Answered by the supervisor on its status listener (nginx routes it there), and by a worker asked directly.
    static let live = Endpoint(
        "GET", "/livez", operationID: "getLiveness", tag: .service, summary: "Liveness of the pool's supervisor",
        description: """
            `{"status": "ok"}` from the supervisor itself, on its own listener (`--status-listen`), for systemd \
            and orchestrators: it answers while the supervisor's loop runs, whatever the workers do. `/healthz` is \
            the readiness answer (a worker and its database). nginx answers it only for 127.0.0.1 and ::1.
            """,
        success: .document
    ) { _, _ in
        Query(value: .response(.json(.ok, Array(#"{"status":"ok"}"#.utf8))))
    }

    static let status = Endpoint(
        "GET", "/status", operationID: "getStatus", tag: .service, summary: "Worker pool status",
        description: """
            The pool as the scoreboard shared by the supervisor and its workers shows it: the supervisor, request and \
            restart counters, and every worker. Answered by the supervisor itself on its own listener \
            (`--status-listen`, where nginx routes it), so it answers when every worker is busy or stuck. JSON by default; `?format=prometheus` gives the same in Prometheus' text \
            exposition format (`text/plain; version=0.0.4`). nginx answers it only for 127.0.0.1 and ::1 (403 \
            otherwise); a worker started without the supervisor (e.g. under spawn-fcgi) has no scoreboard and answers 404.
            """,
        parameters: [format], success: .document, errors: [noScoreboard]
    ) { services, inputs in
        guard let scoreboard = services.scoreboard else { return Query(value: .missing) }
        let snapshot = PoolSnapshot(scoreboard, labels: RequestLabels.names)
        if inputs.text(format) == "prometheus" {
            return Query(value: .response(HTTPResponse(
                status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(snapshot.prometheusText.utf8))))
        }
        return Query(value: .response(.json(.ok, snapshot.json)))
    }
}
