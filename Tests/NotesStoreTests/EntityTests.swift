import Testing
@testable import NotesStore

/// Statements made from entity descriptions, and the registry that lists them all.
@Suite struct EntityTests {
    @Test func theStoresDeclareEveryStatementOnce() {
        let names = Stores().statements.map(\.name)
        #expect(Set(names).count == names.count, "a statement name used twice")
        for table in ["note", "author", "article"] {
            for kind in ["insert", "select_created", "select", "page", "count", "delete"] {
                #expect(names.contains("\(table)_\(kind)"), "\(table)_\(kind) is not prepared")
            }
        }
        for extra in ["note_page_completed", "note_count_completed", "note_update", "note_patch", "author_all", "article_all"] {
            #expect(names.contains(extra), "\(extra) is not prepared")
        }
        // Every list once per order: notes 4 filters × 8 orders, authors 2 × 10, articles 4 × 6.
        for name in ["note_page_by_created_at", "note_page_completed_by_text_desc", "note_page_search_by_id_desc",
                     "note_page_completed_search_by_updated_at", "note_count_search", "note_count_completed_search",
                     "author_page_by_last_name_desc", "author_all_by_first_name", "article_page_search_by_title",
                     "article_all_search_by_author_id_desc", "article_count_search"] {
            #expect(names.contains(name), "\(name) is not prepared")
        }
        // And every list with `take` once per order after a cursor's row: notes 4 × 8, authors 10, articles 2 × 6.
        for name in ["note_page_after", "note_page_completed_after_by_created_at_desc", "note_page_search_after_by_text",
                     "note_page_completed_search_after_by_updated_at", "author_page_after_by_first_name_desc",
                     "article_page_after_by_title", "article_page_search_after_by_author_id_desc"] {
            #expect(names.contains(name), "\(name) is not prepared")
        }
        #expect(names.count == 18 + 32 + 20 + 24 + 3 + 32 + 10 + 12)
        let authorDelete = Stores().statements.first { $0.name == "author_delete" }
        #expect(authorDelete?.sql.contains("DELETE FROM articles WHERE author_id = $1") == true, "an author's articles go with the author")
    }

    @Test func theRegistryListsStatementsInTheOrderTheyWereDeclared() {
        var registry = StatementRegistry()
        let a = registry.declare("a", "SELECT 1", readsOnly: true)
        let b = registry.declare("b", "UPDATE t SET x = 1")
        #expect(registry.statements == [a, b])
        #expect(a.readsOnly && !b.readsOnly)
    }

    @Test func everyStatementOfAStoreIsInTheRegistryItWasMadeWith() {
        var registry = StatementRegistry()
        let store = NoteStore(registry: &registry)
        let made = [store.table.insert, store.table.select, store.table.pages.statements[0], store.filteredPages.statements[7], store.update, store.patch]
        #expect(made.allSatisfy(registry.statements.contains))
    }

