#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPMessages
import NotesStore
import Scoreboard
import SystemSupport
import JSONOutput

/// `GET /status`: the pool as the scoreboard shows it, in the spirit of PHP-FPM's status page, as JSON or,
/// with `?format=prometheus`, in Prometheus' text format. nginx lets only localhost reach it. A worker that
/// runs without the supervisor has no scoreboard, and no status page.
enum StatusEndpoint {
    static let format = Parameter(
        name: "format", location: .query, rule: .choice(allowed: ["json", "prometheus"], defaultValue: "json"),
        description: "`json` (default) or `prometheus` (Prometheus text exposition format)")
    static let noScoreboard = ErrorCase.inPlace(.notFound("Not Found"), "The worker runs without a supervisor, so there is no scoreboard")

    static let status = Endpoint(
        "GET", "/status", operationID: "getStatus", tag: .service, summary: "Worker pool status",
        description: """
            The pool as the scoreboard shared by the supervisor and its workers shows it: the supervisor, request and \
            restart counters, and every worker. JSON by default; `?format=prometheus` gives the same in Prometheus' text \
            exposition format (`text/plain; version=0.0.4`). nginx answers it only for 127.0.0.1 and ::1 (403 \
            otherwise); a worker started without the supervisor (e.g. under spawn-fcgi) has no scoreboard and answers 404.
            """,
        parameters: [format], success: .document, errors: [noScoreboard]
    ) { services, inputs in
        guard let scoreboard = services.scoreboard else { return Query(value: .missing) }
        let snapshot = PoolSnapshot(scoreboard)
        if inputs.text(format) == "prometheus" {
            return Query(value: .response(HTTPResponse(
                status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(snapshot.prometheusText.utf8))))
        }
        return Query(value: .response(.json(.ok, snapshot.json)))
    }
}

/// One consistent look at the scoreboard, with each worker's memory read from /proc.
struct PoolSnapshot {
    struct Worker {
        let slot: WorkerSlot
        /// The slot's state, except that a worker of a generation older than the serving one is retiring:
        /// it was told to stop, and its slot shows what it was doing when it was.
        let state: WorkerState
        let currentDurationSeconds: Double?
        let residentBytes: Int?
    }

    let header: Header
    let workers: [Worker]
    let acceptedRequests: UInt64
    /// The listen queue, saturation, and requests by route and status (`RequestLabels` names the indexes).
    let metrics: PoolMetrics

    init(_ scoreboard: Scoreboard) {
        let header = scoreboard.header
        self.header = header
        metrics = scoreboard.metrics(routes: RequestLabels.routes.count, statuses: RequestLabels.statuses.count)
        let slots = scoreboard.occupiedSlots
        workers = slots.map { slot in
            Worker(
                slot: slot,
                state: slot.generation < header.generation && slot.state.isAccepting ? .retiring : slot.state,
                currentDurationSeconds: slot.currentRequest.map { secondsSince($0.startedNanoseconds) },
                residentBytes: slot.pid > 0 ? residentSetBytes(of: slot.pid) : nil)
        }
        acceptedRequests = header.retiredRequests + slots.reduce(0) { $0 + $1.requests }
    }

    func count(_ state: WorkerState) -> Int {
        workers.filter { $0.state == state }.count
    }

