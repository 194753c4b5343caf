/// One page of rows and how many rows match in all, for `X-Total-Count`.
public struct Page<Row: Sendable>: Sendable {
    public let rows: [Row]
    public let total: Int64
}

/// A page statement built by `pageSQL`, whose last column is the total, so one round trip gives the rows and
/// the total. A page past the end has no row to carry the total: only then does `count` run.
func pageQuery<Row>(
    _ statement: PreparedStatement, _ parameters: [String?], skip: Int64,
    count: PreparedStatement, _ countParameters: [String?], row: @escaping (borrowing PGResult, Int) -> Row
) -> Query<Page<Row>> {
    Query.statement(statement, parameters) { result -> Page<Row>? in
        guard result.rowCount > 0 else { return nil }
        let rows = (0..<result.rowCount).map { row(result, $0) }
        return Page(rows: rows, total: result.int64(row: 0, column: result.columnCount - 1))
    }.flatMap { page in
        if let page { return Query(value: page) }
        if skip == 0 { return Query(value: Page(rows: [], total: 0)) }
        return Query.statement(count, countParameters) { Page(rows: [], total: $0.int64(row: 0, column: 0)) }
    }
}

/// A page of `table` in id order, `$1` rows skipped and at most `$2` returned, with `total` (a scalar
/// query; by default the count of all rows matching `filter`) as the last column.
///
/// The skipped rows are counted off in an index alone (an index-only scan of ids: no row is read, nothing is
/// formatted), and the page is the `$2` rows from the id found there. OFFSET on the rows themselves read every
/// skipped row (and, with the select list beside it, formatted each: eight times slower at offset 10,000);
/// docs/PERFORMANCE.md. Both scans are one statement, so they see one snapshot; past the end the subquery is
/// NULL and the page empty.
func pageSQL(table: String, formattedColumns: String, filter: String = "true", total: String? = nil) -> String {
    """
    SELECT \(formattedColumns), (\(total ?? countSQL(table: table, filter: filter)))
    FROM \(table)
    WHERE \(filter) AND id >= (SELECT id FROM \(table) WHERE \(filter) ORDER BY id OFFSET $1 LIMIT 1)
    ORDER BY id LIMIT $2
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
