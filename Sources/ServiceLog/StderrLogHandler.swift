#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// Writes one line per event to stderr as `program[pid]: level: message key=value ...`.
///
/// The pid is read on every line, not captured once, because a forked child logs with its own pid.
/// Each line goes out in a single write(2) so lines from several processes sharing stderr never interleave.
/// No timestamp: journald and the supervisor's log file add their own.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let program: String

    public init(program: String) {
        self.program = program
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "\(program)[\(getpid())]: \(event.level): \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            line += " \(key)=\(merged[key]!)"
        }
        line += "\n"
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Routes every Logger of the process to stderr under `program`'s name. Call once, first thing in main.
public func bootstrapLogging(program: String, level: Logger.Level = .info) {
    LoggingSystem.bootstrap { _ in
        var handler = StderrLogHandler(program: program)
        handler.logLevel = level
        return handler
    }
}
