import NotesStore

/// A `StatementRunner` without a database, for in-process tests of the application: each statement is
/// answered by the script given for its name, and every round is recorded.
public final class FakeStatementRunner: StatementRunner {
    /// What a statement gets: its rows, a failure, or a fate of the round's rules (retry, not run).
    public typealias Script = (_ parameters: [String?], _ attempt: Int) -> StatementFate

    public var statementsPerRound: Int
    /// The statements of each round, as `name(parameters)`.
    public private(set) var rounds: [[String]] = []
    public var pingFailure: StoreError?
    public var timedOut = false
    private var scripts: [String: Script] = [:]
    private var attempts: [String: Int] = [:]

    public init(statementsPerRound: Int = .max) {
        self.statementsPerRound = statementsPerRound
    }

    /// Answers every run of `statement` with `script`.
    public func on(_ statement: String, _ script: @escaping Script) {
        scripts[statement] = script
    }

    /// Answers every run of `statement` with these rows.
    public func on(_ statement: String, rows: Rows) {
        on(statement) { _, _ in .finished(.success(rows)) }
    }

    /// Fails every run of `statement` with `error`.
    public func on(_ statement: String, failure error: StoreError) {
        on(statement) { _, _ in .finished(.failure(error)) }
    }

    /// Every statement run, in order, as `name(parameters)`.
    public var statements: [String] { rounds.flatMap { $0 } }

    public func runRound(_ round: [PendingStatement]) -> [StatementFate] {
        rounds.append(round.map { Self.describe($0) })
        return round.map { pending in
            let name = pending.statement.name
            let attempt = attempts[name, default: 0]
            attempts[name] = attempt + 1
            guard let script = scripts[name] else {
                return .finished(.failure(.statementFailed(statement: name, sqlState: nil, message: "no script for \(name)")))
            }
            return script(pending.parameters, attempt)
        }
    }

    public func ping() throws(StoreError) {
        if let pingFailure { throw pingFailure }
    }

    public func takeStatementTimeout() -> Bool {
        defer { timedOut = false }
        return timedOut
    }

    /// A streamed statement's connection breaks after this many of its rows.
    public var streamBreaksAfterRows: Int?

    /// The script's rows, one at a time; recorded as a round of its own.
    public func stream(_ statement: PreparedStatement, _ parameters: [String?], _ consume: (Rows) -> Bool) -> StreamEnd {
        let pending = PendingStatement(statement, parameters, retried: false)
        guard case .finished(let outcome) = runRound([pending])[0] else { preconditionFailure("a streamed statement is not retried by rounds") }
        rounds[rounds.count - 1] = ["stream " + Self.describe(pending)]
        switch outcome {
        case .failure(let error):
            return .failed(error)
        case .success(let rows):
            for row in 0..<rows.rowCount {
                if row == streamBreaksAfterRows { return .failed(.unavailable("connection lost")) }
                let values = (0..<rows.columnCount).map { column in
                    rows.isNull(row: row, column: column) ? nil : rows.string(row: row, column: column)
                }
                if !consume(Rows(columnCount: rows.columnCount, values: [values])) { return .stopped }
            }
            return .finished
        }
    }

    static func describe(_ pending: PendingStatement) -> String {
        "\(pending.statement.name)(\(pending.parameters.map { $0 ?? "NULL" }.joined(separator: ", ")))"
    }
}

extension Rows {
    /// Rows of `entity`, each given as its columns' text in order (nil for NULL) and its version, as the
    /// entity's statements return them.
    public static func of(_ entity: Entity, _ values: [[String?]]) -> Rows {
        Rows(columnCount: entity.versionColumn + 1, values: values)
    }
}
