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
/// (Swift keeps them), named from the symbols of the files it runs, and let go as it was.
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
        let addresses = walk(pid)
        let maps = try? MemoryMaps(pid: pid)
        _ = notes_ptrace_detach(pid, pendingSignal)
        return .frames(name(addresses, in: maps))
    }

    /// `__WALL`: the child is waited for whatever kind of stop or exit it reports.
    private static let allThreadsAndClones: Int32 = 0x4000_0000

    private static func walk(_ pid: pid_t) -> [UInt64] {
        var pc: UInt64 = 0, frame: UInt64 = 0
        guard notes_ptrace_pc_and_frame(pid, &pc, &frame) == 0 else { return [] }
        var addresses = [pc]
        while addresses.count < maximumFrames, frame != 0, frame % 8 == 0 {
            var failed: Int32 = 0
            let caller = notes_ptrace_peek(pid, frame, &failed)
            guard failed == 0 else { break }
            let returnAddress = notes_ptrace_peek(pid, frame + 8, &failed)
            guard failed == 0, returnAddress != 0 else { break }
            addresses.append(returnAddress)
            guard caller > frame, caller - frame < 8 << 20 else { break }
            frame = caller
        }
        return addresses
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
