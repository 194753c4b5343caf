/// Work on the database described, not done: either a finished value (or failure), or a statement to run
/// and what follows from its result. Stores return queries and callers build on them with `map` and
/// `flatMap`; `Database.run` runs them, the statements of many queries together (one pipeline per round),
/// which is how a worker answers every request that arrived at once with one round trip to PostgreSQL
/// instead of one each (docs/PERFORMANCE.md).
///
/// What follows a statement only reads its result and builds on it: it never runs anything itself, so it can
/// be called while other statements are still on their way.
public struct Query<Value> {
    enum Step {
        case finished(Result<Value, any Error>)
        /// `resume` is called with the statement's result, `resumeAfter` when it failed.
        case statement(
            PreparedStatement, [String?], resume: (borrowing PGResult) -> Query<Value>,
            resumeAfter: (StoreError) -> Query<Value>)
    }

    let step: Step

    init(_ step: Step) {
        self.step = step
    }

    public init(value: Value) {
        step = .finished(.success(value))
    }

    public init(failure: any Error) {
        step = .finished(.failure(failure))
    }

    /// The value `body` returns, or its error.
    public init(_ body: () throws -> Value) {
        step = .finished(Result(catching: body))
    }

    /// Runs `statement`; its result becomes the value through `read`.
    static func statement(
        _ statement: PreparedStatement, _ parameters: [String?], read: @escaping (borrowing PGResult) throws -> Value
    ) -> Query {
        Query(.statement(statement, parameters, resume: { result in Query { try read(result) } }, resumeAfter: { Query(failure: $0) }))
    }

    public func map<Next>(_ transform: @escaping (Value) throws -> Next) -> Query<Next> {
        flatMap { value in Query<Next> { try transform(value) } }
    }

    public func flatMap<Next>(_ next: @escaping (Value) throws -> Query<Next>) -> Query<Next> {
        switch step {
        case .finished(.success(let value)):
            do { return try next(value) } catch { return Query<Next>(failure: error) }
        case .finished(.failure(let error)):
            return Query<Next>(failure: error)
        case .statement(let statement, let parameters, let resume, let resumeAfter):
            return Query<Next>(.statement(
                statement, parameters, resume: { resume($0).flatMap(next) }, resumeAfter: { resumeAfter($0).flatMap(next) }))
        }
    }

    /// A store error anywhere in this query goes to `handler`, which turns it into a value or throws.
    func recover(_ handler: @escaping (StoreError) throws -> Value) -> Query {
        switch step {
        case .finished(.failure(let error as StoreError)):
            return Query { try handler(error) }
        case .finished:
            return self
        case .statement(let statement, let parameters, let resume, let resumeAfter):
            return Query(.statement(
                statement, parameters, resume: { resume($0).recover(handler) }, resumeAfter: { resumeAfter($0).recover(handler) }))
        }
    }
}

/// The first row of what `statement` returns, read by `row`; nil when it returns none.
func firstRowQuery<Row>(
    _ statement: PreparedStatement, _ parameters: [String?], row: @escaping (borrowing PGResult, Int) -> Row
) -> Query<Row?> {
    Query.statement(statement, parameters) { $0.rowCount == 0 ? nil : row($0, 0) }
}
