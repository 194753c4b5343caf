import HTTPMessages
import Logging
import NotesStore
import Scoreboard

/// The routes of the service: each handler describes its answer as a query, which the application runs
/// together with those of the other requests that arrived at the same time.
typealias Routes = Router<Services, Query<HTTPResponse>>

extension Routes {
    /// A route answered by its handler at once, without a query: documents, the pool's status, the health
    /// check (which runs its own round trip, apart from the pipelines).
    mutating func add(
        _ method: String, _ pattern: String,
        answeredAtOnce handler: @escaping @Sendable (Services, HTTPRequest, PathParameters) throws -> HTTPResponse
    ) {
        add(method, pattern) { services, request, parameters in
            Query { try handler(services, request, parameters) }
        }
    }
}

/// The HTTP API: routes each request to its endpoint, runs the endpoints' queries together, and maps
/// whatever goes wrong to a response.
public struct NotesApplication {
    /// Every route of the service, built once; the OpenAPI document must describe exactly these.
    static let router: Routes = {
        var router = Routes()
        NotesEndpoints.register(in: &router)
        AuthorEndpoints.register(in: &router)
        ArticleEndpoints.register(in: &router)
        HealthEndpoint.register(in: &router)
        StatusEndpoint.register(in: &router)
        OpenAPIEndpoint.register(in: &router)
        return router
    }()

    private let services: Services
    private let logger: Logger

    /// - Parameter scoreboard: the pool's scoreboard, when the worker runs under the supervisor.
    public init(database: Database, scoreboard: Scoreboard?, logger: Logger) {
        self.services = Services(database: database, scoreboard: scoreboard)
        self.logger = logger
    }

    /// Every statement the endpoints run, for the database to prepare when it connects.
    public static var statements: [PreparedStatement] { Services.statements }

    /// The responses to `requests`, in the same order. Their statements go to the database together
    /// (`Database.run`), in the order of the requests.
    public func respond(to requests: [HTTPRequest]) -> [HTTPResponse] {
        let outcomes = services.database.run(requests.map(query))
        return zip(requests, outcomes).map { request, outcome in
            switch outcome {
            case .success(let response): response
            case .failure(let error): ErrorResponses.response(for: error, to: request, logger: logger)
            }
        }
    }

    private func query(for request: HTTPRequest) -> Query<HTTPResponse> {
        if let problem = request.bodyProblem {
            return Query(value: ErrorResponses.response(for: Self.error(for: problem)))
        }
        switch Self.router.match(method: request.method, rawPath: request.rawPath) {
        case .notFound:
            return Query(value: ErrorResponses.response(for: .notFound("Not Found")))
        case .methodNotAllowed(let allowed):
            return Query(value: ErrorResponses.response(for: .methodNotAllowed(allowed: allowed)))
        case .found(let handler, let parameters):
            do {
                return try handler(services, request, parameters)
            } catch {
                return Query(failure: error)
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
