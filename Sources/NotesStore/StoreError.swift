/// What can go wrong in the store, in terms its callers can act on.
public enum StoreError: Error, CustomStringConvertible {
    /// The database cannot be reached or the connection broke: worth a retry later, not the caller's fault.
    case unavailable(String)
    /// A statement ran into the session's statement_timeout and was cancelled by the server.
    case timedOut(statement: String)
    /// The database schema is older than this build: someone must run `notes-worker migrate`.
    case schemaBehind(current: Int, required: Int)
    /// A statement failed for another reason: a bug or an operator's change to the database.
    case statementFailed(statement: String, sqlState: String, message: String)
    /// A migration failed and was rolled back.
    case migrationFailed(name: String, message: String)
    /// A setting in the environment has a value that means nothing.
    case misconfigured(String)

    public var description: String {
        switch self {
        case .unavailable(let reason):
            reason
        case .timedOut(let statement):
            "statement \(statement) was cancelled by statement_timeout"
        case .schemaBehind(let current, let required):
            "database schema is at version \(current), this worker needs \(required): run 'notes-worker migrate'"
        case .statementFailed(let statement, let sqlState, let message):
            "statement \(statement) failed (SQLSTATE \(sqlState)): \(message)"
        case .migrationFailed(let name, let message):
            "migration \(name) failed and was rolled back: \(message)"
        case .misconfigured(let message):
            message
        }
    }
}
