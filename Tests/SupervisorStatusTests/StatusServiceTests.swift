#if canImport(Glibc)
import Glibc
#endif
import HTTPMessages
import Scoreboard
import Testing
@testable import SupervisorStatus

/// The supervisor's status listener: what it reads from a request, and its answers from a real scoreboard.
@Suite struct StatusServiceTests {
    @Test(arguments: [
        ("GET", "/status", "", StatusRequest.status(prometheus: false)),
        ("GET", "/status/", "format=json", .status(prometheus: false)),
        ("GET", "/%73tatus", "format=prometheus", .status(prometheus: true)),
        ("HEAD", "/status", "format=json&format=prometheus", .status(prometheus: true)),
        ("GET", "/status", "format=xml", .badFormat("xml")),
        ("GET", "/status", "format=", .badFormat("")),
        ("GET", "/livez", "", .live),
        ("GET", "/livez/", "format=xml", .live),
        ("POST", "/status", "", .methodNotAllowed),
        ("GET", "/notes/", "", .notFound),
        ("GET", "/statusx", "", .notFound),
    ])
    func readsRequests(method: String, path: String, query: String, expected: StatusRequest) {
        #expect(StatusRequest(HTTPRequest(method: method, rawPath: path, rawQuery: query)) == expected)
    }

    /// The query is split at every `&` and `=` byte, as the workers' router splits it: as Characters, one followed
    /// by a combining mark would not split.
    @Test func readsTheQueryAsTheWorkersRead() {
        let request = HTTPRequest(method: "GET", rawPath: "/status", rawQuery: "format=prometheus&\u{0301}x=1")
        #expect(StatusRequest(request) == .status(prometheus: true))
        #expect(StatusRequest(HTTPRequest(method: "GET", rawPath: "/status", rawQuery: "format=\u{0301}")) == .badFormat("\u{0301}"))
    }

    @Test func answersFromTheScoreboardWithTheNamesTheWorkersPublished() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.publishSupervisor(pid: 1, startedAtUnixMicroseconds: 0, listen: "unix:/x.sock")
        #expect(scoreboard.metricLabels == nil)
        #expect(scoreboard.publishMetricLabels(routes: ["/a/{id}", "unmatched"], statuses: ["200", "404", "other"]))
        #expect(scoreboard.metricLabels?.routes == ["/a/{id}", "unmatched"])
        #expect(scoreboard.metricLabels?.statuses == ["200", "404", "other"])
        scoreboard.recordRequest(route: 0, status: 1, nanoseconds: 1000)
        let service = try StatusServiceProbe(scoreboard)
        let text = String(decoding: service.respond("/status", "format=prometheus").body, as: UTF8.self)
        #expect(text.contains(#"notes_requests_total{route="/a/{id}",status="404"} 1"#), "\(text)")
        let json = service.respond("/status", "")
        #expect(json.status == .ok && String(decoding: json.body, as: UTF8.self).contains(#""supervisor":{"pid":1"#))
        let bad = service.respond("/status", "format=xml")
        #expect(bad.status == .unprocessableContent)
        #expect(String(decoding: bad.body, as: UTF8.self) == #"{"detail":[{"type":"enum","loc":["query","format"],"msg":"Input should be 'json' or 'prometheus'","input":"xml","ctx":{"expected":"'json' or 'prometheus'"}}]}"#)
        #expect(service.respond("/livez", "").body == Array(#"{"status":"ok"}"#.utf8))
        #expect(service.respond("/nope", "").status == .notFound)
    }
}

/// A StatusService on a throwaway listening socket, asked directly.
private struct StatusServiceProbe {
    let service: StatusService

    init(_ scoreboard: Scoreboard) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // An abstract address (leading NUL): nothing to clean up.
        withUnsafeMutableBytes(of: &address.sun_path) { bytes in
            for (index, byte) in "notes-status-test-\(getpid())".utf8.enumerated() { bytes[index + 1] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(fd, 4)
        service = try StatusService(listenFD: fd, scoreboard: scoreboard)
    }

    func respond(_ path: String, _ query: String) -> HTTPResponse {
        service.respond(to: HTTPRequest(method: "GET", rawPath: path, rawQuery: query))
    }
}
