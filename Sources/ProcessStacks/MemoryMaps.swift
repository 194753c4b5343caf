#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The file-backed mappings of a process, from /proc/PID/maps: which file, and where in it, an address is.
struct MemoryMaps {
    struct Mapping {
        let start: UInt64
        let end: UInt64
        /// Where `start` is in the file.
        let fileOffset: UInt64
        let path: String
        /// Mapped executable: code, where a return address must point.
        let executable: Bool
    }

    let mappings: [Mapping]

    init(pid: pid_t) throws(SystemError) {
        guard let bytes = FileContents.read("/proc/\(pid)/maps") else { throw SystemError("read /proc/\(pid)/maps") }
        self.init(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Lines as the kernel writes them: `start-end perms offset dev inode path`.
    init(text: String) {
        mappings = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            // The kernel pads the path with spaces to a column, which the last field keeps.
            guard fields.count == 6, case let path = fields[5].drop(while: { $0 == " " }), path.hasPrefix("/") else { return nil }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let start = UInt64(range[0], radix: 16), let end = UInt64(range[1], radix: 16),
                  let offset = UInt64(fields[2], radix: 16) else { return nil }
            return Mapping(start: start, end: end, fileOffset: offset, path: String(path), executable: fields[1].contains("x"))
        }
    }

    /// Whether an address is in a file's code.
    func isCode(_ address: UInt64) -> Bool {
        mappings.contains { $0.start <= address && address < $0.end && $0.executable }
    }

    /// The file an address is mapped from, and the address's offset in that file.
    func locate(_ address: UInt64) -> (path: String, fileOffset: UInt64)? {
        guard let mapping = mappings.first(where: { $0.start <= address && address < $0.end }) else { return nil }
        return (mapping.path, address - mapping.start + mapping.fileOffset)
    }
}
