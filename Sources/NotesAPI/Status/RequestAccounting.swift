#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HTTPMessages
import Scoreboard
import SystemSupport
import JSONOutput

/// What a worker does with each answered request beyond answering it: counts it by route and status in the
/// scoreboard (three atomic adds), and on request writes its access log line and adds `Server-Timing`.
///
/// The requests of one batch are read together and share one pipeline to PostgreSQL, so each of them reports
/// the batch's times: total from the batch's start until the answers were made, db the time in PostgreSQL
/// meanwhile (a whole collection, streamed while it is written, is counted until its answer's head).
public struct RequestAccounting {
    private let scoreboard: Scoreboard?
    private let accessLog: (([UInt8]) -> Void)?
    private let serverTiming: Bool
    private let pid: Int32

    /// - Parameter accessLog: writes one line, in one write; nil: no access log.
    public init(scoreboard: Scoreboard?, accessLog: (([UInt8]) -> Void)?, serverTiming: Bool, pid: Int32) {
        self.scoreboard = scoreboard
        self.accessLog = accessLog
        self.serverTiming = serverTiming
        self.pid = pid
    }

    /// Accounts for `requests`, answered with `responses` (to which it may add a header), of routes `routes`.
    public func account(
        _ requests: [HTTPRequest], _ responses: inout [HTTPResponse], routes: [Int], nanoseconds: UInt64,
        databaseNanoseconds: UInt64
    ) {
        if let scoreboard {
            for index in responses.indices {
                scoreboard.recordRequest(
                    route: routes[index], status: RequestLabels.statusIndex(responses[index].status), nanoseconds: nanoseconds)
            }
        }
        if serverTiming {
            let value = Self.serverTiming(databaseNanoseconds: databaseNanoseconds, totalNanoseconds: nanoseconds)
            for index in responses.indices { responses[index].headers.append(("Server-Timing", value)) }
        }
        if let accessLog {
            let time = wallClockMicroseconds()
            for index in responses.indices {
                accessLog(Self.accessLogLine(
                    AccessLogEntry(
                        unixMicroseconds: time, requestID: requests[index].requestID, method: requests[index].method,
                        route: RequestLabels.routes[routes[index]], status: responses[index].status.code,
                        bytes: responses[index].producer == nil ? responses[index].body.count : nil,
                        databaseNanoseconds: databaseNanoseconds, totalNanoseconds: nanoseconds, pid: pid)))
            }
        }
    }

    /// `db;dur=0.120, app;dur=0.310`: milliseconds in PostgreSQL and in the worker (the rest of the total).
    static func serverTiming(databaseNanoseconds: UInt64, totalNanoseconds: UInt64) -> String {
        let database = min(databaseNanoseconds, totalNanoseconds)
        return "db;dur=\(milliseconds(database)), app;dur=\(milliseconds(totalNanoseconds - database))"
    }

    private static func milliseconds(_ nanoseconds: UInt64) -> String {
        let microseconds = (nanoseconds + 500) / 1000
        let fraction = String(microseconds % 1000)
        return "\(microseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    /// One access log line: a JSON object and its newline.
    static func accessLogLine(_ entry: AccessLogEntry) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.object { writer, member in
            member(&writer, "time")
            writer.string(rfc3339(unixMicroseconds: entry.unixMicroseconds))
            member(&writer, "request_id")
            if let requestID = entry.requestID { writer.string(requestID) } else { writer.raw("null") }
            member(&writer, "method")
            writer.string(entry.method)
            member(&writer, "route")
            writer.string(entry.route)
            member(&writer, "status")
            writer.integer(entry.status)
            member(&writer, "bytes")
            if let bytes = entry.bytes { writer.integer(bytes) } else { writer.raw("null") }
            member(&writer, "db_ms")
            writer.milliseconds(Double(entry.databaseNanoseconds) / 1e9)
            member(&writer, "total_ms")
            writer.milliseconds(Double(entry.totalNanoseconds) / 1e9)
            member(&writer, "pid")
            writer.integer(entry.pid)
        }
        var line = writer.bytes
        line.append(UInt8(ascii: "\n"))
        return line
    }
}

/// What one access log line says.
struct AccessLogEntry {
    let unixMicroseconds: Int64
    let requestID: String?
    let method: String
    let route: String
    let status: Int
    /// The body's length; nil for an answer streamed as it is made.
    let bytes: Int?
    let databaseNanoseconds: UInt64
    let totalNanoseconds: UInt64
    let pid: Int32
}

private func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}
