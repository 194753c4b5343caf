/// Every row of an entity from `skip` on, in id order, in one statement (one snapshot) whose rows are handed on
/// as they arrive: the lists of the FastAPI blog example, which have no page size. Each row carries the number of
/// all rows as an extra last column, as a page's do. A class: a reply carries it by reference, so every reply
/// does not grow to the size of a table's statements.
public final class WholeCollection: Sendable {
    public let table: EntityTable
    let statements: OrderedStatements
    /// The rows matching a search (`$2`), when the entity has a search document.
    let searchStatements: OrderedStatements?

    init(_ table: EntityTable, registry: inout StatementRegistry) {
        self.table = table
        let entity = table.entity
        statements = OrderedStatements(entity, name: "\(entity.singular)_all", registry: &registry) { order in
            pageSQL(table: entity.table, formattedColumns: entity.selectList, limited: false, order: order)
        }
        searchStatements = entity.searchDocument.map { document in
            OrderedStatements(entity, name: "\(entity.singular)_all_search", registry: &registry) { order in
                pageSQL(
                    table: entity.table, formattedColumns: entity.selectList, filter: searchSQL(document: document, parameter: 2),
                    limited: false, order: order, searched: true)
            }
        }
    }

    /// Hands each row (in `order`, only those matching `search` when given) to `consume` (a `Rows` of one row)
    /// until they end or it returns false.
    public func stream(
        skip: Int64, order: String = "id", search: String? = nil, on runner: any StatementRunner, _ consume: (Rows) -> Bool
    ) -> StreamEnd {
        let entity = table.entity
        guard let search else { return runner.stream(statements[order, of: entity], [String(skip)], consume) }
        guard let searchStatements else { preconditionFailure("\(entity.table) has no search") }
        return runner.stream(searchStatements[order, of: entity], [String(skip), search], consume)
    }
}