    var json: [UInt8] {
        var writer = JSONWriter(capacity: 512 + 256 * workers.count)
        writer.object { writer, member in
            member(&writer, "supervisor")
            writer.object { writer, member in
                member(&writer, "pid")
                writer.integer(header.supervisorPID)
                member(&writer, "started_at")
                writer.string(rfc3339(unixMicroseconds: header.startedAtUnixMicroseconds))
                member(&writer, "listen")
                writer.string(header.listen)
                member(&writer, "generation")
                writer.integer(header.generation)
                member(&writer, "target_workers")
                writer.integer(header.targetWorkers)
            }
            member(&writer, "accepted_requests")
            writer.integer(acceptedRequests)
            member(&writer, "workers")
            writer.object { writer, member in
                member(&writer, "total")
                writer.integer(workers.count)
                for state in [WorkerState.idle, .busy, .starting, .retiring] {
                    member(&writer, state.rawValue)
                    writer.integer(count(state))
                }
            }
            member(&writer, "restarts")
            writer.object { writer, member in
                member(&writer, "total")
                writer.integer(header.restarts.values.reduce(0, +))
                for cause in RestartCause.allCases {
                    member(&writer, cause.rawValue)
                    writer.integer(header.restarts[cause] ?? 0)
                }
            }
            member(&writer, "listen_queue")
            writer.object { writer, member in
                member(&writer, "length")
                writer.integer(metrics.listenQueue)
                member(&writer, "max")
                writer.integer(metrics.listenQueueMax)
                member(&writer, "backlog")
                writer.integer(metrics.listenBacklog)
            }
            member(&writer, "saturation")
            writer.object { writer, member in
                member(&writer, "count")
                writer.integer(metrics.saturatedTotal)
                member(&writer, "seconds")
                writer.number(String(metrics.saturatedSeconds))
                member(&writer, "now")
                writer.raw(metrics.saturatedNow ? "true" : "false")
            }
            // By route as the key: a path template as a value reads as a link to tools that follow the URLs in
            // a body (schemathesis' stateful phase sent `{note_id}` as an id).
            member(&writer, "requests")
            writer.object { writer, member in
                for (route, name) in RequestLabels.routes.enumerated() {
                    member(&writer, name)
                    writer.object { writer, member in
                        member(&writer, "by_status")
                        writer.object { writer, member in
                            for (status, count) in zip(RequestLabels.statuses, metrics.requests[route]) where count > 0 {
                                member(&writer, status)
                                writer.integer(count)
                            }
                        }
                        member(&writer, "duration_seconds")
                        writer.object { writer, member in
                            let cumulative = Self.cumulative(metrics.durationBuckets[route])
                            member(&writer, "count")
                            writer.integer(cumulative.last ?? 0)
                            member(&writer, "sum")
                            writer.number(String(metrics.durationSecondsSum[route]))
                            member(&writer, "buckets")
                            writer.object { writer, member in
                                for (bound, count) in zip(Self.bucketLabels, cumulative) {
                                    member(&writer, bound)
                                    writer.integer(count)
                                }
                            }
                        }
                    }
                }
            }
            member(&writer, "worker_list")
            writer.array(workers) { writer, worker in
                writer.object { writer, member in
                    member(&writer, "pid")
                    writer.integer(worker.slot.pid)
                    member(&writer, "generation")
                    writer.integer(worker.slot.generation)
                    member(&writer, "state")
                    writer.string(worker.state.rawValue)
                    member(&writer, "requests")
                    writer.integer(worker.slot.requests)
                    member(&writer, "current_request")
                    if let request = worker.slot.currentRequest, let seconds = worker.currentDurationSeconds {
                        writer.object { writer, member in
                            member(&writer, "method")
                            writer.string(request.method)
                            member(&writer, "path")
                            writer.string(request.path)
                            member(&writer, "duration_ms")
                            writer.milliseconds(seconds)
                        }
                    } else {
                        writer.raw("null")
                    }
                    member(&writer, "last_request_ms")
                    if let nanoseconds = worker.slot.lastRequestNanoseconds {
                        writer.milliseconds(Double(nanoseconds) / 1e9)
                    } else {
                        writer.raw("null")
                    }
                    member(&writer, "rss_bytes")
                    if let bytes = worker.residentBytes { writer.integer(bytes) } else { writer.raw("null") }
                }
            }
        }
        return writer.bytes
    }

