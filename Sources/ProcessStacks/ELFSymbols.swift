#if canImport(Glibc)
import Glibc
#endif
import SystemSupport

/// The function symbols of an ELF64 little-endian file (`.symtab`, else `.dynsym`), for naming the addresses of
/// a stack. Owns a read-only mapping of the file, unmapped when it goes: names are read from the file's pages
/// rather than copied, so naming a few frames costs no more memory than the symbol table's index.
final class ELFSymbols {
    private struct Function {
        let start: UInt64
        let size: UInt64
        let nameOffset: Int
    }

    /// The loadable segments: file offset to virtual address.
    private let segments: [(offset: UInt64, size: UInt64, address: UInt64)]
    private let functions: [Function]
    private let names: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer
    private let length: Int

    init(path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(path)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("fstat \(path)") }
        let length = Int(info.st_size)
        guard length >= 64, let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SystemError("mmap \(path)")
        }
        let file = UnsafeRawBufferPointer(start: base, count: length)
        guard let parsed = Self.parse(file) else {
            munmap(base, length)
            throw SystemError("\(path) is not an ELF64 little-endian file", code: ENOEXEC)
        }
        (segments, functions, names) = parsed
        mapping = base
        self.length = length
    }

    deinit {
        munmap(mapping, length)
    }

    /// The function an offset of the file lies in, and how far into it.
    func function(atFileOffset offset: UInt64) -> (name: String, offset: UInt64)? {
        guard let segment = segments.first(where: { $0.offset <= offset && offset < $0.offset + $0.size }) else { return nil }
        let address = offset - segment.offset + segment.address
        var low = 0, high = functions.count
        while low < high {
            let middle = (low + high) / 2
            if functions[middle].start <= address { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return nil }
        let function = functions[low - 1]
        guard address < function.start + max(function.size, 1) else { return nil }
        guard function.nameOffset < names.count else { return nil }
        let name = names[function.nameOffset...].prefix { $0 != 0 }
        return (String(decoding: name, as: UTF8.self), address - function.start)
    }

    private static func parse(
        _ file: UnsafeRawBufferPointer
    ) -> ([(offset: UInt64, size: UInt64, address: UInt64)], [Function], UnsafeRawBufferPointer)? {
        func u16(_ at: Int) -> Int { Int(file.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian) }
        func u32(_ at: Int) -> UInt32 { file.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        func u64(_ at: Int) -> UInt64 { file.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian }
        // "\u{7F}ELF", 64-bit, little-endian.
        guard file[0] == 0x7F, file[1] == 0x45, file[2] == 0x4C, file[3] == 0x46, file[4] == 2, file[5] == 1 else { return nil }
        let programHeaders = Int(u64(0x20)), sectionHeaders = Int(u64(0x28))
        let programHeaderSize = u16(0x36), programHeaderCount = u16(0x38)
        let sectionHeaderSize = u16(0x3A), sectionHeaderCount = u16(0x3C)
        guard programHeaders + programHeaderSize * programHeaderCount <= file.count,
              sectionHeaders + sectionHeaderSize * sectionHeaderCount <= file.count else { return nil }

        var segments: [(offset: UInt64, size: UInt64, address: UInt64)] = []
        for index in 0..<programHeaderCount {
            let header = programHeaders + index * programHeaderSize
            guard u32(header) == 1 else { continue }  // PT_LOAD
            segments.append((u64(header + 8), u64(header + 32), u64(header + 16)))
        }

        func section(_ index: Int) -> (type: UInt32, offset: Int, size: Int, link: Int) {
            let header = sectionHeaders + index * sectionHeaderSize
            return (u32(header + 4), Int(u64(header + 24)), Int(u64(header + 32)), Int(u32(header + 40)))
        }
        let sections = (0..<sectionHeaderCount).map(section)
        // SHT_SYMTAB (2) names every function; a stripped file keeps only SHT_DYNSYM (11).
        guard let table = sections.first(where: { $0.type == 2 }) ?? sections.first(where: { $0.type == 11 }),
              table.link < sections.count, table.offset + table.size <= file.count else { return nil }
        let strings = sections[table.link]
        guard strings.offset + strings.size <= file.count else { return nil }

        var functions: [Function] = []
        for entry in stride(from: table.offset, to: table.offset + table.size - 23, by: 24) {
            let info = file[entry + 4]
            guard info & 0xF == 2, u16(entry + 6) != 0 else { continue }  // STT_FUNC, defined here
            let start = u64(entry + 8)
            guard start != 0 else { continue }
            functions.append(Function(start: start, size: u64(entry + 16), nameOffset: Int(u32(entry))))
        }
        functions.sort { $0.start < $1.start }
        return (segments, functions, UnsafeRawBufferPointer(rebasing: file[strings.offset..<(strings.offset + strings.size)]))
    }
}
