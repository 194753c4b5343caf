/// One page of rows and how many rows match in all, for `X-Total-Count`. A page statement returns the total
/// as an extra last column, which readers of the entity's columns never reach.
public struct Page: Sendable, Equatable {
    public let rows: Rows
    public let total: Int64
    /// Whether rows follow this page's last one: a skip page knows it from the total, a cursor page from the one
    /// row it asks for beyond the page.
    public let hasNext: Bool

    public init(rows: Rows, total: Int64, hasNext: Bool = false) {
        self.rows = rows
        self.total = total
        self.hasNext = hasNext
    }
}

/// What a create does when a client request comes again (`REQUEST_ID`): with a request id that a row has
/// already, the insert inserts nothing and returns no row.
let onceSQL = "ON CONFLICT (request_id) DO NOTHING"

/// The row by id `$1`, a bigint whatever the column's type: an adopted tutorial's id stays integer
/// (Adoptions/fastapi_notes_tutorial.sql), and an id beyond it must find no row rather than fail out of range.
let byIdSQL = "id = \(Column.id.parameter(1))"

/// The row has one of the versions in parameter `$number` (a bigint array, `If-Match`), or the parameter is NULL
/// (no condition, or `If-Match: *`). In the write's own WHERE: a row that a concurrent write changed first is
/// read again after that write commits (READ COMMITTED's recheck), so of two writes holding one version only
/// the first matches.
func versionMatchSQL(_ number: Int) -> String {
    "($\(number)::bigint[] IS NULL OR version = ANY($\(number)::bigint[]))"
}

/// The versions a write requires, as the bigint array parameter of `versionMatchSQL`; nil requires none.
func versionsParameter(_ versions: [Int64]?) -> String? {
    versions.map { "{" + $0.map(String.init).joined(separator: ",") + "}" }
}

/// How a conditional write went (`If-Match`, RFC 9110 §13.1.1).
public enum Conditional<Value> {
    case applied(Value)
    /// No row has the id.
    case missing
    /// The row exists, with none of the versions required: it changed since the client read it.
    case changed
}

/// The statements every entity has, made from its description: create (once per client request), read by
/// id, a page with its total, the total alone, delete, each declared in the registry.
public final class EntityTable: Sendable {
    public let entity: Entity
    let insert: PreparedStatement
    let selectCreated: PreparedStatement
    let select: PreparedStatement
    let pages: OrderedStatements
    /// The pages after a cursor's row (`cursorPageSQL`), without and with a search.
    let cursorPages: OrderedStatements
    let searchCursorPages: OrderedStatements?
    let count: PreparedStatement
    /// The pages and count of a search (`$3`; the count's `$1`), when the entity has a search document.
    let searchPages: OrderedStatements?
    let searchCount: PreparedStatement?
    let delete: PreparedStatement

    /// - Parameters:
    ///   - total: a scalar query for the number of rows, when something cheaper than counting them keeps it
    ///     (notes: migration 0003).
    ///   - delete: a statement deleting row `$1` if it has a version of `$2` (`versionMatchSQL(2)`) and returning
    ///     its id, when deleting a row deletes more (authors).
    public init(_ entity: Entity, total: String? = nil, delete deleteSQL: String? = nil, registry: inout StatementRegistry) {
        self.entity = entity
        let name = entity.singular, table = entity.table, columns = entity.selectList
        let writable = entity.writableColumns
        let placeholders = (1...writable.count + 1).map { "$\($0)" }.joined(separator: ", ")
        insert = registry.declare(
            "\(name)_insert",
            """
                INSERT INTO \(table) (\(writable.map(\.name).joined(separator: ", ")), request_id) VALUES (\(placeholders)) \
                \(onceSQL) RETURNING \(columns)
                """)
        selectCreated = registry.declare(
            "\(name)_select_created", "SELECT \(columns) FROM \(table) WHERE request_id = $1", readsOnly: true)
        select = registry.declare("\(name)_select", "SELECT \(columns) FROM \(table) WHERE \(byIdSQL)", readsOnly: true)
        let total = total ?? countSQL(table: table)
        pages = OrderedStatements(entity, name: "\(name)_page", registry: &registry) { order in
            pageSQL(table: table, formattedColumns: columns, total: total, order: order)
        }
        cursorPages = OrderedStatements(cursorPagesOf: entity, name: "\(name)_page", total: total, registry: &registry)
        count = registry.declare("\(name)_count", total, readsOnly: true)
        if let document = entity.searchDocument {
            searchPages = OrderedStatements(entity, name: "\(name)_page_search", registry: &registry) { order in
                pageSQL(
                    table: table, formattedColumns: columns, filter: searchSQL(document: document, parameter: 3), order: order,
                    searched: true)
            }
            searchCursorPages = OrderedStatements(
                cursorPagesOf: entity, name: "\(name)_page_search", filter: searchSQL(document: document, parameter: 3), filterParameters: 1,
                searched: true, registry: &registry)
            searchCount = registry.declare(
                "\(name)_count_search", countSQL(table: table, filter: searchSQL(document: document, parameter: 1)), readsOnly: true)
        } else {
            searchPages = nil
            searchCursorPages = nil
            searchCount = nil
        }
        delete = registry.declare(
            "\(name)_delete", deleteSQL ?? "DELETE FROM \(table) WHERE \(byIdSQL) AND \(versionMatchSQL(2)) RETURNING id")
    }

