/// What makes an insert statement idempotent per client request: with a request id that a row has already, it
/// inserts nothing and returns no row (`Database.insertOnce` then reads that row).
let onceSQL = "ON CONFLICT (request_id) DO NOTHING"

extension Database {
    /// Runs `insert` (built with `onceSQL`, its last parameter the request id) and returns the created row.
    ///
    /// nginx sends a create again when the worker it went to died before answering (docs/DATABASE.md): the
    /// second attempt carries the same `requestID` (nginx's `$request_id`). When the first attempt committed, the
    /// insert finds its row and makes none; the row is then read by `created` (a separate statement: the insert's
    /// own snapshot, taken before it waited for the first attempt's commit, cannot see that row). When the first
    /// attempt did not commit, the second one inserts. Without a request id every call inserts.
    func insertOnce(
        _ insert: PreparedStatement, _ parameters: [String?], requestID: String?, created: PreparedStatement
    ) throws(StoreError) -> PGResult {
        let inserted = try run(insert, parameters + [requestID])
        guard inserted.rowCount == 0, let requestID else { return inserted }
        return try run(created, [requestID])
    }
}
