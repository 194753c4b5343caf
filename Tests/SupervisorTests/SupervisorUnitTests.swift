#if canImport(Glibc)
import Glibc
#endif
import Scoreboard
import SystemSupport
import Testing
@testable import Supervisor

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("unix:/run/notes/notes.sock", ListenAddress.unix(path: "/run/notes/notes.sock")),
        ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)),
        ("[::1]:9000", .tcp(host: "::1", port: 9000)),
        ("localhost:1", .tcp(host: "localhost", port: 1)),
        ("9000", .tcp(host: "127.0.0.1", port: 9000)),
        (":9000", .tcp(host: "127.0.0.1", port: 9000)),
    ])
    func parses(text: String, expected: ListenAddress) {
        #expect(ListenAddress(parsing: text) == expected)
        #expect(ListenAddress(parsing: expected.description) == expected)
    }

    @Test(arguments: ["unix:relative.sock", "unix:", "0", ":0", "-1", "host:0", "host:70000", "host:x",
                      "unix:/" + String(repeating: "a", count: 120)])
    func refuses(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }
}

@Suite struct ExitStatusTests {
    @Test func decodesWaitStatus() {
        #expect(ExitStatus(waitStatus: 0) == .exited(0))
        #expect(ExitStatus(waitStatus: 3 << 8) == .exited(3))
        #expect(ExitStatus(waitStatus: 9) == .killed(signal: 9))
        #expect(ExitStatus(waitStatus: 9).description == "killed by signal 9 (SIGKILL)")
        #expect(ExitStatus(waitStatus: 1 << 8).description == "exited with status 1")
    }
}

@Suite struct CrashBackoffTests {
    @Test func doublesUpToTheCapAndResetsAfterAHealthyLife() {
        let backoff = CrashBackoff()
        var delays: [Double] = []
        for _ in 0..<8 { delays.append(backoff.recordExit(lifetime: 0.1, now: 100)!) }
        #expect(delays == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
        #expect(!backoff.mayStart(now: 104.9))
        #expect(backoff.mayStart(now: 105))
        #expect(backoff.recordExit(lifetime: 60, now: 200) == nil)
        #expect(backoff.recordExit(lifetime: 0.1, now: 200) == 0.1)
    }
}

@Suite struct WorkerEnvironmentTests {
    private func file(_ text: String) -> String {
        var template = Array("/tmp/notes-env-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        let path = String(cString: template)
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        return path
    }

    @Test func dropsSupervisorOnlyVariablesAndAppliesTheFile() throws {
        let path = file("""
            # comment
            DATABASE_URL="postgresql://db/notes"

            EXTRA = 'quoted value'
            PLAIN=a=b
            """)
        defer { unlink(path) }
        let environment = try WorkerEnvironment(
            inheriting: ["PATH=/bin", "NOTIFY_SOCKET=/run/x", "LISTEN_FDS=1", "LISTEN_PID=7", "DATABASE_URL=old"], file: path)
        #expect(environment.entries == ["PATH=/bin", "DATABASE_URL=postgresql://db/notes", "EXTRA=quoted value", "PLAIN=a=b"])
    }

    @Test func supervisorSettingsWinOverTheFileAndTheInheritedEnvironment() throws {
        let path = file("FCGI_WEB_SERVER_ADDRS=10.0.0.9\n")
        defer { unlink(path) }
        let environment = try WorkerEnvironment(
            inheriting: ["FCGI_WEB_SERVER_ADDRS=10.0.0.8", "PATH=/bin"], file: path,
            overrides: [("FCGI_WEB_SERVER_ADDRS", "127.0.0.1,127.0.0.2")])
        #expect(environment.entries == ["PATH=/bin", "FCGI_WEB_SERVER_ADDRS=127.0.0.1,127.0.0.2"])
    }

    @Test func refusesLinesThatAreNotAssignments() {
        let path = file("DATABASE_URL=x\nnot an assignment\n")
        defer { unlink(path) }
        #expect(throws: SystemError.self) { try WorkerEnvironment(inheriting: [], file: path) }
        #expect(throws: SystemError.self) { try WorkerEnvironment(inheriting: [], file: "/nonexistent/notes.env") }
    }
}

@Suite struct ScoreboardTests {
    @Test func workersWriteAndTheSupervisorReadsBack() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.publishSupervisor(pid: 42, startedAtUnixMicroseconds: 1_000_000, listen: "unix:/run/notes/notes.sock")
        scoreboard.publish(generation: 3, targetWorkers: 2)
        scoreboard.prepareSlot(1, generation: 3)
        #expect(scoreboard.slot(1).state == .starting)

