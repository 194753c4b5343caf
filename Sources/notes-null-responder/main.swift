#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastCGIResponder
import HTTPMessages
import SystemSupport

// The benchmark's ceiling for the FastCGI hop: the project's own responder answering a fixed note-sized
// JSON body without touching a database. Started by notes-supervisor (--worker-binary) like a worker, it
// accepts and ignores the worker's options.

let body = Array(#"{"id":1,"text":"a note of about the size the benchmark reads","completed":false,"created_at":"2026-11-22T04:08:51.379950Z","updated_at":"2026-11-22T04:08:51.379950Z"}"#.utf8)
let response = HTTPResponse.json(.ok, body)

do {
    let signals = try SignalPipe(signals: [SIGTERM, SIGINT])
    ignoreBrokenPipeSignal()
    let responder = try FastCGIResponder(listenFD: 0, maxBodyBytes: 1 << 20)
    try responder.serve(signals: signals, onSignal: { _ in .stop }, handler: { requests in
        (Array(repeating: response, count: requests.count), .keepServing)
    })
    exit(0)
} catch {
    let line = Array("notes-null-responder: \(error)\n".utf8)
    _ = write(STDERR_FILENO, line, line.count)
    exit(1)
}
