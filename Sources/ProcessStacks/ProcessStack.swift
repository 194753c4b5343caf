#if canImport(Glibc)
import Glibc
#endif
import CLinux
import SystemSupport

/// One frame of a sampled stack: where it is and, when the file it runs from has symbols, in which function.
public struct StackFrame: Sendable, Equatable, CustomStringConvertible {
    public let address: UInt64
    /// The function, demangled when it is Swift's; nil when the file has no symbol there.
    public let function: String?
    public let offset: UInt64
    /// The file the address is mapped from; nil for anonymous memory.
    public let file: String?

    public var description: String {
        let place = function.map { "\($0) + \(offset)" } ?? "?"
        let module = file.map { " in " + ($0.split(separator: "/").last.map(String.init) ?? $0) } ?? ""
        return "0x\(String(address, radix: 16)) \(place)\(module)"
    }
}

/// What sampling found.
public enum StackSample: Sendable {
    /// Innermost frame first.
    case frames([StackFrame])
    /// The process ended while it was being sampled; this is its wait status, which the sampler consumed, so
    /// the caller must treat the process as reaped with it.
    case exited(Int32)
}

/// The stack of another process of ours, as PHP-FPM's slow log reads a stuck worker's: stopped for a moment
/// through ptrace (PTRACE_SEIZE and PTRACE_INTERRUPT, so it sees no signal), walked along its frame pointers
/// (Swift keeps them), named from the symbols of the files it runs, and let go as it was. Where the innermost
/// code keeps no frame pointer (Debian's libc and libfcgi), the stack is scanned from its top for the first
/// word that is a return address (code right after a call) under a saved frame pointer, and the walk goes on
/// from there; the frames a scan skips over are those of the functions without frame pointers.
public enum ProcessStack {
    /// Walking stops here, at a frame pointer that goes down or jumps more than a stack's size, or at a zero one.
    public static let maximumFrames = 48

    public static func sample(pid: pid_t) throws(SystemError) -> StackSample {
        guard notes_ptrace_seize(pid) == 0 else { throw SystemError("ptrace(PTRACE_SEIZE, \(pid))") }
        guard notes_ptrace_interrupt(pid) == 0 else {
            let error = SystemError("ptrace(PTRACE_INTERRUPT, \(pid))")
            _ = notes_ptrace_detach(pid, 0)
            throw error
        }
        var status: Int32 = 0
        // The stop PTRACE_INTERRUPT asked for, or a signal that arrived first: either way the process is stopped,
        // and a signal it was about to receive is handed back to it when it is let go.
        while true {
            let waited = waitpid(pid, &status, allThreadsAndClones)
            if waited == pid { break }
            if waited < 0 && errno == EINTR { continue }
            let error = SystemError("waitpid(\(pid))")
            _ = notes_ptrace_detach(pid, 0)
            throw error
        }
        let stopped = status & 0xFF == 0x7F
        guard stopped else { return .exited(status) }
        let pendingSignal = notes_ptrace_event_stop(status) != 0 ? 0 : (status >> 8) & 0xFF
        let maps = try? MemoryMaps(pid: pid)
        let addresses = maps.map { walk(pid, $0) } ?? []
        _ = notes_ptrace_detach(pid, pendingSignal)
        return .frames(name(addresses, in: maps))
    }

    /// `__WALL`: the child is waited for whatever kind of stop or exit it reports.
    private static let allThreadsAndClones: Int32 = 0x4000_0000

    /// How far above the stack pointer a scan looks for a return address under a saved frame pointer.
    static let scanBytes: UInt64 = 64 << 10

    private static func walk(_ pid: pid_t, _ maps: MemoryMaps) -> [UInt64] {
        var pc: UInt64 = 0, frame: UInt64 = 0, stack: UInt64 = 0
        guard notes_ptrace_registers(pid, &pc, &frame, &stack) == 0 else { return [] }
        let memory = TraceeMemory(pid: pid, maps: maps)
        let registersChain = memory.frameChain(from: frame, above: stack)
        if registersChain.count >= trustedChain { return Array(([pc] + registersChain).prefix(maximumFrames)) }
        // The innermost functions keep no frame pointer: the return addresses from the stack's top down to the
        // saved frame pointer that starts the longest chain (the live one; stale words start short ones), then
        // that chain.
        var best = (scanned: [UInt64](), chain: registersChain)
        var scanned: [UInt64] = []
        var slot = stack
        while slot < stack + scanBytes, scanned.count < maximumFrames, let word = memory.word(at: slot) {
            if memory.isReturnAddress(word) {
                scanned.append(word)
                if let saved = memory.word(at: slot - 8) {
                    let chain = memory.frameChain(from: saved, above: slot)
                    if chain.count > best.chain.count { best = (scanned, chain) }
                    if chain.count >= trustedChain { break }
                }
            }
            slot += 8
        }
        return Array(([pc] + best.scanned + best.chain).prefix(maximumFrames))
    }

