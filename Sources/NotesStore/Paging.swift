/// A page of `table` in `order` (a value of `Entity.orders`), `$1` rows skipped and at most `$2` returned, with
/// `total` (a scalar query; by default the count of all rows matching `filter`) as the last column.
///
/// The skipped rows are counted off in an index alone (an index-only scan of the order's key: no row is read,
/// nothing is formatted), and the page is the `$2` rows from the key found there. OFFSET on the rows themselves
/// read every skipped row (and, with the select list beside it, formatted each: eight times slower at offset
/// 10,000); docs/PERFORMANCE.md. Both scans are one statement, so they see one snapshot; past the end the
/// subquery is NULL and the page empty. An order other than id is the key (column, id), compared as a row, so
/// rows that tie on the column keep their id order and paging stays stable.
///
/// Without `limited`, every row from the skipped ones on (and no `$2`): a whole collection. With `searched` (a
/// filter that holds a search), the statement pages and counts the search's matches (`matchesSQL`).
func pageSQL(
    table: String, formattedColumns: String, filter: String = "true", total: String? = nil, limited: Bool = true,
    order: String = "id", searched: Bool = false
) -> String {
    if searched {
        return matchesSQL(table: table, filter: filter) + pageSQL(
            table: "matches", formattedColumns: formattedColumns, total: "SELECT count(*) FROM matches", limited: limited, order: order)
    }
    let key = ListOrder(order)
    return """
        SELECT \(formattedColumns), (\(total ?? countSQL(table: table, filter: filter)))
        FROM \(table)
        WHERE \(filter) AND \(key.row) \(key.comparison) (SELECT \(key.columns) FROM \(table) WHERE \(filter) ORDER BY \(key.orderBy) OFFSET $1 LIMIT 1)
        ORDER BY \(key.orderBy)\(limited ? " LIMIT $2" : "")
        """
}

/// A page of `table` in `order` that starts after a row given by its key (a cursor): the order column's value
/// `$1`, as `type` casts it (for order by id, `$1` is the id), and, for any other order, the id `$idParameter`,
/// the parameter after the filter's; at most `$2` rows, with `total` as the last column, as `pageSQL`'s.
///
/// The key is compared as a row, (column, id), in the direction of the order, which is the condition the order's
/// own index starts its scan at: no row before the page is read or counted, whatever the depth (EXPLAIN:
/// Index Cond on the row; docs/DATABASE.md). A row that was deleted since keeps its place in the order by its
/// values, so the page after it is still the right one.
func cursorPageSQL(
    table: String, formattedColumns: String, filter: String = "true", total: String? = nil, order: String, type: Column,
    idParameter: Int, searched: Bool = false
) -> String {
    if searched {
        return matchesSQL(table: table, filter: filter) + cursorPageSQL(
            table: "matches", formattedColumns: formattedColumns, total: "SELECT count(*) FROM matches", order: order,
            type: type, idParameter: idParameter)
    }
    let key = ListOrder(order)
    let after = key.column == "id" ? type.parameter(1) : "(\(type.parameter(1)), \(Column.id.parameter(idParameter)))"
    return """
        SELECT \(formattedColumns), (\(total ?? countSQL(table: table, filter: filter)))
        FROM \(table)
        WHERE \(filter) AND \(key.row) \(key.descending ? "<" : ">") \(after)
        ORDER BY \(key.orderBy) LIMIT $2
        """
}

/// The rows of `table` that match `filter` (a search), read once and kept as `matches` for the statement that
/// follows, which pages and counts them.
///
/// A search's rows are found through its index (a bitmap scan of the GIN index, the words rechecked on each
/// match), however many rows the table has. As one statement with the order's walk, the generic plan walked the
/// order's index instead and tested the search on every row it passed until it had a page: a tag that 100 of a
/// million notes have cost 39 ms of CPU a page, a word of 0.1% of them 167 ms (docs/PERFORMANCE.md, the scale table).
/// MATERIALIZED keeps PostgreSQL from folding the set back into that walk.
func matchesSQL(table: String, filter: String) -> String {
    "WITH matches AS MATERIALIZED (SELECT * FROM \(table) WHERE \(filter))\n"
}

/// Where a cursor page starts: after the row with `value` in the order's column (for order by id, the id as
/// text) and `id`. Values, not a reference to the row: the row may be gone by the time the next page is asked for.
public struct PageKey: Sendable, Equatable {
    public let value: String
    public let id: Int64

