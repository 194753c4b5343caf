extension Entity {
    /// A note of the FastAPI notes tutorial, with the times it was created and last changed.
    public static let note = Entity(
        table: "notes", singular: "note", columns: [.id, .text("text"), .boolean("completed"), .createdAt, .updatedAt],
        orderedBy: ["created_at", "updated_at", "text"], searchDocument: "text")
}

/// The notes table, through prepared statements only. Every write returns the row it wrote, so one round
/// trip answers a request, and an id that matches nothing comes back as no row.
public final class NoteStore: Sendable {
    // Totals come from note_totals, which triggers keep in step with the notes (migration 0003): counting
    // the rows was half the time of a list at 10,000 notes (docs/PERFORMANCE.md).
    private static let total = "SELECT coalesce(sum(notes), 0)::bigint FROM note_totals"
    /// The notes whose completed equals the parameter `completed`.
    private static func filteredTotal(completed: String) -> String {
        """
        SELECT coalesce(sum(CASE WHEN \(completed)::boolean THEN completed ELSE notes - completed END), 0)::bigint
        FROM note_totals
        """
    }

    public let table: EntityTable
    // The filtered and unfiltered lists are separate statements: with one statement and
    // `$3 IS NULL OR completed = $3`, PostgreSQL's generic plan (chosen after five runs) tests that on every
    // row and cannot use the (completed, id) index (docs/PERFORMANCE.md).
    let filteredPages: OrderedStatements
    let filteredCount: PreparedStatement
    let filteredCursorPages: OrderedStatements
    // A search with the completed filter (`$3` completed, `$4` the words); without it, `table`'s search.
    let filteredSearchPages: OrderedStatements
    let filteredSearchCount: PreparedStatement
    let filteredSearchCursorPages: OrderedStatements
    let update: PreparedStatement
    let patch: PreparedStatement

    public init(registry: inout StatementRegistry) {
        table = EntityTable(.note, total: Self.total, registry: &registry)
        filteredPages = OrderedStatements(.note, name: "note_page_completed", registry: &registry) { order in
            pageSQL(
                table: "notes", formattedColumns: Entity.note.selectList, filter: "completed = $3",
                total: Self.filteredTotal(completed: "$3"), order: order)
        }
        filteredCount = registry.declare("note_count_completed", Self.filteredTotal(completed: "$1"), readsOnly: true)
        filteredCursorPages = OrderedStatements(
            cursorPagesOf: .note, name: "note_page_completed", filter: "completed = $3", filterParameters: 1,
            total: Self.filteredTotal(completed: "$3"), registry: &registry)
        let search = { (parameter: Int) in searchSQL(document: Entity.note.searchDocument!, parameter: parameter) }
        filteredSearchPages = OrderedStatements(.note, name: "note_page_completed_search", registry: &registry) { order in
            pageSQL(
                table: "notes", formattedColumns: Entity.note.selectList, filter: "completed = $3 AND \(search(4))", order: order,
                searched: true)
        }
        filteredSearchCount = registry.declare(
            "note_count_completed_search", countSQL(table: "notes", filter: "completed = $1 AND \(search(2))"), readsOnly: true)
        filteredSearchCursorPages = OrderedStatements(
            cursorPagesOf: .note, name: "note_page_completed_search", filter: "completed = $3 AND \(search(4))", filterParameters: 2,
            searched: true, registry: &registry)
        update = registry.declare("note_update", replaceSQL(Entity.note))
        patch = registry.declare("note_patch", patchSQL(Entity.note))
    }

    /// Notes in `order` (a value of `Entity.note.orders`), skipping `skip`, at most `take`, only those with
    /// `completed` when it is given and those matching the words of `search` when it is given.
    public func notes(skip: Int64, take: Int64, completed: Bool?, search: String? = nil, order: String = "id") -> Query<Page> {
        guard let completed else { return table.page(skip: skip, take: take, order: order, search: search) }
        let flag = FieldValue.boolean(completed).sqlParameter
        guard let search else {
            return pageQuery(filteredPages[order, of: .note], [String(skip), String(take), flag], skip: skip, count: filteredCount, [flag])
        }
        return pageQuery(
            filteredSearchPages[order, of: .note], [String(skip), String(take), flag, search], skip: skip, count: filteredSearchCount,
            [flag, search])
    }

    /// At most `take` notes in `order` after the note of `key`, with the same filters as `notes(skip:...)`.
    public func notes(after key: PageKey, take: Int64, completed: Bool?, search: String? = nil, order: String = "id") -> Query<Page> {
        guard let completed else { return table.page(after: key, take: take, order: order, search: search) }
        let flag = FieldValue.boolean(completed).sqlParameter
        guard let search else {
            return cursorPageQuery(filteredCursorPages[order, of: .note], key, take: take, order: order, [flag], count: filteredCount, [flag])
        }
        return cursorPageQuery(
            filteredSearchCursorPages[order, of: .note], key, take: take, order: order, [flag, search], count: filteredSearchCount,
            [flag, search])
    }

    /// Sets every writable field (`values` in their order), if the note has one of `versions` (any when nil).
    public func update(id: Int64, _ values: [FieldValue], versions: [Int64]?) -> Query<Conditional<Rows>> {
        table.conditional(
            Query.statement(update, [String(id)] + values.map { $0.sqlParameter } + [versionsParameter(versions)]) { $0 },
            id: id, versions: versions)
    }

    /// Sets the fields given (`.absent` keeps one), if the note has one of `versions`; with none, returns the
    /// note unchanged, its version included.
    public func patch(id: Int64, _ values: [FieldValue], versions: [Int64]?) -> Query<Conditional<Rows>> {
        table.conditional(
            Query.statement(patch, [String(id)] + values.map { $0.sqlParameter } + [versionsParameter(versions)]) { $0 },
            id: id, versions: versions)
    }
}

/// Every writable column of `entity` set from `$2`, `$3`..., `updated_at` to now and the version one up; the
/// row by id `$1`, if it has a version the parameter after the columns' requires.
func replaceSQL(_ entity: Entity) -> String {
    let sets = entity.writableColumns.enumerated().map { "\($1.name) = \($1.parameter($0 + 2))" }
    return """
        UPDATE \(entity.table) SET \(sets.joined(separator: ", ")), updated_at = now(), version = version + 1 \
        WHERE \(byIdSQL) AND \(versionMatchSQL(entity.writableColumns.count + 2)) RETURNING \(entity.selectList)
        """
}

/// As `replaceSQL`, but a NULL parameter leaves its column as it is; when all are NULL nothing changes,
/// updated_at and the version included (the representation, and so its entity tag, stay the same).
func patchSQL(_ entity: Entity) -> String {
    let columns = entity.writableColumns.enumerated().map { (column: $1, parameter: $1.parameter($0 + 2)) }
    let sets = columns.map { "\($0.column.name) = coalesce(\($0.parameter), \($0.column.name))" }
    let unchanged = columns.map { "\($0.parameter) IS NULL" }.joined(separator: " AND ")
    return """
        UPDATE \(entity.table) SET \(sets.joined(separator: ", ")),
            updated_at = CASE WHEN \(unchanged) THEN updated_at ELSE now() END,
            version = CASE WHEN \(unchanged) THEN version ELSE version + 1 END
        WHERE \(byIdSQL) AND \(versionMatchSQL(columns.count + 2)) RETURNING \(entity.selectList)
        """
}
