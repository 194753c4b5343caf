#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastCGIResponder
import HTTPMessages
import Scoreboard
import SystemSupport

// The benchmark's ceiling for the FastCGI hop: the project's own responder answering a fixed note-sized
// JSON body without touching a database. Started by notes-supervisor (--worker-binary) like a worker, it
// reports itself ready and alive in its scoreboard slot as a worker does (or the supervisor's watchdog would
// take it for stuck) and ignores the worker's other options.

let body = Array(#"{"id":1,"text":"a note of about the size the benchmark reads","completed":false,"created_at":"2026-11-22T04:08:51.379950Z","updated_at":"2026-11-22T04:08:51.379950Z"}"#.utf8)
let response = HTTPResponse.json(.ok, body)

/// The value of `--name VALUE` among the worker's options, if given.
func option(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

do {
    let signals = try SignalPipe(signals: [SIGTERM, SIGINT])
    ignoreBrokenPipeSignal()
    let responder = try FastCGIResponder(listenFD: 0, maxBodyBytes: 1 << 20)
    let scoreboard = try option("--scoreboard-fd").flatMap(Int32.init).map { fd throws(SystemError) in try Scoreboard.attach(fd: fd) }
    let slot = option("--slot").flatMap(Int.init).flatMap { index in scoreboard?.writer(slot: index) }
    slot?.ready(pid: getpid(), generation: option("--generation").flatMap(Int.init) ?? 1)
    let heartbeatEvery = slot == nil ? nil : option("--timeout").flatMap(Double.init).flatMap { $0 > 0 ? heartbeatInterval(timeout: $0) : nil }
    try responder.serve(signals: signals, heartbeatEvery: heartbeatEvery, heartbeat: { slot?.heartbeat() }, onSignal: { _ in .stop }, handler: { requests in
        (Array(repeating: response, count: requests.count), .keepServing)
    })
    exit(0)
} catch {
    let line = Array("notes-null-responder: \(error)\n".utf8)
    _ = write(STDERR_FILENO, line, line.count)
    exit(1)
}
