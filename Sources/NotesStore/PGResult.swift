import CLibPQ

/// Sole owner of one `PGresult`; it is cleared when this value goes away, and cannot be copied.
struct PGResult: ~Copyable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    var status: ExecStatusType { PQresultStatus(handle) }

    var succeeded: Bool {
        status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK
    }

    /// In a pipeline: not run, because an earlier statement of its transaction failed.
    var wasSkipped: Bool { status == PGRES_PIPELINE_ABORTED }

    /// In a pipeline: the end of a transaction (a Sync).
    var isSync: Bool { status == PGRES_PIPELINE_SYNC }

    var rowCount: Int { Int(PQntuples(handle)) }

    var columnCount: Int { Int(PQnfields(handle)) }

    /// nil for libpq's own errors, which carry none.
    var sqlState: SQLState? {
        PQresultErrorField(handle, Int32(UInt8(ascii: "C"))).map { SQLState(rawValue: String(cString: $0)) }
    }

    var errorMessage: String {
        oneLine(String(cString: PQresultErrorMessage(handle)))
    }

    func string(row: Int, column: Int) -> String {
        String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    /// Every row, copied out of libpq's memory.
    var rows: Rows {
        Rows(rowCount: rowCount, columnCount: columnCount, byteCount: 64 * rowCount * columnCount) { row, column, bytes in
            if PQgetisnull(handle, Int32(row), Int32(column)) == 1 { return false }
            let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
            PQgetvalue(handle, Int32(row), Int32(column)).withMemoryRebound(to: UInt8.self, capacity: length) {
                bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
            }
            return true
        }
    }

    func int64(row: Int, column: Int) -> Int64 {
        Int64(string(row: row, column: column)) ?? 0
    }

    func bool(row: Int, column: Int) -> Bool {
        PQgetvalue(handle, Int32(row), Int32(column)).pointee == CChar(UInt8(ascii: "t"))
    }
}

/// libpq's messages end with a newline and sometimes carry a tab-indented hint line; logs want one line.
func oneLine(_ message: String) -> String {
    message.split(whereSeparator: \.isNewline)
        .map { $0.drop(while: \.isWhitespace) }
        .joined(separator: " ")
}
