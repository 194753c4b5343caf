import HTTPMessages
import Logging
import NotesStore
import Scoreboard

/// The routes of the service, to their endpoints.
typealias Routes = Router<Endpoint>

/// Every endpoint of the service, in the order the OpenAPI document lists them.
enum Endpoints {
    static let all: [Endpoint] = NotesEndpoints.all + AuthorEndpoints.all + ArticleEndpoints.all
        + [HealthEndpoint.check, HealthEndpoint.liveness, StatusEndpoint.live, StatusEndpoint.status, OpenAPIEndpoint.serve]
}

/// The HTTP API: routes each request to its endpoint, runs the endpoints' queries together, and maps
/// whatever goes wrong to a response.
public struct NotesApplication {
    /// Every route of the service, built once from the endpoints' declarations.
    static let router: Routes = {
        var router = Routes()
        for var endpoint in Endpoints.all {
            endpoint.routeIndex = UInt16(RequestLabels.routeIndex(of: endpoint.path))
            router.add(endpoint.method, endpoint.path, endpoint)
        }
        return router
    }()

    private let services: Services
    private let logger: Logger

    /// - Parameter runner: what runs the statements: the worker's `Database`, or a fake in tests.
    /// - Parameter scoreboard: the pool's scoreboard, when the worker runs under the supervisor.
    public init(runner: any StatementRunner, scoreboard: Scoreboard?, logger: Logger) {
        self.services = Services(runner: runner, scoreboard: scoreboard)
        self.logger = logger
    }

    /// Every statement the endpoints run (`notes-worker check-statements` prepares them all).
    public static var statements: [PreparedStatement] { Stores().statements }

    /// The responses to `requests`, in the same order. Their statements go to the database together
    /// (`runQueries`), in the order of the requests.
    public func respond(to requests: [HTTPRequest]) -> [HTTPResponse] {
        var routes: [Int] = []
        return respond(to: requests, routes: &routes)
    }

    /// The same, and each request's route index (`RequestLabels.routes`) in `routes`, for the request counters.
    public func respond(to requests: [HTTPRequest], routes: inout [Int]) -> [HTTPResponse] {
        var endpoints: [Endpoint?] = []
        endpoints.reserveCapacity(requests.count)
        var queries: [Query<Reply>] = []
        queries.reserveCapacity(requests.count)
        routes.removeAll(keepingCapacity: true)
        for request in requests {
            let (endpoint, query) = query(for: request)
            routes.append(endpoint.map { Int($0.routeIndex) } ?? RequestLabels.unmatchedRoute)
            endpoints.append(endpoint)
            queries.append(query)
        }
        let outcomes = runQueries(queries, on: services.runner)
        // Captured alone: a closure that captured `self` copied the application, every store in it, per request.
        let runner = services.runner, logger = logger
        return requests.indices.map { index in
            let answer: Result<HTTPResponse, RequestError>
            switch outcomes[index] {
            case .success(let reply):
                answer = Self.response(for: reply, of: endpoints[index], ifNoneMatch: requests[index].ifNoneMatch) {
                    ResponseContext(runner: runner, request: requests[index], logger: logger)
                }.mapError(RequestError.api)
            case .failure(let error):
                answer = .failure(.store(error))
            }
            switch answer {
            case .success(let response): return response
            case .failure(let error): return ErrorResponses.response(for: error, to: requests[index], logger: logger)
            }
        }
    }

    private static func response(
        for reply: Reply, of endpoint: Endpoint?, ifNoneMatch: String?, context: () -> ResponseContext
    ) -> Result<HTTPResponse, APIError> {
        if let endpoint { return endpoint.response(for: reply, ifNoneMatch: ifNoneMatch, context: context) }
        guard case .refused(let error) = reply else { preconditionFailure("an answer without an endpoint") }
        return .failure(error)
    }

    /// The request's endpoint and its query; a request refused before it reaches one has none.
    private func query(for request: HTTPRequest) -> (Endpoint?, Query<Reply>) {
        if let problem = request.bodyProblem {
            return (nil, Query(value: .refused(Self.error(for: problem))))
        }
        switch Self.router.match(method: request.method, rawPath: request.rawPath) {
        case .notFound:
            return (nil, Query(value: .refused(.notFound("Not Found"))))
        case .methodNotAllowed(let allowed):
            return (nil, Query(value: .refused(.methodNotAllowed(allowed: allowed))))
        case .found(let endpoint, let parameters):
            do {
                let inputs = try endpoint.inputs(of: request, path: parameters)
                return (endpoint, endpoint.handler(services, inputs))
            } catch {
                return (endpoint, Query(value: .refused(error)))
            }
        }
    }

    /// A body that cannot be used is refused whatever the route: nothing may act on part of a request.
    static func error(for problem: BodyProblem) -> APIError {
        switch problem {
        case .tooLarge: .contentTooLarge
        case .invalidLength: .badRequest("Invalid Content-Length")
        case .incomplete: .badRequest("Incomplete request body")
        }
    }
}
