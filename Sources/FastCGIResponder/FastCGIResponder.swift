#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CFastCGI
import CLinux
import HTTPMessages
import SystemSupport

/// Why a responder could not start or had to stop.
public enum FastCGIError: Error, CustomStringConvertible {
    case notAListeningSocket(fd: Int32)
    case initFailed(code: Int32)
    case acceptFailed(code: Int32)

    public var description: String {
        switch self {
        case .notAListeningSocket(let fd):
            "file descriptor \(fd) is not a listening socket: start notes-worker under notes-supervisor or spawn-fcgi"
        case .initFailed(let code):
            "libfcgi initialisation failed (code \(code))"
        case .acceptFailed(let code):
            "accepting a FastCGI connection failed: \(SystemError("accept", code: code))"
        }
    }
}

/// Whether the responder goes on after a signal or a request.
public enum ServeDecision: Sendable {
    case keepServing
    case stop
}

/// A single-threaded FastCGI responder on libfcgi's reentrant API: it accepts one connection at a time
/// on the listening socket it is given, turns the request into an `HTTPRequest`, and writes the handler's
/// `HTTPResponse` back in one write.
///
/// It waits for connections in epoll, on the listening socket and the signal pipe together, and accepts
/// without blocking: a stop signal is therefore seen at once, whether it arrives while the worker waits
/// or while it is busy (the request in hand is finished first). This avoids the race libfcgi's own
/// shutdown flag has between its check and a blocking accept().
public final class FastCGIResponder {
    private let listenFD: Int32
    private let maxBodyBytes: Int
    /// Owned here for the responder's whole life; `FCGX_Finish_r` releases each request's memory and
    /// connection, `FCGX_Free` whatever is left at the end.
    private var request = FCGX_Request()
    /// Allocated once: zeroing a fresh 16 KiB array for every request was 18% of a GET's instructions.
    private let readBuffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 16384)

    /// - Parameters:
    ///   - listenFD: the listening socket; 0 by the FastCGI convention.
    ///   - maxBodyBytes: bodies larger than this are not kept; the request arrives with `bodyTooLarge`.
    public init(listenFD: Int32 = 0, maxBodyBytes: Int) throws(FastCGIError) {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(listenFD, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0, accepting != 0 else {
            throw .notAListeningSocket(fd: listenFD)
        }
        // The open file description is shared with the other workers; they all wait in epoll too, so a
        // non-blocking accept that loses the race to a sibling just returns EAGAIN.
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)
        let initCode = FCGX_Init()
        guard initCode == 0 else { throw .initFailed(code: initCode) }
        guard FCGX_InitRequest(&request, listenFD, 0) == 0 else { throw .initFailed(code: -1) }
        self.listenFD = listenFD
        self.maxBodyBytes = maxBodyBytes
    }

    deinit {
        FCGX_Free(&request, 1)
        readBuffer.deallocate()
    }

    /// Serves requests until `onSignal` or `handler` says to stop; the request in hand is always finished
    /// first. Returns early with an error only when the listening socket itself fails.
    ///
    /// Waits in epoll with `EPOLLEXCLUSIVE` on the listening socket, so that a new connection wakes one idle
    /// worker rather than all of them (the thundering herd that plain poll() causes, where every worker but
    /// one wakes up only to get EAGAIN from accept).
    public func serve(
        signals: SignalPipe, onSignal: (Int32) -> ServeDecision,
        handler: (HTTPRequest) -> (HTTPResponse, ServeDecision)
    ) throws(FastCGIError) {
        let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw .acceptFailed(code: errno) }
        defer { close(epoll) }
        try watch(listenFD, in: epoll, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue)
        try watch(signals.readFD, in: epoll, events: EPOLLIN.rawValue)

        var ready = [epoll_event](repeating: epoll_event(), count: 2)
        while true {
            let count = epoll_wait(epoll, &ready, Int32(ready.count), -1)
            if count < 0 {
                if errno == EINTR { continue }
                throw .acceptFailed(code: errno)
            }
            let readyFDs = ready[0..<Int(count)].map { $0.data.fd }
            if readyFDs.contains(signals.readFD) {
                // Every signal is handed over, even after one that stops, so none is lost.
                let decisions = signals.drain().map(onSignal)
                if decisions.contains(.stop) { return }
            }
            if readyFDs.contains(listenFD), try acceptAndAnswer(handler) == .stop {
                return
            }
        }
    }

    private func watch(_ fd: Int32, in epoll: Int32, events: UInt32) throws(FastCGIError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw .acceptFailed(code: errno) }
    }

    private func acceptAndAnswer(_ handler: (HTTPRequest) -> (HTTPResponse, ServeDecision)) throws(FastCGIError) -> ServeDecision {
        let code = FCGX_Accept_r(&request)
        if code < 0 {
            switch -code {
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED:
                return .keepServing
            default:
                throw .acceptFailed(code: -code)
            }
        }
        let (response, decision) = handler(readRequest())
        write(response)
        // libfcgi would otherwise close "gracefully": shutdown(SHUT_WR), then wait up to 2 s for the web
        // server to close its end, so that unread request data cannot turn into a TCP reset. The request has
        // been read to its end (readBody drains the stream), so there is nothing to reset, and the wait
        // only kept this worker from its next connection until nginx got round to closing (measured in
        // docs/PERFORMANCE.md). A detached request is closed at once.
        FCGX_Detach(&request)
        FCGX_Finish_r(&request)
        return decision
    }

    /// Copies everything out of libfcgi's buffers, which `FCGX_Finish_r` frees.
    private func readRequest() -> HTTPRequest {
        let declaredLength = param("CONTENT_LENGTH").flatMap { Int($0) } ?? 0
        let (body, tooLarge) = readBody(declaredLength: declaredLength)
        return HTTPRequest(
            method: param("REQUEST_METHOD") ?? "GET",
            requestURI: param("REQUEST_URI") ?? "/",
            contentType: param("CONTENT_TYPE").flatMap { $0.isEmpty ? nil : $0 },
            body: body,
            bodyTooLarge: tooLarge
        )
    }

    private func param(_ name: String) -> String? {
        FCGX_GetParam(name, request.envp).map { String(cString: $0) }
    }

    /// Reads the whole body stream, keeping at most `maxBodyBytes`. What is over the limit is still read
    /// and dropped, so that the web server never sees its upload cut off before the answer.
    private func readBody(declaredLength: Int) -> (body: [UInt8], tooLarge: Bool) {
        var body: [UInt8] = []
        body.reserveCapacity(min(max(declaredLength, 0), maxBodyBytes))
        var tooLarge = declaredLength > maxBodyBytes
        while true {
            let count = FCGX_GetStr(readBuffer.baseAddress!, Int32(readBuffer.count), request.in)
            if count <= 0 { break }
            if !tooLarge {
                body.append(contentsOf: UnsafeRawBufferPointer(start: readBuffer.baseAddress!, count: Int(count)))
                tooLarge = body.count > maxBodyBytes
            }
        }
        return tooLarge ? ([], true) : (body, false)
    }

    /// CGI response format: a `Status` line, headers, blank line, body, sent as one buffer.
    private func write(_ response: HTTPResponse) {
        var head = "Status: \(response.status.code) \(response.status.reason)\r\n"
        for header in response.headers {
            head += "\(header.name): \(header.value)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: response.body)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = FCGX_PutStr($0, Int32(buffer.count), request.out)
            }
        }
    }
}