        let worker = scoreboard.writer(slot: 1)
        worker.ready(pid: 1234, generation: 3)
        worker.requestStarted(method: "PUT", path: "/notes/" + String(repeating: "é", count: 300))
        let busy = scoreboard.slot(1)
        #expect(busy.state == .busy)
        #expect(busy.currentRequest?.method == "PUT")
        #expect(busy.currentRequest?.path.utf8.count ?? 0 <= 255)
        #expect(busy.currentRequest?.path.hasSuffix("é") == true)
        worker.requestsFinished(1)
        worker.retiring(.maxRequests)

        let done = scoreboard.slot(1)
        #expect(done.requests == 1 && done.exitReason == .maxRequests && done.currentRequest == nil)
        #expect(scoreboard.occupiedSlots.map(\.pid) == [1234])
        scoreboard.countRestart(.maxRequests)
        scoreboard.releaseSlot(1)
        #expect(scoreboard.occupiedSlots.isEmpty)
        #expect(scoreboard.acceptedRequests == 1)
        let header = scoreboard.header
        #expect(header.supervisorPID == 42 && header.generation == 3 && header.targetWorkers == 2)
        #expect(header.listen == "unix:/run/notes/notes.sock")
        #expect(header.restarts[.maxRequests] == 1 && header.restarts[.crashed] == 0)
    }

    /// A /status reads the slots up to the highest one the supervisor ever prepared, not the whole board, so a
    /// worker that answers it maps a page or two of the board instead of all 160 KiB.
    @Test func readersLookNoFurtherThanTheHighestSlotPrepared() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.writer(slot: 300).ready(pid: 99, generation: 1)
        scoreboard.prepareSlot(2, generation: 1)
        scoreboard.writer(slot: 2).ready(pid: 7, generation: 1)
        #expect(scoreboard.occupiedSlots.map(\.pid) == [7])
        scoreboard.prepareSlot(300, generation: 1)
        scoreboard.writer(slot: 300).ready(pid: 99, generation: 1)
        scoreboard.prepareSlot(0, generation: 1)
        #expect(scoreboard.occupiedSlots.map(\.pid) == [7, 99])
    }

    /// The watchdog's evidence: ready, each finished request and each heartbeat move the heartbeat on.
    @Test func aWorkerShowsProgressThroughItsHeartbeat() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.prepareSlot(0, generation: 1)
        #expect(scoreboard.slot(0).heartbeatNanoseconds == nil)
        let worker = scoreboard.writer(slot: 0)
        worker.ready(pid: 7, generation: 1)
        let ready = try #require(scoreboard.slot(0).heartbeatNanoseconds)
        worker.heartbeat()
        let beat = try #require(scoreboard.slot(0).heartbeatNanoseconds)
        worker.requestStarted(method: "GET", path: "/notes/")
        worker.requestsFinished(1)
        let finished = try #require(scoreboard.slot(0).heartbeatNanoseconds)
        #expect(ready <= beat && beat <= finished)
        #expect(scoreboard.slot(0).state == .idle)
        #expect(heartbeatInterval(timeout: 30) == 1 && heartbeatInterval(timeout: 2) == 0.5)
    }

    /// The slow-request log's evidence: the request's id, and the statement the worker waits on while it does.
    @Test func aWorkerShowsItsRequestIDAndTheStatementItWaitsOn() throws {
        let scoreboard = try Scoreboard.create()
        scoreboard.prepareSlot(0, generation: 1)
        let worker = scoreboard.writer(slot: 0)
        worker.ready(pid: 7, generation: 1)
        worker.requestStarted(method: "PUT", path: "/notes/1/", requestID: "0123456789abcdef0123456789abcdef")
        #expect(scoreboard.slot(0).requestID == "0123456789abcdef0123456789abcdef")
        #expect(scoreboard.slot(0).databaseWait == nil)
        worker.databaseWaitBegan(statement: String(repeating: "s", count: 100), count: 3)
        let wait = try #require(scoreboard.slot(0).databaseWait)
        #expect(wait.statement == String(repeating: "s", count: 63) && wait.statements == 3 && wait.startedNanoseconds > 0)
        worker.databaseWaitEnded()
        #expect(scoreboard.slot(0).databaseWait == nil)
        worker.databaseWaitBegan(statement: "update_note", count: 1)
        worker.requestsFinished(1)
        #expect(scoreboard.slot(0).databaseWait == nil, "a finished request waits on nothing")
        #expect(scoreboard.slot(0).state == .idle && scoreboard.slot(0).answering, "idle, its answer still being written")
        worker.answersWritten()
        #expect(!scoreboard.slot(0).answering)
        worker.requestStarted(method: "GET", path: "/notes/")
        #expect(scoreboard.slot(0).requestID == nil, "a request without an id does not show the last one's")
    }

    @Test func attachRefusesWhatIsNotAScoreboard() {
        #expect(throws: SystemError.self) { try Scoreboard.attach(fd: 0) }
    }
}

