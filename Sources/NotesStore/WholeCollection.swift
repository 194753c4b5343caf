/// Every row of an entity from `skip` on, in id order, in one statement (one snapshot) whose rows are handed on
/// as they arrive: the lists of the FastAPI blog example, which have no page size. Each row carries the number of
/// all rows as an extra last column, as a page's do. A class: a reply carries it by reference, so every reply
/// does not grow to the size of a table's statements.
public final class WholeCollection: Sendable {
    public let table: EntityTable
    let statement: PreparedStatement

    init(_ table: EntityTable, registry: inout StatementRegistry) {
        self.table = table
        let entity = table.entity
        statement = registry.declare(
            "\(entity.singular)_all", pageSQL(table: entity.table, formattedColumns: entity.selectList, limited: false),
            readsOnly: true)
    }

    /// Hands each row to `consume` (a `Rows` of one row) until they end or it returns false.
    public func stream(skip: Int64, on runner: any StatementRunner, _ consume: (Rows) -> Bool) -> StreamEnd {
        runner.stream(statement, [String(skip)], consume)
    }
}
