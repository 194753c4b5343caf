#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child ended, decoded from waitpid's status word.
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case killed(signal: Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        if status & 0x7f == 0 {
            self = .exited((status >> 8) & 0xff)
        } else {
            self = .killed(signal: status & 0x7f)
        }
    }

    var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .killed(let signo): "killed by signal \(signo) (\(signalName(signo)))"
        }
    }
}
