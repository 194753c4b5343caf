/// One page of rows and how many rows match in all, for `X-Total-Count`.
public struct Page<Row: Sendable>: Sendable {
    public let rows: [Row]
    public let total: Int64
}

extension Database {
    /// Runs a page statement built by `pageSQL`, whose last column is the total, so one round trip gives the
    /// rows and the total. A page past the end has no row to carry the total: only then does `count` run.
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

/// A page of `table` in id order, `$1` rows skipped and at most `$2` returned, with `total` (a scalar
/// query; by default the count of all rows matching `filter`) as the last column.
///
/// The skipped rows are read in a subquery that computes nothing: PostgreSQL evaluates the select list for
/// every row OFFSET skips, so formatting timestamps there (or `count(*) OVER ()`, which needs every row
/// formatted before the LIMIT) made a page at offset 10,000 eight times slower (docs/PERFORMANCE.md).
func pageSQL(table: String, columns: String, formattedColumns: String, filter: String = "true", total: String? = nil) -> String {
    """
    SELECT \(formattedColumns), (\(total ?? countSQL(table: table, filter: filter)))
    FROM (SELECT \(columns) FROM \(table) WHERE \(filter) ORDER BY id LIMIT $2 OFFSET $1) AS page
    ORDER BY id
    """
}

/// The number of rows of `table` that match `filter`, read row by row.
func countSQL(table: String, filter: String = "true") -> String {
    "SELECT count(*) FROM \(table) WHERE \(filter)"
}

/// `column` as RFC 3339 in UTC with microseconds, formatted by the server.
func rfc3339(_ column: String) -> String {
    #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
}

/// SQL text for an optional boolean parameter.
func sqlBool(_ value: Bool?) -> String? {
    value.map { $0 ? "t" : "f" }
}
