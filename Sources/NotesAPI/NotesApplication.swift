import HTTPMessages
import Logging
import NotesStore
import Scoreboard

/// The HTTP API: routes a request to its endpoint and maps whatever goes wrong to a response.
public struct NotesApplication {
    /// Every route of the service, built once; the OpenAPI document must describe exactly these.
    static let router: Router<Services> = {
        var router = Router<Services>()
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

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        if let problem = request.bodyProblem {
            return ErrorResponses.response(for: Self.error(for: problem))
        }
        switch Self.router.match(method: request.method, rawPath: request.rawPath) {
        case .notFound:
            return ErrorResponses.response(for: .notFound("Not Found"))
        case .methodNotAllowed(let allowed):
            return ErrorResponses.response(for: .methodNotAllowed(allowed: allowed))
        case .found(let handler, let parameters):
            do {
                return try handler(services, request, parameters)
            } catch {
                return ErrorResponses.response(for: error, to: request, logger: logger)
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
