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

/// A single-threaded FastCGI responder on libfcgi's reentrant API: it serves the listening socket it is given
/// and the connections the web server keeps open to it (`keptConnections`), turns each request into an
/// `HTTPRequest`, and writes the handler's `HTTPResponse` back in one write.
///
/// The requests that are ready together (those epoll reports in one wake-up, one per connection, at most
/// `maxBatch`) go to the handler together, as a batch, so that it can do their work together: the worker sends
/// their statements to PostgreSQL in one pipeline. Under load, before batches, a worker found about six
/// requests ready per wake-up (docs/PERFORMANCE.md).
///
/// It waits in epoll, on the listening socket, its kept connections and the signal pipe together, and accepts
/// without blocking: a stop signal is therefore seen at once, whether it arrives while the worker waits
/// or while it is busy (the batch in hand is answered first). This avoids the race libfcgi's own
/// shutdown flag has between its check and a blocking accept().
///
/// It accepts connections itself and hands each to libfcgi to read, because libfcgi's own accept leaves a
/// connection without any deadline: a peer that connects and then sends nothing, or half a record, would hold
/// the worker forever (a unix socket's accepted connection does not inherit a timeout from the listening one).
/// Here every read and write on a connection gives up after `headTimeout`, then `bodyTimeout`, and libfcgi's peer allowlist,
/// `FCGI_WEB_SERVER_ADDRS`, which its accept would have checked, is checked here.
public final class FastCGIResponder {
    private let listenFD: Int32
    private let maxBodyBytes: Int
    /// How long a read from or a write to a connection may wait, and a read of its body. nginx sends a whole
    /// request at once and reads answers as they come, so only a broken or hostile peer ever waits that long.
    private let headTimeout: timeval
    private let bodyTimeout: timeval
    /// IPv4 addresses (`s_addr`) allowed to connect over TCP; nil allows every peer (libfcgi's rule).
    private let allowedPeers: Set<in_addr_t>?
    /// One request per connection of a batch. Owned here for the responder's whole life; `FCGX_Finish_r`
    /// releases each request's memory and connection, `FCGX_Free` whatever is left at the end.
    private let requests = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: maxBatch)
    /// At most this many requests are read before they are answered: each holds libfcgi's buffers (about
    /// 17 KiB) until then, and the heap keeps the pages of the largest batch (a batch of 16 cost a worker
    /// 0.4 MiB of RSS, one of 4 about 0.1 MiB, for the same throughput: docs/PERFORMANCE.md).
    public static let maxBatch = 4
    /// Allocated once: zeroing a fresh 16 KiB array for every request was 18% of a GET's instructions.
    private let readBuffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: 16384)
    /// Connections whose peer asked to keep them (FCGI_KEEP_CONN, nginx's `fastcgi_keep_conn on`), waiting in
    /// epoll for their next request while the worker also accepts new ones. Owned here: closed when the peer
    /// closes them, when a request on one is broken, or when `serve` returns. A kept connection costs a file
    /// descriptor, not the worker: a peer that keeps one and sends nothing holds no one.
    private var keptConnections: Set<Int32> = []
    /// Beyond this many, connections are closed after their answer whatever the peer asked: nginx's
    /// `keepalive` pool (per nginx worker process) must stay well below it, which the shipped one does.
    public static let maxKeptConnections = 256
    /// The epoll instance of `serve`, which owns it.
    private var epollFD: Int32 = -1
    /// Told to stop: no more new connections, and none kept after its next answer.
    private var retiring = false
    /// While retiring: when something last arrived (or when it retired).
    private var lastEvent: UInt64 = 0

    /// - Parameters:
    ///   - listenFD: the listening socket; 0 by the FastCGI convention.
    ///   - maxBodyBytes: a request announcing a larger body arrives with `BodyProblem.tooLarge`, unread.
    ///   - headTimeoutSeconds, bodyTimeoutSeconds: see `headTimeout`.
    public init(
        listenFD: Int32 = 0, maxBodyBytes: Int, headTimeoutSeconds: Int = 3, bodyTimeoutSeconds: Int = 10
    ) throws(FastCGIError) {
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
        // No listening socket for libfcgi: it must never accept a connection itself (see above). When it drops
        // a connection for a protocol error and tries to accept the next, it fails at once and says so.
        requests.initialize(repeating: FCGX_Request(), count: Self.maxBatch)
        for slot in 0..<Self.maxBatch {
            guard FCGX_InitRequest(requests + slot, -1, 0) == 0 else { throw .initFailed(code: -1) }
        }
        self.listenFD = listenFD
        self.maxBodyBytes = maxBodyBytes
        self.headTimeout = timeval(tv_sec: headTimeoutSeconds, tv_usec: 0)
        self.bodyTimeout = timeval(tv_sec: bodyTimeoutSeconds, tv_usec: 0)
        self.allowedPeers = Self.peerAllowlist(getenv("FCGI_WEB_SERVER_ADDRS").map { String(cString: $0) })
    }

    /// libfcgi's reading of `FCGI_WEB_SERVER_ADDRS`: comma-separated IPv4 addresses; unset or empty allows all.
    static func peerAllowlist(_ text: String?) -> Set<in_addr_t>? {
        guard let text, !text.isEmpty else { return nil }
        return Set(text.split(separator: ",").compactMap { entry in
            var address = in_addr()
            return inet_pton(AF_INET, String(entry.trimmingWhitespace()), &address) == 1 ? address.s_addr : nil
        })
    }

    deinit {
        for slot in 0..<Self.maxBatch { FCGX_Free(requests + slot, 1) }
        requests.deallocate()
        readBuffer.deallocate()
    }

    /// Serves requests until `onSignal` or `handler` says to stop, then retires: it accepts no new connection,
    /// closes each kept connection after answering the request that arrives on it, and returns once none is
    /// left: nginx closes the idle ones (upstream `keepalive_timeout`), and those still idle after `headTimeout`
    /// are closed here. The request in hand is always finished first. Returns early with an error only when
    /// the listening socket itself fails.
    ///
    /// Waits in epoll with `EPOLLEXCLUSIVE` on the listening socket, so that a new connection wakes one idle
    /// worker rather than all of them (the thundering herd that plain poll() causes, where every worker but
    /// one wakes up only to get EAGAIN from accept).
    ///
    /// With `heartbeatEvery` seconds, it wakes at least that often while it waits and calls `heartbeat` when
    /// that much time has passed since the last call: a supervisor's watchdog learns from it that a worker
    /// with nothing to do is waiting, not stuck. `answered` is told how many requests of a batch were answered
    /// once their answers are written out (or given up on), so a worker can show that it still holds them
    /// while it is blocked writing to a slow peer.
    public func serve(
        signals: SignalPipe, heartbeatEvery: Double? = nil, heartbeat: () -> Void = {},
        onSignal: (Int32) -> ServeDecision, handler: ([HTTPRequest]) -> ([HTTPResponse], ServeDecision),
        answered: (Int) -> Void = { _ in }
    ) throws(FastCGIError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .acceptFailed(code: errno) }
        defer {
            for connection in keptConnections { close(connection) }
            keptConnections.removeAll()
            close(epollFD)
            epollFD = -1
        }
        guard watch(listenFD, events: EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue),
              watch(signals.readFD, events: EPOLLIN.rawValue)
        else { throw .acceptFailed(code: errno) }

        retiring = false
        // Signals wait until the connection in hand is done: its reads and writes have deadlines, and the kernel
        // does not resume such a call after a handler ran, so a SIGTERM would cut the request.
        try signals.deliveringOnlyInWaits { (waitMask: inout sigset_t) throws(FastCGIError) in
            try serveConnections(
                signals: signals, waitMask: &waitMask, heartbeatEvery: heartbeatEvery, heartbeat: heartbeat,
                onSignal: onSignal, handler: handler, answered: answered)
        }
    }

    private func serveConnections(
        signals: SignalPipe, waitMask: inout sigset_t, heartbeatEvery: Double?, heartbeat: () -> Void,
        onSignal: (Int32) -> ServeDecision, handler: ([HTTPRequest]) -> ([HTTPResponse], ServeDecision),
        answered: (Int) -> Void
    ) throws(FastCGIError) {
        var ready = [epoll_event](repeating: epoll_event(), count: Self.maxBatch)
        var batch: [Received] = []
        batch.reserveCapacity(Self.maxBatch)
        let idleRetirementNanoseconds = UInt64(headTimeout.tv_sec) * 1_000_000_000
        let heartbeatNanoseconds = heartbeatEvery.map { UInt64($0 * 1e9) }
        var lastHeartbeat = monotonicNanoseconds()
        func beatIfDue(_ now: UInt64) {
            guard let every = heartbeatNanoseconds, now - lastHeartbeat >= every else { return }
            heartbeat()
            lastHeartbeat = now
        }
        while !retiring || !keptConnections.isEmpty {
            let count = epoll_pwait(
                epollFD, &ready, Int32(ready.count),
                waitMilliseconds(heartbeat: heartbeatNanoseconds, since: lastHeartbeat, lastEvent: lastEvent,
                                 idleRetirement: idleRetirementNanoseconds),
                &waitMask)
            if count < 0 {
                if errno == EINTR { continue }
                throw .acceptFailed(code: errno)
            }
            if heartbeatNanoseconds != nil || retiring {
                let now = monotonicNanoseconds()
                beatIfDue(now)
                if count > 0 {
                    if retiring { lastEvent = now }
                } else if retiring && now - lastEvent >= idleRetirementNanoseconds {
                    // Retiring, and nothing arrived on the kept connections for that long: their peer is not
                    // about to close them (an nginx with a longer keepalive_timeout); a request it sends just
                    // now is resent.
                    return
                }
            }
            if count == 0 { continue }
            batch.removeAll(keepingCapacity: true)
            for event in ready[0..<Int(count)] {
                let fd = event.data.fd
                let connection: Int32
                if fd == signals.readFD {
                    // Every signal is handed over, even after one that stops, so none is lost.
                    if signals.drain().map(onSignal).contains(.stop) { retire() }
                    continue
                } else if fd != listenFD {
                    connection = fd
                } else if !retiring, let accepted = try acceptConnection() {
                    connection = accepted
                } else {
                    continue
                }
                // Each read may wait up to its deadline: a batch of stalled peers must not silence the heartbeat.
                if heartbeatNanoseconds != nil { beatIfDue(monotonicNanoseconds()) }
                if let received = receive(on: connection, into: requests + batch.count) { batch.append(received) }
            }
            guard !batch.isEmpty else { continue }
            let (responses, decision) = handler(batch.map(\.request))
            if decision == .stop { retire() }
            for (slot, received) in batch.enumerated() {
                answer(received, with: responses[slot], from: requests + slot)
            }
            answered(batch.count)
        }
    }

    /// For a listener that another loop watches (the supervisor's status socket): answers the connections
    /// waiting to be accepted, at most `limit`, one request each, closing each after its answer whatever the peer
    /// asked, and returns. Each read and write waits at most the head timeout, so a silent peer costs that loop
    /// no more than that.
    public func answerWaiting(limit: Int = 16, _ handler: (HTTPRequest) -> HTTPResponse) throws(FastCGIError) {
        for _ in 0..<limit {
            guard let connection = try acceptConnection() else { return }
            guard let received = receive(on: connection, into: requests) else { continue }
            answer(Received(request: received.request, connection: connection, peerKeeps: false),
                   with: handler(received.request), from: requests)
        }
    }

    /// How long epoll may wait: until the next heartbeat is due, and while retiring until the kept connections
    /// have been quiet for `headTimeout`; without either, until something happens.
    private func waitMilliseconds(
        heartbeat: UInt64?, since lastHeartbeat: UInt64, lastEvent: UInt64, idleRetirement: UInt64
    ) -> Int32 {
        var deadline: UInt64?
        if let heartbeat { deadline = lastHeartbeat + heartbeat }
        if retiring { deadline = min(deadline ?? .max, lastEvent + idleRetirement) }
        guard let deadline else { return -1 }
        let now = monotonicNanoseconds()
        // Rounded up, so a wake-up never comes a little early and finds nothing due.
        return deadline <= now ? 0 : Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    /// No new connections from here on; every kept one is closed after its next answer. The other workers
    /// accept instead: the shared socket stays open for them.
    private func retire() {
        guard !retiring else { return }
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
        retiring = true
        lastEvent = monotonicNanoseconds()
    }

    private func watch(_ fd: Int32, events: UInt32) -> Bool {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        return epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0
    }

    /// A request read and waiting for its answer.
    private struct Received {
        let request: HTTPRequest
        let connection: Int32
        /// The peer asked to keep the connection (FCGI_KEEP_CONN).
        let peerKeeps: Bool
    }

    /// Reads one request from `connection`, a new one or a kept one, into `request`; nil when there is none
    /// to answer, and then the connection is closed or kept as it should be.
    private func receive(on connection: Int32, into request: UnsafeMutablePointer<FCGX_Request>) -> Received? {
        request.pointee.ipcFd = connection
        // FCGX_Accept_r begins by finishing the previous request, which would close a connection not kept; and
        // a connection it drops is closed at once, not lingered over (detached).
        request.pointee.keepConnection = 1
        request.pointee.detached = 1
        // Negative: no valid BEGIN_REQUEST and PARAMS (the peer closed a kept connection, a protocol error, a
        // peer that went quiet): libfcgi has closed the connection, unanswered.
        guard FCGX_Accept_r(request) == 0 else {
            keptConnections.remove(connection)
            return nil
        }
        // libfcgi sets keepConnection from the peer's FCGI_KEEP_CONN flag.
        let peerKeeps = request.pointee.keepConnection != 0
        guard let incoming = readRequest(request) else {
            finish(connection, request, keep: false)
            return nil
        }
        return Received(request: incoming, connection: connection, peerKeeps: peerKeeps)
    }

    /// Writes the answer to a request `receive` read into `request`; then keeps the connection or closes it
    /// (`finish`).
    private func answer(_ received: Received, with response: HTTPResponse, from request: UnsafeMutablePointer<FCGX_Request>) {
        if let producer = response.producer {
            guard producer.produce(FastCGIResponseWriter(request)) else {
                // Without its END_REQUEST the web server knows the response is incomplete and tells its client so
                // (nginx closes the connection instead of ending the chunked body).
                shutdown(received.connection, Int32(SHUT_RDWR))
                finish(received.connection, request, keep: false)
                return
            }
        } else {
            write(response, to: request)
        }
        // A request refused before its body was read leaves the rest of that body in the stream.
        let streamEnded = FCGX_HasSeenEOF(request.pointee.in) != 0 && FCGX_GetError(request.pointee.in) == 0
        finish(received.connection, request, keep: received.peerKeeps && streamEnded && !retiring)
    }

    /// The next connection with its deadlines set, or nil when there is none (a sibling took it) or the
    /// peer is not on the allowlist (closed at once, as libfcgi does).
    private func acceptConnection() throws(FastCGIError) -> Int32? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { notes_accept_cloexec(listenFD, $0, &length) }
        }
        guard fd >= 0 else {
            switch errno {
            case EAGAIN, EWOULDBLOCK, EINTR, ECONNABORTED, EPROTO: return nil
            default: throw .acceptFailed(code: errno)
            }
        }
        if let allowedPeers, Int32(address.ss_family) == AF_INET {
            let peer = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            }
            guard allowedPeers.contains(peer) else {
                close(fd)
                return nil
            }
        }
        setDeadline(fd, SO_RCVTIMEO, headTimeout)
        setDeadline(fd, SO_SNDTIMEO, headTimeout)
        return fd
    }

    /// Flushes the answer (FCGI_END_REQUEST); then keeps the connection for the peer's next request when
    /// `keep` says so and there is room, or closes it.
    ///
    /// Closing a connection the peer asked to keep is left to the peer (nginx: upstream `keepalive_timeout`,
    /// `keepalive_time`, `keepalive_requests`) except when retiring: nginx may be writing its next request on
    /// it as it closes. Closed together with the answer, nginx mostly sees the end before it reuses the
    /// connection; when not, it resends the request (a failure on a kept connection always gets another try,
    /// and creates are safe to resend: nginx/notes.conf, docs/DATABASE.md).
    ///
    /// A closed connection is closed at once: libfcgi would otherwise close "gracefully", shutdown(SHUT_WR)
    /// and then wait up to 2 s for the web server to close its end, so that unread request data cannot turn
    /// into a TCP reset. A connection closed here was either read to its end or is broken, and the wait only
    /// kept this worker from its next connection (measured in docs/PERFORMANCE.md).
    private func finish(_ connection: Int32, _ request: UnsafeMutablePointer<FCGX_Request>, keep: Bool) {
        if keep && (keptConnections.contains(connection) || keptConnections.count < Self.maxKeptConnections) {
            request.pointee.keepConnection = 1
            // Closes the connection itself if the answer could not be written.
            FCGX_Finish_r(request)
            guard request.pointee.ipcFd >= 0 else {
                keptConnections.remove(connection)
                return
            }
            request.pointee.ipcFd = -1
            if !keptConnections.contains(connection) {
                guard watch(connection, events: EPOLLIN.rawValue) else {
                    close(connection)
                    return
                }
                keptConnections.insert(connection)
            }
            return
        }
        request.pointee.keepConnection = 0
        FCGX_Detach(request)
        FCGX_Finish_r(request)
        keptConnections.remove(connection)
    }

    private func setDeadline(_ fd: Int32, _ option: Int32, _ deadline: timeval) {
        var value = deadline
        setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Copies everything out of libfcgi's buffers, which `FCGX_Finish_r` frees; nil when the request must not
    /// be served at all (another role than responder, no method or URI, a broken stream).
    private func readRequest(_ request: UnsafeMutablePointer<FCGX_Request>) -> HTTPRequest? {
        func param(_ name: String) -> String? {
            FCGX_GetParam(name, request.pointee.envp).map { String(cString: $0) }
        }
        guard param("FCGI_ROLE") == "RESPONDER", let method = param("REQUEST_METHOD"),
              let requestURI = param("REQUEST_URI")
        else { return nil }
        let body: [UInt8]
        var problem: BodyProblem?
        switch readBody(announced: param("CONTENT_LENGTH"), from: request) {
        case .complete(let bytes): body = bytes
        case .refused(let why): (body, problem) = ([], why)
        case .broken: return nil
        }
        let conditions = Self.conditionalHeaders(request.pointee.envp)
        return HTTPRequest(
            method: method, requestURI: requestURI,
            contentType: param("CONTENT_TYPE").flatMap { $0.isEmpty ? nil : $0 },
            body: body, bodyProblem: problem, requestID: param("REQUEST_ID"), ifMatch: conditions.ifMatch,
            ifNoneMatch: conditions.ifNoneMatch)
    }

    /// `If-Match` and `If-None-Match` (nginx's `HTTP_IF_MATCH`, `HTTP_IF_NONE_MATCH`) in one pass over the
    /// params, which mostly have neither: two `FCGX_GetParam` calls each compared every param, about 1,900
    /// instructions per request (callgrind).
    private static func conditionalHeaders(_ envp: FCGX_ParamArray?) -> (ifMatch: String?, ifNoneMatch: String?) {
        var found: (ifMatch: String?, ifNoneMatch: String?) = (nil, nil)
        guard var entry = envp else { return found }
        while let param = entry.pointee {
            if param[0] == CChar(UInt8(ascii: "H")), strncmp(param, "HTTP_IF_", 8) == 0 {
                if strncmp(param + 8, "MATCH=", 6) == 0 {
                    found.ifMatch = String(cString: param + 14)
                } else if strncmp(param + 8, "NONE_MATCH=", 11) == 0 {
                    found.ifNoneMatch = String(cString: param + 19)
                }
            }
            entry += 1
        }
        return found
    }

    private enum Body {
        case complete([UInt8])
        /// Answered with an error, unapplied; a refusal for what was announced is answered without reading.
        case refused(BodyProblem)
        /// The stream failed (the peer went quiet or away, a protocol error): not answered at all.
        case broken
    }

    /// Exactly CONTENT_LENGTH bytes, as CGI says (anything after them in the stream is read and dropped),
    /// and only if the stream then ends properly: a stream that breaks anywhere, in the body or after it,
    /// is a request that did not arrive whole.
    private func readBody(announced: String?, from request: UnsafeMutablePointer<FCGX_Request>) -> Body {
        guard let length = Self.contentLength(announced) else { return .refused(.invalidLength) }
        if length > maxBodyBytes { return .refused(.tooLarge) }
        if length > 0 {
            // The head has arrived whole; a body from nginx follows at once, since nginx reads a client's whole
            // body before it passes the request on. A peer pausing mid-body gets longer than a silent one.
            setDeadline(request.pointee.ipcFd, SO_RCVTIMEO, bodyTimeout)
        }
        // The next request on a kept connection starts with a head again.
        defer { if length > 0 { setDeadline(request.pointee.ipcFd, SO_RCVTIMEO, headTimeout) } }
        var body: [UInt8] = []
        body.reserveCapacity(length)
        while body.count < length {
            let count = FCGX_GetStr(readBuffer.baseAddress!, Int32(min(readBuffer.count, length - body.count)), request.pointee.in)
            if count <= 0 { break }
            body.append(contentsOf: UnsafeRawBufferPointer(start: readBuffer.baseAddress!, count: Int(count)))
        }
        // The rest of the stream, up to as much again as a body may hold: a peer that sends more is broken.
        var extra = 0
        while extra <= maxBodyBytes {
            let count = FCGX_GetStr(readBuffer.baseAddress!, Int32(readBuffer.count), request.pointee.in)
            if count <= 0 { break }
            extra += Int(count)
        }
        guard FCGX_GetError(request.pointee.in) == 0, FCGX_HasSeenEOF(request.pointee.in) != 0 else { return .broken }
        return body.count == length ? .complete(body) : .refused(.incomplete)
    }

    /// CGI's CONTENT_LENGTH: absent or empty is 0; otherwise decimal digits only, no sign.
    static func contentLength(_ text: String?) -> Int? {
        guard let text, !text.isEmpty else { return 0 }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
    }

    /// CGI response format: a `Status` line, headers, blank line, body, sent as one buffer.
    private func write(_ response: HTTPResponse, to request: UnsafeMutablePointer<FCGX_Request>) {
        var head = "Status: \(response.status.code) \(response.status.reason)\r\n"
        for header in response.headers {
            head += "\(header.name): \(header.value)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\n\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: response.body)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = FCGX_PutStr($0, Int32(buffer.count), request.pointee.out)
            }
        }
    }
}

/// A produced response's head and pieces, into the request's output stream; libfcgi sends each full buffer on
/// as a record while the rest is made.
private final class FastCGIResponseWriter: ResponseWriter {
    private let request: UnsafeMutablePointer<FCGX_Request>

    init(_ request: UnsafeMutablePointer<FCGX_Request>) {
        self.request = request
    }

    func writeHead(_ status: HTTPStatus, headers: [(name: String, value: String)]) -> Bool {
        var head = "Status: \(status.code) \(status.reason)\r\n"
        for header in headers {
            head += "\(header.name): \(header.value)\r\n"
        }
        head += "\r\n"
        return writeBody(Array(head.utf8))
    }

    func writeBody(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else { return true }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                FCGX_PutStr($0, Int32(buffer.count), request.pointee.out) == Int32(buffer.count)
            }
        }
    }
}