@Suite struct ListenQueueProbeTests {
    /// A listening socket with `waiting` connections nobody accepted.
    private func queued(unix: Bool, waiting: Int, sockDiag: Int32? = nil) throws -> (probe: ListenQueueProbe, fds: [Int32]) {
        let listener = socket(unix ? AF_UNIX : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var fds = [listener]
        if unix {
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = "/tmp/notes-probe-\(getpid())-\(fds[0]).sock"
            unlink(path)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)
            #expect(listen(listener, 16) == 0)
            for _ in 0..<waiting {
                let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
                }
                #expect(connected == 0)
                fds.append(client)
            }
            unlink(path)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
            }
            #expect(listen(listener, 16) == 0)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            for _ in 0..<waiting {
                let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
                }
                #expect(connected == 0)
                fds.append(client)
            }
        }
        return (ListenQueueProbe(listeningSocket: listener, sockDiag: sockDiag), fds)
    }

    @Test(arguments: [true, false])
    func readsTheAcceptQueue(unix: Bool) throws {
        let (probe, fds) = try queued(unix: unix, waiting: 3)
        defer { fds.forEach { close($0) } }
        let sample = try #require(probe.sample())
        #expect(sample.queued == 3)
        #expect(sample.backlog == 16)
    }

    /// systemd's socket (ListenNetlink=) is SOCK_RAW and may be non-blocking: the kernel answers within sendto.
    @Test func readsAUnixQueueThroughAGivenSockDiagSocket() throws {
        let given = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue), ListenQueueProbe.netlinkProtocol)
        #expect(given >= 0)
        let (probe, fds) = try queued(unix: true, waiting: 2, sockDiag: given)
        defer { fds.forEach { close($0) } }
        #expect(try #require(probe.sample()).queued == 2)
    }
}

@Suite struct InheritedSocketsTests {
    @Test func aListeningSocketAloneOrWithASockDiagSocketInAnyOrderIsTheLayout() throws {
        let alone = try InheritedLayout([(3, .listeningStream)])
        #expect(alone.listening == 3 && alone.sockDiag == nil)
        let after = try InheritedLayout([(3, .listeningStream), (4, .sockDiag)])
        #expect(after.listening == 3 && after.sockDiag == 4)
        let before = try InheritedLayout([(3, .sockDiag), (4, .listeningStream)])
        #expect(before.listening == 4 && before.sockDiag == 3)
    }

    @Test func anyOtherLayoutIsRefusedNamingEachDescriptor() {
        let cases: [([(fd: Int32, kind: InheritedDescriptor)], InheritedLayoutError.Problem)] = [
            ([(3, .sockDiag)], .noListeningSocket),
            ([(3, .listeningStream), (4, .listeningStream)], .severalListeningSockets),
            ([(3, .listeningStream), (4, .sockDiag), (5, .sockDiag)], .severalSockDiagSockets),
            ([(3, .listeningStream), (4, .other("a pipe"))], .unexpected(fd: 4)),
        ]
        for (passed, problem) in cases {
            do {
                _ = try InheritedLayout(passed)
                Issue.record("accepted \(passed.map(\.kind))")
            } catch {
                #expect(error.problem == problem)
                #expect(error.description.contains("LISTEN_FDS=\(passed.count) (fd 3 is "))
                #expect(error.description.contains("ListenNetlink=inet-diag 0"))
            }
        }
    }

    @Test func theKernelSaysWhatEachDescriptorIs() {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let idle = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let diag = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue), ListenQueueProbe.netlinkProtocol)
        let route = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue), 0)  // NETLINK_ROUTE
        var pipeFDs: [Int32] = [-1, -1]
        #expect(pipe(&pipeFDs) == 0)
        defer { ([listener, idle, diag, route] + pipeFDs).forEach { close($0) } }
        #expect(listen(listener, 4) == 0)
        #expect(InheritedDescriptor(of: listener) == .listeningStream)
        #expect(InheritedDescriptor(of: diag) == .sockDiag)
        #expect(InheritedDescriptor(of: idle) == .other("a socket of family \(AF_INET), type \(SOCK_STREAM.rawValue)"))
        #expect(InheritedDescriptor(of: route) != .sockDiag)
        #expect(InheritedDescriptor(of: pipeFDs[0]) == .other("a pipe"))
        #expect(InheritedDescriptor(of: 999) == .other("not an open descriptor"))
    }
}
