/// One page of rows and how many rows match in all, for `X-Total-Count`.
public struct Page<Row: Sendable>: Sendable {
    public let rows: [Row]
    public let total: Int64
}

extension Database {
    /// Runs a page statement whose last column is `count(*) OVER ()`, so one round trip gives the rows and the
    /// total. A page past the end has no row to carry the total: only then does `count` run.
    func page<Row>(
        _ statement: PreparedStatement, _ parameters: [String?], skip: Int64,
        count: PreparedStatement, _ countParameters: [String?], row: (borrowing PGResult, Int) -> Row
    ) throws(StoreError) -> Page<Row> {
        let result = try run(statement, parameters)
        let rows = (0..<result.rowCount).map { row(result, $0) }
        if result.rowCount > 0 {
            return Page(rows: rows, total: result.int64(row: 0, column: result.columnCount - 1))
        }
        if skip == 0 { return Page(rows: [], total: 0) }
        return Page(rows: [], total: try run(count, countParameters).int64(row: 0, column: 0))
    }
}

/// `column` as RFC 3339 in UTC with microseconds, formatted by the server.
func rfc3339(_ column: String) -> String {
    #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
}

/// SQL text for an optional boolean parameter.
func sqlBool(_ value: Bool?) -> String? {
    value.map { $0 ? "t" : "f" }
}
