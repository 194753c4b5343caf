/// Where the stores declare their prepared statements: `declare` is the only way to make one, so every
/// statement a store can run is in `statements`, which each connection prepares.
public struct StatementRegistry: Sendable {
    public private(set) var statements: [PreparedStatement] = []

    public init() {}

    mutating func declare(_ name: String, _ sql: String, readsOnly: Bool = false) -> PreparedStatement {
        precondition(!statements.contains { $0.name == name }, "statement \(name) declared twice")
        let statement = PreparedStatement(name: name, sql: sql, readsOnly: readsOnly)
        statements.append(statement)
        return statement
    }
}
