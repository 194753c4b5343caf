/// What can go wrong in the store, each case with one meaning its callers can act on.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The database cannot be reached or the connection broke: worth a retry later, not the caller's fault.
    case unavailable(String)
    /// A statement ran into the session's statement_timeout and was cancelled by the server.
    case timedOut(statement: String)
    /// libpq could not allocate memory for a connection or a result.
    case outOfMemory(String)
    /// The database schema is older than this build: someone must run `notes-worker migrate`.
    case schemaBehind(current: Int, required: Int)
    /// A statement failed on the server for another reason: a bug or an operator's change to the database.
    /// `sqlState` is nil for libpq's own errors, which carry none.
    case statementFailed(statement: String, sqlState: SQLState?, message: String)
    /// A create sent again found the row of its first attempt gone before it could read it (deleted
    /// meanwhile): the create happened, but there is nothing to answer with.
    case createdRowGone(statement: String)
    /// A migration failed and was rolled back.
    case migrationFailed(name: String, message: String)
    /// A setting in the environment has a value that means nothing.
    case misconfigured(String)
    /// Tables this service would create exist, made neither by its migrations nor by the FastAPI originals as
    /// they make them: nothing was changed.
    case unrecognizedSchema(String)
    /// The FastAPI originals' tables hold rows the API cannot represent (NULL where it needs a value), at most
    /// `AdoptionPlan.reportedRows` of them, of `count` in all: nothing was changed.
    case adoptionBlocked(rows: [UnrepresentableRow], count: Int)

    public var description: String {
        switch self {
        case .unavailable(let reason):
            reason
        case .timedOut(let statement):
            "statement \(statement) was cancelled by statement_timeout"
        case .outOfMemory(let what):
            "out of memory: \(what)"
        case .schemaBehind(let current, let required):
            "database schema is at version \(current), this worker needs \(required): run 'notes-worker migrate'"
        case .statementFailed(let statement, let sqlState, let message):
            "statement \(statement) failed (SQLSTATE \(sqlState?.rawValue ?? "none")): \(message)"
        case .createdRowGone(let statement):
            "statement \(statement) found no row: the row created by an earlier attempt of this request was deleted"
        case .migrationFailed(let name, let message):
            "migration \(name) failed and was rolled back: \(message)"
        case .misconfigured(let message):
            message
        case .unrecognizedSchema(let message):
            "cannot migrate, nothing was changed: \(message)"
        case .adoptionBlocked(let rows, let count):
            "cannot adopt the FastAPI tables, nothing was changed: \(count == 1 ? "1 row holds" : "\(count) rows hold") NULL where "
                + "the notes API needs a value (\(rows.map(\.description).joined(separator: "; "))"
                + (count > rows.count ? "; and \(count - rows.count) more" : "")
                + "); set or delete them as docs/DATABASE.md \"Adopting a FastAPI database\" shows, then run 'notes-worker migrate' again"
        }
    }

    /// Whether this failure is the statement's own, with this code.
    public func isStatementFailure(_ code: SQLState) -> Bool {
        if case .statementFailed(_, code?, _) = self { return true }
        return false
    }
}
