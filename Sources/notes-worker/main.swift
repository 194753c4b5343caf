#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastCGIResponder
import Logging
import NotesAPI
import NotesStore
import ServiceLog
import SystemSupport

/// Requests larger than this are refused with 413, as nginx's `client_max_body_size 1m` does.
let maxBodyBytes = 1 << 20

let usage = """
    usage: notes-worker [serve]   answer FastCGI requests on the listening socket given as fd 0
           notes-worker migrate   apply pending schema migrations and exit
    The database comes from DATABASE_URL (a libpq URI or key=value string), else libpq's PG* variables.
    """

bootstrapLogging(program: "notes-worker")
let logger = Logger(label: "notes-worker")

/// Serves until SIGTERM or SIGINT. The database connection and the responder live in this function's
/// scope, so the connection is closed (PQfinish) before the process exits.
func serve() -> Int32 {
    do {
        // Installed before libfcgi initialises, so libfcgi keeps its hands off SIGTERM and SIGUSR1.
        let signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGUSR1])
        ignoreBrokenPipeSignal()
        let responder = try FastCGIResponder(listenFD: 0, maxBodyBytes: maxBodyBytes)
        let settings = ConnectionSettings.fromEnvironment(applicationName: "notes-worker-\(getpid())")
        let database = try Database(
            settings: settings, statements: NotesApplication.statements, requiredSchemaVersion: Migration.latestVersion)
        let application = NotesApplication(database: database, logger: logger)
        logger.debug("accepting requests")
        try responder.serve(until: signals, stopSignals: [SIGTERM, SIGINT]) { application.respond(to: $0) }
        return 0
    } catch {
        logger.error("\(error)")
        return 1
    }
}

func migrate() -> Int32 {
    do {
        let settings = ConnectionSettings.fromEnvironment(applicationName: "notes-migrate-\(getpid())")
        let database = try Database(settings: settings, statements: [])
        let applied = try Migrator(database: database).migrate()
        for migration in applied {
            logger.info("applied migration \(migration.file)")
        }
        let version = try database.schemaVersion()
        logger.info("schema is at version \(version)")
        return 0
    } catch {
        logger.error("\(error)")
        return 1
    }
}

switch CommandLine.arguments.dropFirst().first {
case nil, "serve":
    exit(serve())
case "migrate":
    exit(migrate())
case "-h", "--help", "help":
    print(usage)
    exit(0)
default:
    logger.error("unknown command '\(CommandLine.arguments[1])'\n\(usage)")
    exit(2)
}
