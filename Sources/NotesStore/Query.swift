/// Work on the database described, not done: either a finished value (or failure), or a statement to run
/// and what follows from its outcome. Stores return queries and callers build on them with `map` and
/// `flatMap`; a `StatementRunner` runs them, the statements of many queries together (one pipeline per
/// round), which is how a worker answers every request that arrived at once with one round trip to
/// PostgreSQL instead of one each (docs/PERFORMANCE.md).
///
/// What follows a statement only reads its rows and builds on them: it never runs anything itself, so it can
/// be called while other statements are still on their way.
public struct Query<Value> {
    @usableFromInline
    enum Step {
        case finished(Result<Value, StoreError>)
        /// `resume` is called with the statement's rows, or with why it failed.
        case statement(PreparedStatement, [String?], resume: (Result<Rows, StoreError>) -> Query<Value>)
    }

    @usableFromInline
    let step: Step

    @usableFromInline
    init(_ step: Step) {
        self.step = step
    }

    @inlinable
    public init(value: Value) {
        step = .finished(.success(value))
    }

    @inlinable
    public init(failure: StoreError) {
        step = .finished(.failure(failure))
    }

    /// The value `body` returns, or its error.
    @inlinable
    public init(_ body: () throws(StoreError) -> Value) {
        do {
            step = .finished(.success(try body()))
        } catch {
            step = .finished(.failure(error))
        }
    }

    /// Runs `statement`; its rows become the value through `read`.
    @inlinable
    public static func statement(
        _ statement: PreparedStatement, _ parameters: [String?], read: @escaping (Rows) throws(StoreError) -> Value
    ) -> Query {
        Query(.statement(statement, parameters, resume: { outcome in
            switch outcome {
            case .success(let rows): Query { () throws(StoreError) in try read(rows) }
            case .failure(let error): Query(failure: error)
            }
        }))
    }

    @inlinable
    public func map<Next>(_ transform: @escaping (Value) throws(StoreError) -> Next) -> Query<Next> {
        flatMap { value throws(StoreError) in Query<Next> { () throws(StoreError) in try transform(value) } }
    }

    @inlinable
    public func flatMap<Next>(_ next: @escaping (Value) throws(StoreError) -> Query<Next>) -> Query<Next> {
        switch step {
        case .finished(.success(let value)):
            do { return try next(value) } catch { return Query<Next>(failure: error) }
        case .finished(.failure(let error)):
            return Query<Next>(failure: error)
        case .statement(let statement, let parameters, let resume):
            return Query<Next>(.statement(statement, parameters, resume: { resume($0).flatMap(next) }))
        }
    }

    /// A store error anywhere in this query goes to `handler`, which turns it into a value or throws.
    @inlinable
    public func recover(_ handler: @escaping (StoreError) throws(StoreError) -> Value) -> Query {
        switch step {
        case .finished(.failure(let error)):
            return Query { () throws(StoreError) in try handler(error) }
        case .finished:
            return self
        case .statement(let statement, let parameters, let resume):
            return Query(.statement(statement, parameters, resume: { resume($0).recover(handler) }))
        }
    }

    /// The next statement to run, if this query waits for one.
    @inlinable
    var pendingStatement: (PreparedStatement, [String?])? {
        if case .statement(let statement, let parameters, _) = step { return (statement, parameters) }
        return nil
    }

    /// What follows from the outcome of the statement this query waits for.
    @inlinable
    func resumed(with outcome: Result<Rows, StoreError>) -> Query {
        guard case .statement(_, _, let resume) = step else { preconditionFailure("no statement to resume") }
        return resume(outcome)
    }

    /// The value or failure of a query that has run to its end.
    @inlinable
    var result: Result<Value, StoreError> {
        guard case .finished(let result) = step else { preconditionFailure("a query left unfinished") }
        return result
    }
}
