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

    public init(
        databaseURL: String?, applicationName: String, connectTimeoutSeconds: Int = 5,
        statementTimeoutMilliseconds: Int? = nil
    ) {
        self.databaseURL = databaseURL
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    public static func fromEnvironment(applicationName: String, statementTimeoutMilliseconds: Int? = nil) -> ConnectionSettings {
        let url = getenv("DATABASE_URL").map { String(cString: $0) }
        return ConnectionSettings(
            databaseURL: url?.isEmpty == false ? url : nil, applicationName: applicationName,
            statementTimeoutMilliseconds: statementTimeoutMilliseconds)
    }

    /// libpq reads keyword arrays in order and the last value wins; the expanded `dbname` (the URL) sits
    /// between our defaults, which it may override, and the settings we insist on.
    var keywordsAndValues: [(String, String)] {
        var pairs = [("connect_timeout", String(connectTimeoutSeconds))]
        if let databaseURL { pairs.append(("dbname", databaseURL)) }
        pairs.append(("application_name", applicationName))
        pairs.append(("client_encoding", "UTF8"))
        return pairs
    }
}
