#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// The environment workers start with: the supervisor's own, without what systemd meant for the supervisor
/// alone, plus the `KEY=VALUE` lines of an optional file that is read again on every reload, plus the
/// supervisor's own settings for workers (`overrides`), which win.
struct WorkerEnvironment {
    /// Variables addressed to the supervisor process only: a worker must not answer systemd or take sockets.
    static let supervisorOnly: Set<String> = ["NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"]

    private(set) var entries: [String]

    /// - Throws: when the file cannot be read or has a line that is not `KEY=VALUE`.
    init(inheriting inherited: [String], file: String?, overrides: [(String, String)] = []) throws(SystemError) {
        var variables: [(String, String)] = inherited.compactMap { entry in
            guard let equals = entry.firstIndex(of: "=") else { return nil }
            let key = String(entry[..<equals])
            return Self.supervisorOnly.contains(key) ? nil : (key, String(entry[entry.index(after: equals)...]))
        }
        for (key, value) in try (file.map { path throws(SystemError) in try Self.read(path) } ?? []) + overrides {
            variables.removeAll { $0.0 == key }
            variables.append((key, value))
        }
        entries = variables.map { "\($0.0)=\($0.1)" }
    }

    /// systemd's EnvironmentFile syntax, simplified: `KEY=VALUE` per line, `#` comments, blank lines, and
    /// values optionally wrapped in one pair of single or double quotes.
    static func read(_ path: String) throws(SystemError) -> [(String, String)] {
        guard let file = fopen(path, "r") else { throw SystemError("open environment file \(path)") }
        defer { fclose(file) }
        var pairs: [(String, String)] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        var number = 0
        while getline(&line, &capacity, file) >= 0, let line {
            number += 1
            let text = String(cString: line).trimmingWhitespace()
            if text.isEmpty || text.hasPrefix("#") { continue }
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw SystemError("environment file \(path) line \(number) is not KEY=VALUE", code: EINVAL)
            }
            var value = String(text[text.index(after: equals)...].trimmingWhitespace())
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            pairs.append((String(text[..<equals].trimmingWhitespace()), value))
        }
        return pairs
    }

    static var current: [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            entries.append(String(cString: entry))
            cursor += 1
        }
        return entries
    }
}
