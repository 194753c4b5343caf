#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastCGIResponder
import Logging
import NotesAPI
import NotesStore
import NotesVersion
import Scoreboard
import ServiceLog
import SystemSupport

/// Requests larger than this are refused with 413, as nginx's `client_max_body_size 1m` does.
let maxBodyBytes = 1 << 20

bootstrapLogging(program: "notes-worker")
let logger = Logger(label: "notes-worker")

/// Serves until SIGTERM or SIGINT, or until the worker retires itself (request limit, a request that ran
/// out of time). The database connection, the responder and the scoreboard live in this function's scope,
/// so the connection is closed (PQfinish) before the process exits.
func serve(_ options: WorkerOptions) -> Int32 {
    do {
        if let logFile = options.logFile { try redirectStderr(toFile: logFile) }
        // Installed before libfcgi initialises, so libfcgi keeps its hands off SIGTERM and SIGUSR1.
        let signals = try SignalPipe(signals: [SIGTERM, SIGINT, SIGUSR1])
        ignoreBrokenPipeSignal()
        let responder = try FastCGIResponder(listenFD: 0, maxBodyBytes: maxBodyBytes)
        let scoreboard = try options.scoreboardFD.map { fd throws(SystemError) in try Scoreboard.attach(fd: fd) }
        // Started by a supervisor (not by spawn-fcgi, which exits at once): if it dies, even by SIGKILL, this
        // worker finishes its request and stops instead of serving on unsupervised.
        if let supervisor = scoreboard?.header.supervisorPID { try followParent(supervisor) }
        let slot = options.slot.flatMap { index in scoreboard?.writer(slot: index) }
        let settings = try ConnectionSettings.fromEnvironment(
            applicationName: "notes-worker-\(getpid())", statementTimeoutMilliseconds: options.statementTimeoutMilliseconds)
        let database = try Database(settings: settings, requiredSchemaVersion: Migration.latestVersion)
        database.waitObserver = slot.map(SlotDatabaseWaits.init)
        // Read once, before the worker shows ready: the supervisor grows the pool no further than this allows.
        scoreboard?.publishMetricLabels(routes: RequestLabels.routes, statuses: RequestLabels.statuses)
        if let scoreboard {
            do { scoreboard.publishDatabaseRoom(try database.connectionRoom()) } catch {
                logger.warning("cannot read the database's connection room: \(error)")
            }
        }
        let application = NotesApplication(runner: database, scoreboard: scoreboard, logger: logger)
        let requestLimit = options.requestLimit()
        let accessLog = try options.accessLog.map { path throws(SystemError) in try AppendFile(path: path) }
        let accounting = RequestAccounting(
            scoreboard: scoreboard, accessLog: accessLog.map { file in { file.append($0) } },
            serverTiming: options.serverTiming, pid: getpid())
        var routes: [Int] = []
        var served = 0

        slot?.ready(pid: getpid(), generation: options.generation)
        // The supervisor's watchdog takes a worker whose slot shows no progress for --timeout for a stuck one.
        let heartbeatEvery = slot == nil ? nil : options.timeoutSeconds.flatMap { $0 > 0 ? heartbeatInterval(timeout: $0) : nil }
        try responder.serve(signals: signals, heartbeatEvery: heartbeatEvery, heartbeat: { slot?.heartbeat() }, onSignal: { signo in
            guard signo == SIGUSR1 else {
                slot?.stopping()
                return .stop
            }
            if let logFile = options.logFile {
                do { try redirectStderr(toFile: logFile) } catch { logger.error("\(error)") }
            }
            if let accessLog {
                do { try accessLog.reopen() } catch { logger.error("cannot reopen the access log: \(error)") }
            }
            return .keepServing
        }, handler: { requests in
            // The scoreboard shows the first request of a batch; the batch is busy as long as its slowest one.
            let started = monotonicNanoseconds(), databaseBefore = database.statementNanoseconds
            slot?.requestStarted(method: requests[0].method, path: requests[0].rawPath, requestID: requests[0].requestID)
            var responses = application.respond(to: requests, routes: &routes)
            accounting.account(
                requests, &responses, routes: routes, nanoseconds: monotonicNanoseconds() - started,
                databaseNanoseconds: database.statementNanoseconds - databaseBefore)
            slot?.requestsFinished(requests.count)
            served += requests.count
            if database.takeStatementTimeout() {
                // A request outlived its budget; like a worker the watchdog kills, this one is replaced.
                slot?.retiring(.requestTimeout)
                return (responses, .stop)
            }
            if let requestLimit, served >= requestLimit {
                slot?.retiring(.maxRequests)
                return (responses, .stop)
            }
            return (responses, .keepServing)
        }, answered: { _ in
            // Until now a worker blocked writing to a slow peer still holds the request (the slow-request log's).
            slot?.answersWritten()
        })
        return 0
    } catch {
        logger.error("\(error)")
        return 1
    }
}

func migrate() -> Int32 {
    do {
        // Behind a transaction-mode pooler, migrations (one session, an advisory lock) go straight to PostgreSQL.
        let settings = try ConnectionSettings.fromEnvironment(
            applicationName: "notes-migrate-\(getpid())", urlVariables: ["MIGRATION_DATABASE_URL", "DATABASE_URL"])
        let database = try Database(settings: settings)
        let run = try Migrator(database: database).migrate()
        for adopted in run.adopted {
            logger.info("adopted \(adopted)")
        }
        for migration in run.applied {
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

/// Prepares every statement the service can run against the database's schema, each one checked by PostgreSQL
/// (workers prepare a statement only when it first runs): exit 0 when all are accepted.
func checkStatements() -> Int32 {
    do {
        // Straight to PostgreSQL, as migrations go: a transaction-mode pooler would not keep what is prepared.
        let settings = try ConnectionSettings.fromEnvironment(
            applicationName: "notes-check-\(getpid())", urlVariables: ["MIGRATION_DATABASE_URL", "DATABASE_URL"])
        let database = try Database(settings: settings, requiredSchemaVersion: Migration.latestVersion)
        let statements = NotesApplication.statements
        try database.prepare(statements)
        logger.info("all \(statements.count) statements prepared")
        return 0
    } catch {
        logger.error("\(error)")
        return 1
    }
}

/// Every statement the service can run, one a line: its name, a tab, its SQL on one line (for EXPLAIN by hand, and
/// the tests that read the plans of the workers' statements).
func listStatements() -> Int32 {
    for statement in NotesApplication.statements {
        print("\(statement.name)\t\(statement.sql.split(whereSeparator: \.isNewline).joined(separator: " "))")
    }
    return 0
}

do {
    let options = try WorkerOptions.parse(Array(CommandLine.arguments.dropFirst()))
    switch options.command {
    case .serve: exit(serve(options))
    case .migrate: exit(migrate())
    case .checkStatements: exit(checkStatements())
    case .statements: exit(listStatements())
    case .help:
        print(WorkerOptions.usage)
        exit(0)
    case .version:
        print(notesVersion)
        exit(0)
    }
} catch {
    logger.error("\(error)\n\(WorkerOptions.usage)")
    exit(2)
}
