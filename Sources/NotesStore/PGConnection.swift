#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibPQ
import CLinux

/// Sole owner of one libpq connection (`PGconn`): opened by `connect`, closed with `PQfinish` when this
/// object goes away.
final class PGConnection {
    private let handle: OpaquePointer

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    static func connect(_ settings: ConnectionSettings) throws(StoreError) -> PGConnection {
        if let url = settings.databaseURL { try checkSyntax(of: url) }
        let pairs = settings.keywordsAndValues
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let cKeywords = keywords.map { UnsafePointer($0) } + [nil]
        let cValues = values.map { UnsafePointer($0) } + [nil]
        guard let handle = PQconnectdbParams(cKeywords, cValues, 1) else {
            throw .unavailable("cannot connect to database: out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let host = PQhost(handle).map { String(cString: $0) } ?? "(default)"
            let port = PQport(handle).map { String(cString: $0) } ?? "(default)"
            let reason = oneLine(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw .unavailable("cannot connect to database at host \(host) port \(port): \(reason)")
        }
        // Server notices ("relation already exists, skipping") are not events of ours; libpq would print
        // them to stderr in its own format, in the middle of our log lines.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return PGConnection(handle: handle)
    }

    /// libpq's complaint about a malformed URL quotes the offending part, which may be the password
    /// (`invalid percent-encoded token: "…"`, or the whole URI): the reason is kept, every quoted part left out.
    private static func checkSyntax(of url: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(url, &message) {
            PQconninfoFree(options)
            return
        }
        defer { PQfreemem(message) }
        let reason = message.map { withoutQuotedParts(oneLine(String(cString: $0))) } ?? "out of memory"
        throw .misconfigured("DATABASE_URL is not a valid libpq URI or key=value string: \(reason)")
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }

    /// Whether the server closed the connection while it sat idle (a restart, a terminated backend), which
    /// libpq learns only when it next reads: seen without waiting, so that statements go to a new connection
    /// instead of into one that is gone.
    var serverHasClosed: Bool { notes_peer_has_closed(PQsocket(handle)) != 0 }

    var lastError: String { oneLine(String(cString: PQerrorMessage(handle))) }

    /// Runs one or more statements without parameters.
    func execute(_ sql: String) -> PGResult? {
        PQexec(handle, sql).map { PGResult($0) }
    }

    func prepare(name: String, sql: String) -> PGResult? {
        PQprepare(handle, name, sql, 0, nil).map { PGResult($0) }
    }

    // Pipeline mode (libpq 14 and later): statements are sent one after another without waiting, and their
    // results read back in the same order. `Database.run` drives it.

    func enterPipelineMode() -> Bool { PQenterPipelineMode(handle) == 1 }

    /// Fails while results are still unread, or when the connection broke.
    func exitPipelineMode() -> Bool { PQexitPipelineMode(handle) == 1 }

    /// Parameters travel as text, separately from the statement, so no input ever becomes SQL; nil is NULL.
    func sendPrepared(name: String, parameters: [String?]) -> Bool {
        withCParameters(parameters) { count, values in
            PQsendQueryPrepared(handle, name, count, values, nil, nil, 0) == 1
        }
    }

    /// The same as a prepared statement, parsed and planned each time: nothing outlives it on the server,
    /// which is what a transaction-mode pooler needs.
    func sendUnnamed(sql: String, parameters: [String?]) -> Bool {
        withCParameters(parameters) { count, values in
            PQsendQueryParams(handle, sql, count, nil, values, nil, nil, 0) == 1
        }
    }

    /// Ends the implicit transaction of the statements sent since the last sync, and sends them all.
    func pipelineSync() -> Bool { PQpipelineSync(handle) == 1 }

    /// The next result in the pipeline; nil after the last result of each statement.
    func nextResult() -> PGResult? {
        PQgetResult(handle).map { PGResult($0) }
    }

    /// libpq copies the values into its output buffer before it returns.
    private func withCParameters<Sent>(
        _ parameters: [String?], _ body: (Int32, [UnsafePointer<CChar>?]) -> Sent
    ) -> Sent {
        let values = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { values.forEach { free($0) } }
        return body(Int32(values.count), values.map { UnsafePointer($0) })
    }
}

/// `text` with every double-quoted part replaced by `"…"`.
func withoutQuotedParts(_ text: String) -> String {
    var result = ""
    var quoted = false
    for character in text {
        if character == "\"" {
            result += quoted ? "…\"" : "\""
            quoted.toggle()
        } else if !quoted {
            result.append(character)
        }
    }
    return result
}
