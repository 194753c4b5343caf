#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How to reach PostgreSQL: `DATABASE_URL` (a libpq URI or key=value string) or, where it is absent,
/// libpq's own PG* environment variables.
public struct ConnectionSettings: Sendable {
    public var databaseURL: String?
    /// Shown in pg_stat_activity; it carries the process id so a backend can be traced to its worker.
    public var applicationName: String
    /// Applies unless the URL sets its own `connect_timeout`.
    public var connectTimeoutSeconds: Int
    /// The server cancels any statement running longer than this (and releases its locks); nil keeps the
    /// server's setting.
    public var statementTimeoutMilliseconds: Int?
    /// Prepare each statement once per connection (the default), or send every statement unnamed with its
    /// parameters: what a pooler in transaction mode needs, as PgBouncer 1.18 hands each transaction to any
    /// of its server connections, where a statement prepared on another one does not exist.
    public var preparesStatements: Bool

    public init(
        databaseURL: String?, applicationName: String, connectTimeoutSeconds: Int = 3,
        statementTimeoutMilliseconds: Int? = nil, preparesStatements: Bool = true
    ) {
        self.databaseURL = databaseURL
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
        self.preparesStatements = preparesStatements
    }

    /// The first of `urlVariables` that is set and not empty (`DATABASE_URL` by default), and
    /// `DATABASE_PREPARED_STATEMENTS` (`on`, the default, or `off`).
    public static func fromEnvironment(
        applicationName: String, statementTimeoutMilliseconds: Int? = nil, urlVariables: [String] = ["DATABASE_URL"]
    ) throws(StoreError) -> ConnectionSettings {
        let url = urlVariables.lazy.compactMap { getenv($0).map { String(cString: $0) } }.first { !$0.isEmpty }
        return ConnectionSettings(
            databaseURL: url, applicationName: applicationName,
            statementTimeoutMilliseconds: statementTimeoutMilliseconds,
            preparesStatements: try onOrOff("DATABASE_PREPARED_STATEMENTS", default: true))
    }

    private static func onOrOff(_ variable: String, default defaultValue: Bool) throws(StoreError) -> Bool {
        guard let value = getenv(variable).map({ String(cString: $0) }), !value.isEmpty else { return defaultValue }
        switch value.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw .misconfigured("\(variable) must be on or off, not '\(value)'")
        }
    }

    /// Without these a connection whose packets vanish (a partition, a host gone without a reset) would hold
    /// a worker until the kernel gives up after many minutes: an idle connection is probed after 5 s and
    /// declared dead after 3 unanswered probes 2 s apart, and unacknowledged data fails the connection after
    /// 10 s. Each applies unless the URL sets its own.
    static let tcpDefaults = [
        ("keepalives", "1"), ("keepalives_idle", "5"), ("keepalives_interval", "2"), ("keepalives_count", "3"),
        ("tcp_user_timeout", "10000"),
    ]

    /// libpq reads keyword arrays in order and the last value wins; the expanded `dbname` (the URL) sits
    /// between our defaults, which it may override, and the settings we insist on.
    var keywordsAndValues: [(String, String)] {
        var pairs = [("connect_timeout", String(connectTimeoutSeconds))] + Self.tcpDefaults
        if let databaseURL { pairs.append(("dbname", databaseURL)) }
        pairs.append(("application_name", applicationName))
        pairs.append(("client_encoding", "UTF8"))
        return pairs
    }
}
