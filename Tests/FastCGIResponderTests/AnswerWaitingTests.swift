#if canImport(Glibc)
import Glibc
#endif
import HTTPMessages
import Testing
@testable import FastCGIResponder

/// `answerWaiting` on a real unix socket: what the supervisor's status listener does with a peer's request.
@Suite struct AnswerWaitingTests {
    @Test func answersEachWaitingConnectionOnceAndClosesItEvenWhenAskedToKeepIt() throws {
        let path = "/tmp/notes-answer-waiting-\(getpid()).sock"
        let listener = try UnixListener(path: path)
        defer { listener.close() }
        let responder = try FastCGIResponder(listenFD: listener.fd, maxBodyBytes: 0, headTimeoutSeconds: 1)
        let first = try connectAndSend(path, uri: "/status?format=prometheus", keep: true)
        let second = try connectAndSend(path, uri: "/livez", keep: false)
        var seen: [String] = []
        try responder.answerWaiting { request in
            seen.append(request.rawQuery.isEmpty ? request.rawPath : request.rawPath + "?" + request.rawQuery)
            return HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("hello \(seen.count)".utf8))
        }
        #expect(seen == ["/status?format=prometheus", "/livez"])
        let answer = readAll(first)
        #expect(answer.text.contains("Status: 200 OK\r\n"))
        #expect(answer.text.contains("hello 1"))
        #expect(answer.closed, "closed although the peer asked to keep it")
        let other = readAll(second)
        #expect(other.text.contains("hello 2") && other.closed)
        // Nothing waits now: it returns at once.
        try responder.answerWaiting { _ in Issue.record("no request"); return HTTPResponse(status: .ok, headers: [], body: []) }
    }
}

/// A listening unix socket owned by the test.
private struct UnixListener {
    let fd: Int32
    let path: String

    init(path: String) throws {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = unixAddress(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw SocketFailed() }
        self.fd = fd
        self.path = path
    }

    func close() {
        _ = Glibc.close(fd)
        unlink(path)
    }
}

private struct SocketFailed: Error {}

private func unixAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { bytes in
        for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
    }
    return address
}

/// One FastCGI responder request as nginx sends it: BEGIN_REQUEST, PARAMS, empty PARAMS, empty STDIN.
private func connectAndSend(_ path: String, uri: String, keep: Bool) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = unixAddress(path)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else { throw SocketFailed() }
    func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }
    func pair(_ name: String, _ value: String) -> [UInt8] {
        [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
    }
    let params = pair("REQUEST_METHOD", "GET") + pair("REQUEST_URI", uri) + pair("CONTENT_LENGTH", "")
    let bytes = record(1, [0, 1, keep ? 1 : 0, 0, 0, 0, 0, 0]) + record(4, params) + record(4, []) + record(5, [])
    guard write(fd, bytes, bytes.count) == bytes.count else { throw SocketFailed() }
    return fd
}

/// Everything until the peer closes, and whether it did (rather than leave the connection open for 5 s).
private func readAll(_ fd: Int32) -> (text: String, closed: Bool) {
    defer { close(fd) }
    var deadline = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &deadline, socklen_t(MemoryLayout<timeval>.size))
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = read(fd, &buffer, buffer.count)
        if count < 0 { return (String(decoding: bytes, as: UTF8.self), false) }
        if count == 0 { return (String(decoding: bytes, as: UTF8.self), true) }
        bytes += buffer[0..<count]
    }
}