    /// Inserts a row with `values` for the writable columns, in their order, and returns it.
    ///
    /// nginx sends a create again when the worker it went to died before answering (docs/DATABASE.md): the
    /// second attempt carries the same `requestID` (nginx's `$request_id`). When the first attempt committed,
    /// the insert finds its row and makes none; the row is then read by `selectCreated` (a separate statement:
    /// the insert's own snapshot, taken before it waited for the first attempt's commit, cannot see that row).
    /// When the first attempt did not commit, the second one inserts. Without a request id every call inserts.
    public func create(_ values: [FieldValue], requestID: String?) -> Query<Rows> {
        precondition(values.count == entity.writableColumns.count, "one value per writable column of \(entity.table)")
        return Query.statement(insert, values.map { $0.sqlParameter } + [requestID]) { $0 }.flatMap { [insert, selectCreated] inserted throws(StoreError) in
            if inserted.rowCount > 0 { return Query(value: inserted) }
            // Without a request id, ON CONFLICT has nothing to conflict on: the insert always returns its row.
            guard let requestID else { preconditionFailure("\(insert.name) returned no row without a request id") }
            return Query.statement(selectCreated, [requestID]) { rows throws(StoreError) in
                guard rows.rowCount > 0 else { throw .createdRowGone(statement: selectCreated.name) }
                return rows
            }
        }
    }

    /// The row with this id: one row, or none.
    public func find(id: Int64) -> Query<Rows> {
        Query.statement(select, [String(id)]) { $0 }
    }

    /// Rows in `order` (a value of `Entity.orders`), skipping `skip`, at most `take`; only those matching the
    /// words of `search` when it is given (an entity with a search document).
    public func page(skip: Int64, take: Int64, order: String = "id", search: String? = nil) -> Query<Page> {
        guard let search else { return pageQuery(pages[order, of: entity], [String(skip), String(take)], skip: skip, count: count, []) }
        guard let searchPages, let searchCount else { preconditionFailure("\(entity.table) has no search") }
        return pageQuery(searchPages[order, of: entity], [String(skip), String(take), search], skip: skip, count: searchCount, [search])
    }

    /// At most `take` rows in `order` after the row of `key`; only those matching the words of `search` when it is
    /// given. Costs the same at any depth: the order's index is entered at the key.
    public func page(after key: PageKey, take: Int64, order: String = "id", search: String? = nil) -> Query<Page> {
        guard let search else { return cursorPageQuery(cursorPages[order, of: entity], key, take: take, order: order, [], count: count, []) }
        guard let searchCursorPages, let searchCount else { preconditionFailure("\(entity.table) has no search") }
        return cursorPageQuery(searchCursorPages[order, of: entity], key, take: take, order: order, [search], count: searchCount, [search])
    }

    /// The number of all rows, or of those matching the words of `search`.
    public func total(search: String? = nil) -> Query<Int64> {
        guard let search else { return Query.statement(count, []) { $0.int64(row: 0, column: 0) } }
        guard let searchCount else { preconditionFailure("\(entity.table) has no search") }
        return Query.statement(searchCount, [search]) { $0.int64(row: 0, column: 0) }
    }

    /// Deletes the row if it has one of `versions` (any version when nil).
    public func delete(id: Int64, versions: [Int64]?) -> Query<Conditional<Void>> {
        conditional(Query.statement(delete, [String(id), versionsParameter(versions)]) { $0 }, id: id, versions: versions)
            .map { outcome in
                switch outcome {
                case .applied: .applied(())
                case .missing: .missing
                case .changed: .changed
                }
            }
    }

    /// The outcome of a write of row `id` that required `versions` and returns the rows it wrote: when it
    /// wrote none, one more statement (only then) tells a missing row from a changed one. A row deleted in
    /// between is missing, as it would be to a write that came a moment later.
    func conditional(_ write: Query<Rows>, id: Int64, versions: [Int64]?) -> Query<Conditional<Rows>> {
        write.flatMap { [select] rows in
            if rows.rowCount > 0 { return Query(value: .applied(rows)) }
            guard versions != nil else { return Query(value: .missing) }
            return Query.statement(select, [String(id)]) { $0.rowCount > 0 ? .changed : .missing }
        }
    }
}

/// A page statement built by `pageSQL`, whose last column is the total, so one round trip gives the rows and
/// the total. A page past the end has no row to carry the total: only then does `count` run.
func pageQuery(
    _ statement: PreparedStatement, _ parameters: [String?], skip: Int64, count: PreparedStatement, _ countParameters: [String?]
) -> Query<Page> {
    Query.statement(statement, parameters) { $0 }.flatMap { rows in
        if rows.rowCount > 0 {
            let total = rows.int64(row: 0, column: rows.columnCount - 1)
            return Query(value: Page(rows: rows, total: total, hasNext: skip + Int64(rows.rowCount) < total))
        }
        if skip == 0 { return Query(value: Page(rows: rows, total: 0)) }
        return Query.statement(count, countParameters) { Page(rows: .none, total: $0.int64(row: 0, column: 0)) }
    }
}

/// A page statement built by `cursorPageSQL`, asked for `take` + 1 rows: the one beyond the page, which is not
/// kept, tells that a next page exists (its position is unknown, so the total cannot). With no row, `count` runs.
func cursorPageQuery(
    _ statement: PreparedStatement, _ key: PageKey, take: Int64, order: String, _ filterParameters: [String?],
    count: PreparedStatement, _ countParameters: [String?]
) -> Query<Page> {
    Query.statement(statement, key.parameters(order: order, limit: take + 1, filter: filterParameters)) { $0 }.flatMap { rows in
        guard rows.rowCount > 0 else {
            return Query.statement(count, countParameters) { Page(rows: .none, total: $0.int64(row: 0, column: 0)) }
        }
        let total = rows.int64(row: 0, column: rows.columnCount - 1)
        guard rows.rowCount > take else { return Query(value: Page(rows: rows, total: total)) }
        return Query(value: Page(rows: rows.prefix(rows: Int(take)), total: total, hasNext: true))
    }
}
