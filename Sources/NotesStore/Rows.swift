/// The rows a statement returned, copied out of libpq's result: each value as the text PostgreSQL sent,
/// by row and column. A plain value, so the code that reads it runs without libpq (the unit tests' fakes).
public struct Rows: Sendable, Equatable {
    public private(set) var rowCount: Int
    public let columnCount: Int
    /// Every value's bytes back to back, row by row.
    private var bytes: [UInt8]
    /// Where each value ends in `bytes`; the sign bit marks NULL.
    private var ends: [Int32]

    private static let nullMark = Int32.min

    /// No rows, as a statement that matched nothing returns.
    public static let none = Rows(columnCount: 0, values: [])

    /// Rows from text values (nil is NULL), each row `columnCount` long.
    public init(columnCount: Int, values: [[String?]]) {
        self.columnCount = columnCount
        self.rowCount = values.count
        bytes = []
        ends = []
        ends.reserveCapacity(values.count * columnCount)
        for row in values {
            precondition(row.count == columnCount, "a row of \(row.count) values where \(columnCount) columns")
            for value in row {
                if let value { bytes.append(contentsOf: value.utf8) }
                ends.append(Int32(bytes.count) | (value == nil ? Self.nullMark : 0))
            }
        }
    }

    /// Rows filled by `value(row, column, append)`, which appends the value's bytes, or reports NULL by
    /// returning false.
    init(rowCount: Int, columnCount: Int, byteCount: Int, value: (Int, Int, inout [UInt8]) -> Bool) {
        self.rowCount = rowCount
        self.columnCount = columnCount
        bytes = []
        bytes.reserveCapacity(byteCount)
        ends = []
        ends.reserveCapacity(rowCount * columnCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                let present = value(row, column, &bytes)
                ends.append(Int32(bytes.count) | (present ? 0 : Self.nullMark))
            }
        }
    }

    /// The first `count` rows (all of them when there are no more).
    public func prefix(rows count: Int) -> Rows {
        guard count < rowCount else { return self }
        var first = self
        first.rowCount = count
        first.ends.removeLast(ends.count - count * columnCount)
        first.bytes.removeLast(bytes.count - (first.ends.last.map { Int($0 & Int32.max) } ?? 0))
        return first
    }

    /// The bytes of all values together.
    public var byteCount: Int { bytes.count }

    private func range(_ row: Int, _ column: Int) -> Range<Int> {
        let index = row * columnCount + column
        let start = index == 0 ? 0 : Int(ends[index - 1] & Int32.max)
        return start..<Int(ends[index] & Int32.max)
    }

    public func isNull(row: Int, column: Int) -> Bool {
        ends[row * columnCount + column] < 0
    }

    /// The value's text as UTF-8 bytes (empty for NULL).
    public func bytes(row: Int, column: Int) -> ArraySlice<UInt8> {
        bytes[range(row, column)]
    }

    public func string(row: Int, column: Int) -> String {
        String(decoding: bytes(row: row, column: column), as: UTF8.self)
    }

    /// A bigint column; 0 for NULL.
    public func int64(row: Int, column: Int) -> Int64 {
        var value: Int64 = 0
        var negative = false
        for byte in bytes(row: row, column: column) {
            if byte == UInt8(ascii: "-") {
                negative = true
            } else {
                value = value &* 10 &+ Int64(byte &- UInt8(ascii: "0"))
            }
        }
        return negative ? 0 &- value : value
    }

    /// A boolean column, which PostgreSQL sends as `t` or `f`; false for NULL.
    public func bool(row: Int, column: Int) -> Bool {
        bytes(row: row, column: column).first == UInt8(ascii: "t")
    }
}
