import HTTPMessages
import PoolStatus
import Scoreboard

/// The names of the request counters' indexes: the scoreboard counts by route and status index and knows
/// neither; this maps them, from the endpoints' declarations and the statuses the service answers with.
public enum RequestLabels {
    /// Every declared path template once, in declaration order, then `unmatched` for requests refused before
    /// they reach an endpoint (no such path or method, a body that cannot be read).
    public static let routes: [String] = {
        var seen: [String] = []
        for endpoint in Endpoints.all where !seen.contains(endpoint.path) { seen.append(endpoint.path) }
        let routes = seen + ["unmatched"]
        precondition(routes.count <= Scoreboard.metricRoutes, "more routes than the scoreboard counts")
        return routes
    }()

    /// Both, for the status page.
    public static let names = MetricLabels(routes: routes, statuses: statuses)

    public static var unmatchedRoute: Int { routes.count - 1 }

    static func routeIndex(of path: String) -> Int {
        routes.firstIndex(of: path) ?? unmatchedRoute
    }

    /// The status codes the service answers with, then `other` for any else (none today).
    public static let statuses: [String] = {
        let statuses = HTTPStatus.all.map { String($0.code) } + ["other"]
        precondition(statuses.count <= Scoreboard.metricStatuses, "more statuses than the scoreboard counts")
        return statuses
    }()

    /// The index of `status` in `statuses`.
    public static func statusIndex(_ status: HTTPStatus) -> Int {
        status.code >= 0 && status.code < statusIndexByCode.count ? Int(statusIndexByCode[status.code]) : HTTPStatus.all.count
    }

    /// `statusIndex` by code, built once from `HTTPStatus.all`: one load per request instead of a search.
    private static let statusIndexByCode: [UInt8] = {
        var table = [UInt8](repeating: UInt8(HTTPStatus.all.count), count: 600)
        for (index, status) in HTTPStatus.all.enumerated() { table[status.code] = UInt8(index) }
        return table
    }()
}
