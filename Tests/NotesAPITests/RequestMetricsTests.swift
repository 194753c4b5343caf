import HTTPMessages
import NotesTesting
import Scoreboard
import PoolStatus
import Testing
@testable import NotesAPI

/// The request counters' pieces: bucketing, the labels of the indexes, saturation, rendering, the access log line.
@Suite struct RequestMetricsTests {
    @Test(arguments: [
        (UInt64(0), 0), (500_000, 0), (500_001, 1), (1_000_000, 1), (2_000_000, 2), (1_000_000_000, 10),
        (30_000_000_000, 14), (30_000_000_001, 15), (UInt64.max, 15),
    ])
    func bucketsADuration(nanoseconds: UInt64, bucket: Int) {
        #expect(DurationBuckets.index(nanoseconds: nanoseconds) == bucket)
        #expect(DurationBuckets.upperBounds.count + 1 == 16)
    }

    @Test func routesAreTheDeclaredPathTemplatesOnce() {
        let routes = RequestLabels.routes
        #expect(Set(routes).count == routes.count)
        #expect(Set(routes.dropLast()) == Set(Endpoints.all.map(\.path)))
        #expect(routes.last == "unmatched")
        #expect(routes.count <= Scoreboard.metricRoutes)
        #expect(RequestLabels.statuses.count <= Scoreboard.metricStatuses)
        #expect(RequestLabels.statuses[RequestLabels.statusIndex(.notFound)] == "404")
        #expect(RequestLabels.statuses[RequestLabels.statusIndex(HTTPStatus(code: 418, reason: "Teapot"))] == "other")
    }

    @Test func theApplicationSaysEachRequestsRoute() {
        let client = TestClient()
        let requests = ["/notes/abc", "/no-such-route", "/openapi.json"].map {
            HTTPRequest(method: "GET", requestURI: $0)
        }
        var routes: [Int] = []
        _ = client.application.respond(to: requests, routes: &routes)
        #expect(routes.map { RequestLabels.routes[$0] } == ["/notes/{note_id}/", "unmatched", "/openapi.json"])
    }

    @Test func saturationIsEveryAcceptingWorkerBusy() throws {
        let scoreboard = try Scoreboard.create()
        func metrics() -> PoolMetrics { scoreboard.metrics(routes: 1, statuses: 1) }
        scoreboard.prepareSlot(0, generation: 1)
        scoreboard.prepareSlot(1, generation: 1)
        let first = scoreboard.writer(slot: 0), second = scoreboard.writer(slot: 1)
        first.ready(pid: 100, generation: 1)
        second.ready(pid: 101, generation: 1)
        first.requestStarted(method: "GET", path: "/a")
        #expect(!metrics().saturatedNow && metrics().saturatedTotal == 0)
        second.requestStarted(method: "GET", path: "/b")
        #expect(metrics().saturatedNow && metrics().saturatedTotal == 1)
        second.requestsFinished(1)
        #expect(!metrics().saturatedNow && metrics().saturatedSeconds > 0)
        // A worker that dies busy leaves no busy count behind: the supervisor takes its share back.
        scoreboard.releaseSlot(0)
        #expect(!metrics().saturatedNow)
        second.requestStarted(method: "GET", path: "/c")
        #expect(metrics().saturatedNow && metrics().saturatedTotal == 2)
        second.requestsFinished(1)
        // A worker that retired itself no longer accepts, and what it still answers does not count.
        second.retiring(.maxRequests)
        second.requestStarted(method: "GET", path: "/d")
        #expect(!metrics().saturatedNow && metrics().saturatedTotal == 2)
    }

