/// What makes an insert statement idempotent per client request: with a request id that a row has already, it
/// inserts nothing and returns no row (`insertOnce` then reads that row).
let onceSQL = "ON CONFLICT (request_id) DO NOTHING"

/// Runs `insert` (built with `onceSQL`, its last parameter the request id) and reads the created row with `row`.
///
/// nginx sends a create again when the worker it went to died before answering (docs/DATABASE.md): the
/// second attempt carries the same `requestID` (nginx's `$request_id`). When the first attempt committed, the
/// insert finds its row and makes none; the row is then read by `created` (a separate statement: the insert's
/// own snapshot, taken before it waited for the first attempt's commit, cannot see that row). When the first
/// attempt did not commit, the second one inserts. Without a request id every call inserts.
func insertOnce<Row>(
    _ insert: PreparedStatement, _ parameters: [String?], requestID: String?, created: PreparedStatement,
    row: @escaping (borrowing PGResult) -> Row
) -> Query<Row> {
    Query.statement(insert, parameters + [requestID]) { result -> Row? in
        result.rowCount == 0 ? nil : row(result)
    }.flatMap { inserted in
        if let inserted { return Query(value: inserted) }
        guard let requestID else { throw StoreError.statementFailed(statement: insert.name, sqlState: "", message: "no row") }
        return Query.statement(created, [requestID]) { result in
            // Deleted again between the two statements.
            guard result.rowCount > 0 else {
                throw StoreError.statementFailed(statement: created.name, sqlState: "", message: "no row")
            }
            return row(result)
        }
    }
}
