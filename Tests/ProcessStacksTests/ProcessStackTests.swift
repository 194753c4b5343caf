#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ProcessStacks

/// Stacks of real processes: a `sleep` started for the test, and this test process's own mappings.
@Suite struct ProcessStackTests {
    @Test func mappingsLocateAnAddressInItsFile() {
        let maps = MemoryMaps(text: """
            55d0c0000000-55d0c0100000 r--p 00000000 08:01 42 /usr/bin/notes-worker
            55d0c0100000-55d0c0400000 r-xp 00100000 08:01 42 /usr/bin/notes-worker
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
            7f0000000000-7f0000001000 rw-p 00000000 00:00 0
            """)
        #expect(maps.mappings.count == 2)
        #expect(maps.locate(0x55d0_c010_0010)! == ("/usr/bin/notes-worker", 0x10_0010))
        #expect(maps.locate(0x7ffd_0000_0010) == nil)
    }

    @Test func onlyExecutableMappingsHoldCode() {
        let maps = MemoryMaps(text: """
            55d0c0000000-55d0c0100000 r--p 00000000 08:01 42 /usr/bin/notes-worker
            55d0c0100000-55d0c0400000 r-xp 00100000 08:01 42 /usr/bin/notes-worker
            """)
        #expect(maps.isCode(0x55d0_c010_0010) && !maps.isCode(0x55d0_c000_0010) && !maps.isCode(0x10))
    }

    /// The 8 bytes before a return address, as the word a scan reads there (little-endian: the last byte is
    /// the one right before the address).
    static func word(endingWith bytes: [UInt8]) -> UInt64 {
        (Array(repeating: 0x90, count: 8 - bytes.count) + bytes).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    @Test func aReturnAddressFollowsACall() {
        #if arch(x86_64)
        #expect(ProcessStack.followsCall(Self.word(endingWith: [0xE8, 1, 2, 3, 4])), "call rel32")
        #expect(ProcessStack.followsCall(Self.word(endingWith: [0xFF, 0x15, 1, 2, 3, 4])), "call *disp32(%rip), the PLT's")
        #expect(ProcessStack.followsCall(Self.word(endingWith: [0xFF, 0xD0])), "call *%rax")
        #expect(ProcessStack.followsCall(Self.word(endingWith: [0xFF, 0x50, 0x08])), "call *8(%rax)")
        #expect(!ProcessStack.followsCall(Self.word(endingWith: [0x48, 0x89, 0xE5])), "mov %rsp,%rbp")
        #expect(!ProcessStack.followsCall(Self.word(endingWith: [0xFF, 0xE0])), "jmp *%rax is no call")
        #endif
    }

    @Test func aLibraryFunctionIsNamedFromItsFileSymbols() throws {
        let address = UInt64(UInt(bitPattern: dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getpid")))
        #expect(address != 0)
        let frames = ProcessStack.name([address + 1], in: try MemoryMaps(pid: getpid()))
        #expect(frames.count == 1)
        #expect(["getpid", "__getpid"].contains(frames[0].function ?? ""), "\(frames)")
        #expect(frames[0].offset == 1)
        #expect(frames[0].file?.contains("libc") == true)
    }

    @Test func swiftNamesAreDemangledAndOthersKept() {
        #expect(ProcessStack.demangled("$sSi") == "Swift.Int")
        #expect(ProcessStack.demangled("clock_nanosleep") == "clock_nanosleep")
    }

    @Test func aSleepingProcessIsSampledAndGoesOnAsItWas() throws {
        let child = try Child(["/bin/sleep", "30"])
        defer { child.stop() }
        child.waitUntil { $0 == "S" }
        guard case .frames(let frames) = try ProcessStack.sample(pid: child.pid) else {
            Issue.record("the child ended")
            return
        }
        #expect(frames.first?.function?.contains("nanosleep") == true, "\(frames)")
        #expect(frames.first?.file?.contains("libc") == true)
        // Let go, it finishes the interrupted call and sleeps again.
        child.waitUntil { $0 == "S" }
        #expect(child.state() == "S", "sampling must leave it sleeping, not stopped")
    }

    @Test func aStoppedProcessStaysStopped() throws {
        let child = try Child(["/bin/sleep", "30"])
        defer { child.stop() }
        child.waitUntil { $0 == "S" }
        kill(child.pid, SIGSTOP)
        child.waitUntil { $0 == "T" }
        guard case .frames(let frames) = try ProcessStack.sample(pid: child.pid) else {
            Issue.record("the child ended")
            return
        }
        #expect(!frames.isEmpty)
        // Let go, it re-enters the stop it was in.
        child.waitUntil { $0 == "T" }
        #expect(child.state() == "T")
    }

    @Test func aProcessThatIsGoneCannotBeSampled() throws {
        let child = try Child(["/bin/true"])
        child.stop()
        #expect(throws: (any Error).self) { try ProcessStack.sample(pid: child.pid) }
    }
}

/// A child process of the test, killed and reaped at the end.
private struct Child {
    let pid: pid_t

    init(_ arguments: [String]) throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let code = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard code == 0 else { throw SpawnFailed(code: code) }
        self.pid = pid
    }

    struct SpawnFailed: Error { let code: Int32 }

    /// The state letter of /proc/PID/stat (R, S, T, t, Z...).
    func state() -> Character? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(cString: buffer)
        guard let close = line.lastIndex(of: ")") else { return nil }
        return line[line.index(close, offsetBy: 2)]
    }

    func waitUntil(_ condition: (Character?) -> Bool) {
        for _ in 0..<500 where !condition(state()) { usleep(10_000) }
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