    @Test func rendersCountersAndACumulativeHistogram() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.publishSupervisor(pid: 1, startedAtUnixMicroseconds: 0, listen: "unix:/x.sock")
        let note = RequestLabels.routes.firstIndex(of: "/notes/{note_id}/")!
        scoreboard.recordRequest(route: note, status: RequestLabels.statusIndex(.ok), nanoseconds: 100_000)
        scoreboard.recordRequest(route: note, status: RequestLabels.statusIndex(.notFound), nanoseconds: 2_000_000)
        scoreboard.recordRequest(route: note, status: RequestLabels.statusIndex(.notFound), nanoseconds: 2_000_000)
        scoreboard.publishListenQueue(length: 3, backlog: 1024)
        scoreboard.publishListenQueue(length: 1, backlog: 1024)
        let snapshot = PoolSnapshot(scoreboard, labels: RequestLabels.names)
        let text = snapshot.prometheusText
        for line in [
            #"notes_requests_total{route="/notes/{note_id}/",status="200"} 1"#,
            #"notes_requests_total{route="/notes/{note_id}/",status="404"} 2"#,
            #"notes_request_duration_seconds_bucket{route="/notes/{note_id}/",le="0.0005"} 1"#,
            #"notes_request_duration_seconds_bucket{route="/notes/{note_id}/",le="0.001"} 1"#,
            #"notes_request_duration_seconds_bucket{route="/notes/{note_id}/",le="0.0025"} 3"#,
            #"notes_request_duration_seconds_bucket{route="/notes/{note_id}/",le="+Inf"} 3"#,
            #"notes_request_duration_seconds_sum{route="/notes/{note_id}/"} 0.0041"#,
            #"notes_request_duration_seconds_count{route="/notes/{note_id}/"} 3"#,
            "notes_listen_queue 1", "notes_listen_queue_max 3", "notes_pool_saturated_total 0",
        ] {
            #expect(text.contains("\n" + line + "\n"), "\(line)")
        }
        #expect(!text.contains(#"status="201""#))
        let json = String(decoding: snapshot.json, as: UTF8.self)
        #expect(json.contains(#""listen_queue":{"length":1,"max":3,"backlog":1024}"#))
        #expect(json.contains(#""/notes/{note_id}/":{"by_status":{"200":1,"404":2},"duration_seconds":{"count":3,"sum":0.0041,"buckets":{"0.0005":1,"0.001":1,"0.0025":3,"#))
    }

    @Test func encodesAnAccessLogLine() {
        let line = RequestAccounting.accessLogLine(AccessLogEntry(
            unixMicroseconds: 1_764_000_000_123_456, requestID: "0123456789abcdef0123456789abcdef", method: "GET",
            route: "/notes/{note_id}/", status: 200, bytes: 57, databaseNanoseconds: 120_000,
            totalNanoseconds: 430_500, pid: 77))
        #expect(String(decoding: line, as: UTF8.self) == #"{"time":"2025-11-24T16:00:00.123456Z","request_id":"0123456789abcdef0123456789abcdef","method":"GET","route":"/notes/{note_id}/","status":200,"bytes":57,"db_ms":0.120,"total_ms":0.431,"pid":77}"# + "\n")
        let streamed = RequestAccounting.accessLogLine(AccessLogEntry(
            unixMicroseconds: 0, requestID: nil, method: "GET", route: "/notes/", status: 200, bytes: nil,
            databaseNanoseconds: 0, totalNanoseconds: 0, pid: 1))
        #expect(String(decoding: streamed, as: UTF8.self).contains(#""request_id":null"#))
        #expect(String(decoding: streamed, as: UTF8.self).contains(#""bytes":null"#))
    }

    @Test func serverTimingSplitsTheTotal() {
        #expect(RequestAccounting.serverTiming(databaseNanoseconds: 120_000, totalNanoseconds: 430_000)
            == "db;dur=0.120, app;dur=0.310")
        #expect(RequestAccounting.serverTiming(databaseNanoseconds: 5_000_000, totalNanoseconds: 1_000_000)
            == "db;dur=1.000, app;dur=0.000")
    }

    @Test func accountingAddsServerTimingOnlyWhenAsked() {
        let requests = [HTTPRequest(method: "GET", requestURI: "/notes/1")]
        var plain = [HTTPResponse(status: .ok)], timed = [HTTPResponse(status: .ok)]
        var lines: [[UInt8]] = []
        RequestAccounting(scoreboard: nil, accessLog: nil, serverTiming: false, pid: 1)
            .account(requests, &plain, routes: [0], nanoseconds: 1000, databaseNanoseconds: 0)
        RequestAccounting(scoreboard: nil, accessLog: { lines.append($0) }, serverTiming: true, pid: 1)
            .account(requests, &timed, routes: [0], nanoseconds: 1000, databaseNanoseconds: 0)
        #expect(plain[0].header("Server-Timing") == nil)
        #expect(timed[0].header("Server-Timing") == "db;dur=0.000, app;dur=0.001")
        #expect(lines.count == 1)
    }
}