    var prometheusText: String {
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for sample in samples {
                lines.append(sample.labels.isEmpty ? "\(name) \(sample.value)" : "\(name){\(sample.labels)} \(sample.value)")
            }
        }
        metric("notes_supervisor_start_time_seconds", "gauge", "Start time of the supervisor since the Unix epoch.",
               [("", String(Double(header.startedAtUnixMicroseconds) / 1e6))])
        metric("notes_accepted_requests_total", "counter", "Requests accepted by all workers.",
               [("", String(acceptedRequests))])
        metric("notes_workers", "gauge", "Workers by state.",
               [WorkerState.idle, .busy, .starting, .retiring].map { ("state=\"\($0.rawValue)\"", String(count($0))) })
        metric("notes_worker_restarts_total", "counter", "Workers replaced or removed, by cause.",
               RestartCause.allCases.map { ("cause=\"\($0.rawValue)\"", String(header.restarts[$0] ?? 0)) })
        metric("notes_worker_requests_total", "counter", "Requests served by each worker.",
               workers.map { ("pid=\"\($0.slot.pid)\",generation=\"\($0.slot.generation)\"", String($0.slot.requests)) })
        metric("notes_worker_rss_bytes", "gauge", "Resident memory of each worker.",
               workers.compactMap { worker in worker.residentBytes.map { ("pid=\"\(worker.slot.pid)\"", String($0)) } })
        metric("notes_worker_last_request_seconds", "gauge", "Duration of each worker's last request.",
               workers.compactMap { worker in
                   worker.slot.lastRequestNanoseconds.map { ("pid=\"\(worker.slot.pid)\"", String(Double($0) / 1e9)) }
               })
        metric("notes_listen_queue", "gauge", "Connections waiting in the listening socket's accept queue (last sample).",
               [("", String(metrics.listenQueue))])
        metric("notes_listen_queue_max", "gauge", "The most connections seen waiting in the accept queue since start.",
               [("", String(metrics.listenQueueMax))])
        metric("notes_listen_backlog", "gauge", "Capacity of the accept queue (listen backlog).",
               [("", String(metrics.listenBacklog))])
        metric("notes_pool_saturated_total", "counter", "Times every accepting worker became busy at once.",
               [("", String(metrics.saturatedTotal))])
        metric("notes_pool_saturated_seconds_total", "counter", "Seconds during which every accepting worker was busy.",
               [("", String(metrics.saturatedSeconds))])
        metric("notes_pool_saturated", "gauge", "1 while every accepting worker is busy.",
               [("", metrics.saturatedNow ? "1" : "0")])
        metric("notes_requests_total", "counter", "Requests answered, by route (declared path) and status.",
               RequestLabels.routes.indices.flatMap { route in
                   zip(RequestLabels.statuses, metrics.requests[route]).filter { $0.1 > 0 }.map { status, count in
                       ("route=\"\(RequestLabels.routes[route])\",status=\"\(status)\"", String(count))
                   }
               })
        lines.append("# HELP notes_request_duration_seconds Time from a request's batch start until its answer was made, by route.")
        lines.append("# TYPE notes_request_duration_seconds histogram")
        for (route, name) in RequestLabels.routes.enumerated() {
            let cumulative = Self.cumulative(metrics.durationBuckets[route])
            for (bound, count) in zip(Self.bucketLabels, cumulative) {
                lines.append("notes_request_duration_seconds_bucket{route=\"\(name)\",le=\"\(bound)\"} \(count)")
            }
            lines.append("notes_request_duration_seconds_sum{route=\"\(name)\"} \(metrics.durationSecondsSum[route])")
            lines.append("notes_request_duration_seconds_count{route=\"\(name)\"} \(cumulative.last ?? 0)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `le` labels of the duration buckets, the last one `+Inf`.
    static let bucketLabels: [String] = DurationBuckets.upperBounds.map { String($0) } + ["+Inf"]

    static func cumulative(_ buckets: [UInt64]) -> [UInt64] {
        var total: UInt64 = 0
        return buckets.map { count in
            total += count
            return total
        }
    }
}

extension JSONWriter {
    /// Milliseconds with three decimals, from seconds.
    mutating func milliseconds(_ seconds: Double) {
        let microseconds = Int((seconds * 1e6).rounded())
        let fraction = String(microseconds % 1000)
        number("\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)")
    }
}

/// Resident set size from /proc/PID/statm (its second field, in pages).
func residentSetBytes(of pid: Int32) -> Int? {
    let fd = open("/proc/\(pid)/statm", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 128)
    let count = read(fd, &buffer, buffer.count)
    guard count > 0 else { return nil }
    let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
    // A worker that has exited but is not reaped yet has no resident pages: unknown rather than 0 bytes.
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)), pages > 0 else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// `2026-11-22T04:00:00.123456Z` from microseconds since the Unix epoch (proleptic Gregorian, UTC).
func rfc3339(unixMicroseconds: Int64) -> String {
    let seconds = unixMicroseconds >= 0 ? unixMicroseconds / 1_000_000 : (unixMicroseconds - 999_999) / 1_000_000
    let micros = unixMicroseconds - seconds * 1_000_000
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // Howard Hinnant's days-to-civil algorithm.
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
        + "\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
}
