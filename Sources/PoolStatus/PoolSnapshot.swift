import JSONOutput
import Scoreboard
import SystemSupport

/// The names of the request counters' indexes, which the scoreboard counts without knowing them.
public struct MetricLabels: Sendable {
    /// Route names (path templates) by route index.
    public let routes: [String]
    /// Status names (codes) by status index.
    public let statuses: [String]

    public init(routes: [String], statuses: [String]) {
        self.routes = routes
        self.statuses = statuses
    }
}

/// One consistent look at the scoreboard, with each worker's memory read from /proc.
public struct PoolSnapshot {
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
    /// The listen queue, saturation, and requests by route and status, whose indexes `labels` names.
    let metrics: PoolMetrics
    let labels: MetricLabels

    public init(_ scoreboard: Scoreboard, labels: MetricLabels) {
        self.labels = labels
        let header = scoreboard.header
        self.header = header
        metrics = scoreboard.metrics(routes: labels.routes.count, statuses: labels.statuses.count)
        let slots = scoreboard.occupiedSlots
        workers = slots.map { slot in
            Worker(
                slot: slot,
                state: slot.generation < header.generation && slot.state.isAccepting ? .retiring : slot.state,
                currentDurationSeconds: slot.currentRequest.map { secondsSince($0.startedNanoseconds) },
                residentBytes: slot.pid > 0 ? ProcessMemory.residentBytes(of: slot.pid) : nil)
        }
        acceptedRequests = header.retiredRequests + slots.reduce(0) { $0 + $1.requests }
    }

    func count(_ state: WorkerState) -> Int {
        workers.filter { $0.state == state }.count
    }

    public var json: [UInt8] {
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
                for (route, name) in labels.routes.enumerated() {
                    member(&writer, name)
                    writer.object { writer, member in
                        member(&writer, "by_status")
                        writer.object { writer, member in
                            for (status, count) in zip(labels.statuses, metrics.requests[route]) where count > 0 {
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

    public var prometheusText: String {
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
               labels.routes.indices.flatMap { route in
                   zip(labels.statuses, metrics.requests[route]).filter { $0.1 > 0 }.map { status, count in
                       ("route=\"\(labels.routes[route])\",status=\"\(status)\"", String(count))
                   }
               })
        lines.append("# HELP notes_request_duration_seconds Time from a request's batch start until its answer was made, by route.")
        lines.append("# TYPE notes_request_duration_seconds histogram")
        for (route, name) in labels.routes.enumerated() {
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
