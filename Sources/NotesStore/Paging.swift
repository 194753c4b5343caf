/// A page of `table` in id order, `$1` rows skipped and at most `$2` returned, with `total` (a scalar
/// query; by default the count of all rows matching `filter`) as the last column.
///
/// The skipped rows are counted off in an index alone (an index-only scan of ids: no row is read, nothing is
/// formatted), and the page is the `$2` rows from the id found there. OFFSET on the rows themselves read every
/// skipped row (and, with the select list beside it, formatted each: eight times slower at offset 10,000);
/// docs/PERFORMANCE.md. Both scans are one statement, so they see one snapshot; past the end the subquery is
/// NULL and the page empty.
///
/// Without `limited`, every row from the skipped ones on (and no `$2`): a whole collection.
func pageSQL(table: String, formattedColumns: String, filter: String = "true", total: String? = nil, limited: Bool = true) -> String {
    """
    SELECT \(formattedColumns), (\(total ?? countSQL(table: table, filter: filter)))
    FROM \(table)
    WHERE \(filter) AND id >= (SELECT id FROM \(table) WHERE \(filter) ORDER BY id OFFSET $1 LIMIT 1)
    ORDER BY id\(limited ? " LIMIT $2" : "")
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
