#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemSupport

/// Starts worker processes: fork+exec (through posix_spawn) of the worker binary as it is on disk now, with
/// the listening socket as fd 0 (the FastCGI convention) and the scoreboard as fd 3.
struct WorkerLauncher {
    let binary: String
    let listenFD: Int32
    let scoreboardFD: Int32
    /// Flags every worker gets (timeout, request limit, log file).
    let commonArguments: [String]

    static let scoreboardChildFD: Int32 = 3

    /// Checked once at start, so a wrong path is one clear error rather than a crash loop.
    func validate() throws(SystemError) {
        guard access(binary, X_OK) == 0 else { throw SystemError("worker binary \(binary)") }
    }

    func launch(slot: Int, generation: Int, environment: [String]) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies, so the worker keeps fds 0 and 3 and nothing else of ours.
        posix_spawn_file_actions_adddup2(&actions, listenFD, 0)
        posix_spawn_file_actions_adddup2(&actions, scoreboardFD, Self.scoreboardChildFD)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Start the worker with no blocked signals and default dispositions, whatever the supervisor has.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signo in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU] {
            sigaddset(&defaults, signo)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = [binary, "serve", "--scoreboard-fd", String(Self.scoreboardChildFD), "--slot", String(slot),
                         "--generation", String(generation)] + commonArguments
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SystemError("spawn \(binary)", code: code) }
        return pid
    }
}