    /// A chain of saved frame pointers this long is taken for the live one without looking further.
    static let trustedChain = 8

    /// The stopped process's memory, read a word at a time.
    struct TraceeMemory {
        let pid: pid_t
        let maps: MemoryMaps

        func word(at address: UInt64) -> UInt64? {
            var failed: Int32 = 0
            let word = notes_ptrace_peek(pid, address, &failed)
            return failed == 0 ? word : nil
        }

        /// Code right after a call instruction: what a call leaves on the stack.
        func isReturnAddress(_ address: UInt64) -> Bool {
            guard address > 8, maps.isCode(address), let before = word(at: address - 8) else { return false }
            return ProcessStack.followsCall(before)
        }

        /// The return addresses along a chain of saved frame pointers starting at `frame`, which must lie above
        /// `stack`, each frame above the last, each return address code after a call; it ends where one is not.
        func frameChain(from frame: UInt64, above stack: UInt64) -> [UInt64] {
            var addresses: [UInt64] = []
            var frame = frame
            guard frame > stack, frame - stack < 8 << 20 else { return [] }
            while addresses.count < maximumFrames, frame % 8 == 0 {
                guard let caller = word(at: frame), let returnAddress = word(at: frame + 8),
                      isReturnAddress(returnAddress) else { break }
                addresses.append(returnAddress)
                guard caller > frame, caller - frame < 8 << 20 else { break }
                frame = caller
            }
            return addresses
        }
    }

    /// Whether the 8 bytes before an address (a little-endian word) end with a call instruction: x86-64's
    /// `call rel32`, `call *disp32(%rip)` and `call *%reg`/`call *(%reg)` forms, AArch64's `bl` and `blr`.
    static func followsCall(_ before: UInt64) -> Bool {
        #if arch(x86_64)
        let byte = { (back: Int) -> UInt8 in UInt8(truncatingIfNeeded: before >> (64 - 8 * back)) }
        return byte(5) == 0xE8
            || (byte(6) == 0xFF && byte(5) & 0x38 == 0x10)
            || (byte(2) == 0xFF && byte(1) & 0x38 == 0x10)
            || (byte(3) == 0xFF && byte(2) & 0x38 == 0x10)
        #elseif arch(arm64)
        let instruction = UInt32(truncatingIfNeeded: before >> 32)
        return instruction & 0xFC00_0000 == 0x9400_0000 || instruction & 0xFFFF_FC1F == 0xD63F_0000
        #else
        return false
        #endif
    }

    /// A return address is the instruction after the call, which may be the next function's first: callers are
    /// named by the byte before it.
    static func name(_ addresses: [UInt64], in maps: MemoryMaps?) -> [StackFrame] {
        var files: [String: ELFSymbols?] = [:]
        return addresses.enumerated().map { index, address in
            let lookedUp = index == 0 ? address : address - 1
            guard let (path, fileOffset) = maps?.locate(lookedUp) else {
                return StackFrame(address: address, function: nil, offset: 0, file: nil)
            }
            if files[path] == nil { files[path] = .some(try? ELFSymbols(path: path)) }
            guard let symbols = files[path] ?? nil, let found = symbols.function(atFileOffset: fileOffset) else {
                return StackFrame(address: address, function: nil, offset: 0, file: path)
            }
            return StackFrame(address: address, function: demangled(found.name), offset: found.offset + (lookedUp == address ? 0 : 1), file: path)
        }
    }

    static func demangled(_ name: String) -> String {
        guard name.hasPrefix("$s") || name.hasPrefix("_$s"),
              let text = name.withCString({ swiftDemangle($0, strlen($0), nil, nil, 0) }) else { return name }
        defer { free(text) }
        return String(cString: text)
    }
}

/// The Swift runtime's demangler (what `swift demangle` prints), which returns a string the caller frees.
@_silgen_name("swift_demangle")
private func swiftDemangle(
    _ mangledName: UnsafePointer<CChar>?, _ length: Int, _ outputBuffer: UnsafeMutablePointer<CChar>?,
    _ outputBufferSize: UnsafeMutablePointer<Int>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?