    public init(value: String, id: Int64) {
        self.value = value
        self.id = id
    }

    /// The key of row `row` of `rows` (an entity's columns, in order) in `order`.
    public init(row: Int, of rows: Rows, as entity: Entity, order: String) {
        let column = ListOrder(order).column
        let idColumn = entity.columns.firstIndex(of: .id)!
        let keyColumn = entity.columns.firstIndex { $0.name == column }!
        self.init(value: rows.string(row: row, column: keyColumn), id: rows.int64(row: row, column: idColumn))
    }

    /// The statement's parameters: `$1` the key, `$2` the rows asked for, the filter's, and the id after them
    /// (`cursorPageSQL`).
    func parameters(order: String, limit: Int64, filter: [String?]) -> [String?] {
        [value, String(limit)] + filter + (ListOrder(order).column == "id" ? [] : [String(id)])
    }
}

/// A value of `order` (`created_at`, `-created_at`) as the pieces of a page statement.
struct ListOrder {
    let column: String
    let descending: Bool

    init(_ value: String) {
        descending = value.hasPrefix("-")
        column = descending ? String(value.dropFirst()) : value
    }

    var columns: String { column == "id" ? "id" : "\(column), id" }
    var row: String { column == "id" ? "id" : "(\(column), id)" }
    var comparison: String { descending ? "<=" : ">=" }
    var orderBy: String {
        let direction = descending ? " DESC" : ""
        return column == "id" ? "id\(direction)" : "\(column)\(direction), id\(direction)"
    }
    /// What the statements of this order add to their names: nothing for ascending id (the names they had
    /// before lists had orders), `_by_created_at_desc` ...
    var nameSuffix: String { column == "id" && !descending ? "" : "_by_\(column)\(descending ? "_desc" : "")" }
}

/// The lists of one filter (none, `completed`, a search ...), one statement per order of the entity.
///
/// Every order is its own prepared statement, so each keeps a plan that reads its own index; they are made
/// from the entity's `orders` here, so an order added to an entity brings its statements along.
struct OrderedStatements: Sendable {
    /// In the order of `Entity.orders`.
    let statements: [PreparedStatement]

    /// - Parameters:
    ///   - name: the statements' name for ascending id (`note_page_completed`); other orders add their suffix.
    ///   - sql: the statement's text for an order.
    init(_ entity: Entity, name: String, registry: inout StatementRegistry, sql: (String) -> String) {
        statements = entity.orders.map { order in
            registry.declare(name + ListOrder(order).nameSuffix, sql(order), readsOnly: true)
        }
    }

    /// The cursor pages of one filter (`cursorPageSQL`), whose parameters `filterParameters` are `$3` on; the
    /// statements are named `name` + `_after` and the order's suffix (`note_page_completed_after_by_text_desc`).
    init(
        cursorPagesOf entity: Entity, name: String, filter: String = "true", filterParameters: Int = 0, total: String? = nil,
        searched: Bool = false, registry: inout StatementRegistry
    ) {
        self.init(entity, name: name + "_after", registry: &registry) { order in
            cursorPageSQL(
                table: entity.table, formattedColumns: entity.selectList, filter: filter, total: total, order: order,
                type: entity.column(ListOrder(order).column)!, idParameter: 3 + filterParameters, searched: searched)
        }
    }

    /// The statement for `order`, a value of the entity's `orders`.
    subscript(_ order: String, of entity: Entity) -> PreparedStatement {
        guard let index = entity.orders.firstIndex(of: order) else { preconditionFailure("\(entity.table) has no order \(order)") }
        return statements[index]
    }
}

/// The condition of a search over `document` (`Entity.searchDocument`) for the words of parameter `$parameter`,
/// in PostgreSQL's web search syntax; the expression is the search index's own (migration 0007).
func searchSQL(document: String, parameter: Int) -> String {
    "text_search_document(\(document)) @@ text_search_query($\(parameter)::text)"
}

/// The number of rows of `table` that match `filter`, read row by row.
func countSQL(table: String, filter: String = "true") -> String {
    "SELECT count(*) FROM \(table) WHERE \(filter)"
}

/// `column` as RFC 3339 in UTC with microseconds, formatted by the server.
func rfc3339(_ column: String) -> String {
    #"to_char(\#(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
}

/// SQL text for an optional boolean parameter.
func sqlBool(_ value: Bool?) -> String? {
    value.map { $0 ? "t" : "f" }
}