    @Test func insertWritesTheWritableColumnsAndTheRequestIDOnce() {
        var registry = StatementRegistry()
        let table = EntityTable(.article, registry: &registry)
        #expect(table.insert.sql == """
            INSERT INTO articles (title, content, author_id, request_id) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (request_id) DO NOTHING RETURNING title, content, author_id, id, version
            """)
        #expect(!table.insert.readsOnly)
    }

    @Test func aPageInIdOrderIsTheStatementItWasBeforeOrders() {
        #expect(pageSQL(table: "t", formattedColumns: "id", total: "0") == """
            SELECT id, (0)
            FROM t
            WHERE true AND id >= (SELECT id FROM t WHERE true ORDER BY id OFFSET $1 LIMIT 1)
            ORDER BY id LIMIT $2
            """)
    }

    @Test func anOrderByAColumnKeysThePageOnTheColumnAndTheIdAsARow() {
        let sql = pageSQL(table: "notes", formattedColumns: "id", filter: "completed = $3", total: "0", order: "-created_at")
        #expect(sql.contains(
            "WHERE completed = $3 AND (created_at, id) <= (SELECT created_at, id FROM notes WHERE completed = $3 ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1)"))
        #expect(sql.hasSuffix("ORDER BY created_at DESC, id DESC LIMIT $2"))
        #expect(pageSQL(table: "t", formattedColumns: "id", order: "-id").contains("id <= (SELECT id FROM t WHERE true ORDER BY id DESC OFFSET"))
    }

    @Test func aSearchUsesTheExpressionOfTheSearchIndex() {
        #expect(searchSQL(document: "title || ' ' || content", parameter: 3)
            == "text_search_document(title || ' ' || content) @@ text_search_query($3::text)")
        #expect(Entity.note.orders == ["id", "-id", "created_at", "-created_at", "updated_at", "-updated_at", "text", "-text"])
    }

    @Test func timestampsAreFormattedByTheServerInUTC() {
        #expect(Entity.note.selectList.contains(#"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#))
        #expect(Entity.note.selectList.hasPrefix("id, text, completed, "))
    }

    @Test func readsAreMarkedAsReadsAndWritesAreNot() {
        var registry = StatementRegistry()
        let table = EntityTable(.author, registry: &registry)
        let reads = [table.select, table.selectCreated, table.pages.statements[3], table.count].filter { $0.readsOnly }
        let writes = [table.insert, table.delete].filter { !$0.readsOnly }
        #expect(reads.count == 4)
        #expect(writes.count == 2)
        let notes = NoteStore(registry: &registry)
        #expect(!notes.update.readsOnly && !notes.patch.readsOnly)
    }

    @Test func replaceSetsEveryWritableColumnTheUpdateTimeAndTheNextVersionIfOneIsRequired() {
        #expect(replaceSQL(.note).hasPrefix("""
            UPDATE notes SET text = $2::text, completed = $3::boolean, updated_at = now(), version = version + 1 \
            WHERE id = $1::bigint AND ($4::bigint[] IS NULL OR version = ANY($4::bigint[])) RETURNING
            """))
        #expect(replaceSQL(.note).hasSuffix(", version"))
    }

    @Test func patchKeepsWhatIsLeftOutAndTheUpdateTimeAndVersionWhenNothingChanges() {
        let sql = patchSQL(.note)
        #expect(sql.contains("text = coalesce($2::text, text), completed = coalesce($3::boolean, completed)"))
        #expect(sql.contains("CASE WHEN $2::text IS NULL AND $3::boolean IS NULL THEN updated_at ELSE now() END"))
        #expect(sql.contains("CASE WHEN $2::text IS NULL AND $3::boolean IS NULL THEN version ELSE version + 1 END"))
        #expect(sql.contains("AND ($4::bigint[] IS NULL OR version = ANY($4::bigint[]))"))
    }

    @Test func theVersionFollowsTheColumnsJSONShows() {
        #expect(Entity.note.selectList.hasSuffix(", version"))
        #expect(Entity.note.versionColumn == Entity.note.columns.count)
        #expect(versionsParameter([3, 12]) == "{3,12}")
        #expect(versionsParameter([]) == "{}")
        #expect(versionsParameter(nil) == nil)
    }

    @Test func writableColumnsAreThoseClientsSend() {
        #expect(Entity.note.writableColumns.map(\.name) == ["text", "completed"])
        #expect(Entity.author.writableColumns.map(\.name) == ["first_name", "last_name"])
        #expect(Entity.article.writableColumns.map(\.name) == ["title", "content", "author_id"])
    }

    @Test func fieldValuesBecomeTextParameters() {
        #expect(FieldValue.text("a").sqlParameter == "a")
        #expect(FieldValue.boolean(true).sqlParameter == "t")
        #expect(FieldValue.boolean(false).sqlParameter == "f")
        #expect(FieldValue.integer(-3).sqlParameter == "-3")
        #expect(FieldValue.absent.sqlParameter == nil)
    }
}

@Suite struct RowsTests {
    let rows = Rows(columnCount: 3, values: [["1", "text", "t"], ["-42", nil, "f"]])

    @Test func readsValuesByRowAndColumn() {
        #expect(rows.rowCount == 2 && rows.columnCount == 3)
        #expect(rows.string(row: 0, column: 1) == "text")
        #expect(Array(rows.bytes(row: 1, column: 0)) == Array("-42".utf8))
    }

    @Test func readsIntegersAndBooleans() {
        #expect(rows.int64(row: 0, column: 0) == 1)
        #expect(rows.int64(row: 1, column: 0) == -42)
        #expect(rows.bool(row: 0, column: 2))
        #expect(!rows.bool(row: 1, column: 2))
    }

    @Test func tellsNullFromEmptyText() {
        let empty = Rows(columnCount: 2, values: [["", nil]])
        #expect(!empty.isNull(row: 0, column: 0))
        #expect(empty.isNull(row: 0, column: 1))
        #expect(empty.string(row: 0, column: 0) == "")
        #expect(rows.isNull(row: 1, column: 1))
    }

    @Test func noneHasNoRows() {
        #expect(Rows.none.rowCount == 0)
    }
}

@Suite struct StoreErrorTests {
    @Test func namedSQLStatesAndTheirClasses() {
        #expect(SQLState.foreignKeyViolation.rawValue == "23503")
        #expect(SQLState.foreignKeyViolation.errorClass == "23")
        #expect(SQLState(rawValue: "08006").isOutage)
        #expect(SQLState.adminShutdown.isOutage && SQLState.crashShutdown.isOutage && SQLState.cannotConnectNow.isOutage)
        #expect(!SQLState.queryCanceled.isOutage && !SQLState.foreignKeyViolation.isOutage)
    }

    @Test func aStatementFailureIsKnownByItsCode() {
        let error = StoreError.statementFailed(statement: "s", sqlState: .foreignKeyViolation, message: "m")
        #expect(error.isStatementFailure(.foreignKeyViolation))
        #expect(!error.isStatementFailure(.queryCanceled))
        #expect(!StoreError.unavailable("x").isStatementFailure(.foreignKeyViolation))
    }

    @Test func eachErrorSaysWhatHappened() {
        #expect(StoreError.createdRowGone(statement: "note_select_created").description.contains("deleted"))
        #expect(StoreError.outOfMemory("opening a database connection").description == "out of memory: opening a database connection")
        #expect(StoreError.statementFailed(statement: "s", sqlState: nil, message: "m").description == "statement s failed (SQLSTATE none): m")
    }
}

/// What a cursor page keeps of the `take` + 1 rows it asked for.
@Suite struct RowsPrefixTests {
    @Test func theFirstRowsKeepTheirValuesAndNulls() {
        let rows = Rows(columnCount: 2, values: [["1", "a"], ["2", nil], ["3", "ccc"]])
        let first = rows.prefix(rows: 2)
        #expect(first == Rows(columnCount: 2, values: [["1", "a"], ["2", nil]]))
        #expect(first.byteCount == 3)
        #expect(rows.prefix(rows: 3) == rows)
        #expect(rows.prefix(rows: 5) == rows)
        #expect(rows.prefix(rows: 0) == Rows(columnCount: 2, values: []))
    }

    @Test func aPageKeyIsTheOrdersColumnAndTheId() {
        let rows = Rows(columnCount: 6, values: [["7", "milk", "f", "2026-01-01T00:00:00.000000Z", "2026-01-02T00:00:00.000000Z", "1"]])
        #expect(PageKey(row: 0, of: rows, as: .note, order: "-updated_at") == PageKey(value: "2026-01-02T00:00:00.000000Z", id: 7))
        #expect(PageKey(row: 0, of: rows, as: .note, order: "text") == PageKey(value: "milk", id: 7))
        #expect(PageKey(row: 0, of: rows, as: .note, order: "-id") == PageKey(value: "7", id: 7))
        #expect(PageKey(value: "milk", id: 7).parameters(order: "text", limit: 21, filter: ["t"]) == ["milk", "21", "t", "7"])
        #expect(PageKey(value: "7", id: 7).parameters(order: "id", limit: 21, filter: []) == ["7", "21"])
    }
}
