#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import Logging
import ServiceLog
import Supervisor

@main
struct NotesSupervisorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notes-supervisor",
        abstract: "Runs a pool of notes-worker FastCGI processes on one listening socket.",
        discussion: """
            Signals: TERM or INT stops gracefully (workers finish their request, then exit; any still \
            running after --graceful-timeout are killed). A worker that dies is replaced.
            Workers inherit the environment, DATABASE_URL included.
            """
    )

    @Option(help: "unix:/path/to.sock or host:port.", transform: { text in
        guard let address = ListenAddress(parsing: text) else {
            throw ValidationError("--listen must be unix:/absolute/path or host:port, not '\(text)'")
        }
        return address
    })
    var listen = ListenAddress.unix(path: "/run/notes/notes.sock")

    @Option(help: "Number of worker processes (default: the number of CPUs).")
    var workers: Int?

    @Option(help: "Path of the worker executable (default: notes-worker beside this executable).")
    var workerBinary: String?

    @Option(help: "Seconds workers get to finish on a graceful stop before they are killed.")
    var gracefulTimeout: Double = 30

    @Option(help: "Group given to the unix socket (mode 0660), e.g. the web server's group.")
    var socketGroup: String?

    func validate() throws {
        if let workers, workers < 1 { throw ValidationError("--workers must be at least 1") }
        if gracefulTimeout < 0 { throw ValidationError("--graceful-timeout must not be negative") }
    }

    func run() throws {
        bootstrapLogging(program: "notes-supervisor")
        let logger = Logger(label: "notes-supervisor")
        let configuration = SupervisorConfiguration(
            listen: listen,
            workers: workers ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            workerBinary: workerBinary ?? Self.siblingWorkerBinary(),
            gracefulTimeout: gracefulTimeout,
            socketGroup: socketGroup
        )
        do {
            try Arbiter(configuration: configuration, logger: logger).run()
        } catch {
            logger.error("\(error)")
            throw ExitCode.failure
        }
    }

    /// notes-worker from the directory this executable was started from.
    static func siblingWorkerBinary() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "notes-worker" }
        let path = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[...(path.lastIndex(of: "/") ?? path.startIndex)]) + "notes-worker"
    }
}

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}
