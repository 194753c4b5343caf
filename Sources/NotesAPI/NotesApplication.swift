import HTTPMessages
import Logging
import NotesStore
import Scoreboard

/// The HTTP API: routes a request to its endpoint and maps whatever goes wrong to a response.
public struct NotesApplication {
    private let router: Router
    private let logger: Logger

    /// - Parameter scoreboard: the pool's scoreboard, when the worker runs under the supervisor; without it
    ///   there is no `/status`.
    public init(database: Database, scoreboard: Scoreboard?, logger: Logger) {
        var router = Router()
        NotesEndpoints(notes: NoteStore(database: database)).register(in: &router)
        HealthEndpoint(database: database).register(in: &router)
        if let scoreboard {
            StatusEndpoint(scoreboard: scoreboard).register(in: &router)
        }
        self.router = router
        self.logger = logger
    }

    /// Every statement the endpoints run, for the database to prepare when it connects.
    public static var statements: [PreparedStatement] { NoteStore.statements }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        switch router.match(method: request.method, rawPath: request.rawPath) {
        case .notFound:
            return ErrorResponses.response(for: .notFound("Not Found"))
        case .methodNotAllowed(let allowed):
            return ErrorResponses.response(for: .methodNotAllowed(allowed: allowed))
        case .found(let handler, let parameters):
            do {
                return try handler(request, parameters)
            } catch {
                return ErrorResponses.response(for: error, to: request, logger: logger)
            }
        }
    }
}
