import Testing
@testable import NotesStore

/// Which schema the catalog shows, decided without a database (the catalog as the originals leave it:
/// Tests/integration/harness/originals.py).
@Suite struct AdoptionTests {
    static let notes = [
        CatalogColumn("id", "integer", default: "nextval('notes_id_seq'::regclass)"),
        CatalogColumn("text", "character varying"), CatalogColumn("completed", "boolean"),
    ]
    static let authors = [
        CatalogColumn("id", "integer", default: "nextval('authors_id_seq'::regclass)"),
        CatalogColumn("first_name", "character varying(25)"), CatalogColumn("last_name", "character varying(25)"),
        CatalogColumn("created_at", "timestamp without time zone"), CatalogColumn("updated_at", "timestamp without time zone"),
    ]
    /// As Alembic leaves them at 4143b65eccf4: `content` added last, after `description` was dropped.
    static let articles = [
        CatalogColumn("id", "integer", default: "nextval('articles_id_seq'::regclass)"),
        CatalogColumn("title", "character varying(60)"), CatalogColumn("author_id", "integer"),
        CatalogColumn("created_at", "timestamp without time zone"), CatalogColumn("updated_at", "timestamp without time zone"),
        CatalogColumn("content", "text"),
    ]
    static var articlesWithDescription: [CatalogColumn] {
        articles.map { $0.name == "content" ? CatalogColumn("description", "text") : $0 }
    }

    func plan(_ tables: [String: [CatalogColumn]], alembic: [String]? = nil, applied: Set<Int>? = nil) throws(StoreError) -> AdoptionPlan {
        try AdoptionPlan.plan(for: SchemaSurvey(appliedVersions: applied, tables: tables, alembicRevisions: alembic))
    }

    func refusal(_ tables: [String: [CatalogColumn]], alembic: [String]? = nil) -> String? {
        do {
            _ = try plan(tables, alembic: alembic)
            return nil
        } catch {
            guard case .unrecognizedSchema(let message) = error else { return "\(error)" }
            return message
        }
    }

    @Test func anEmptyDatabaseOrOneWeMigratedHasNothingToAdopt() throws {
        #expect(try plan([:]) == .nothing)
        #expect(try plan([:], applied: []) == .nothing)
        // Our own tables are never looked at once version 1 is recorded, whatever they look like.
        #expect(try plan(["notes": [CatalogColumn("id", "bigint")]], applied: [1, 2, 3]) == .nothing)
    }

    @Test func theTutorialsNotesAloneAreAdoptedInPlaceOf0001() throws {
        let found = try plan(["notes": Self.notes.reversed()])
        #expect(found == AdoptionPlan(notes: true, blog: nil))
        #expect(found.tables == ["notes"])
        let steps = found.steps(migrations: Migration.all)
        #expect(steps.map(\.migration.version) == [1, 2])
        #expect(steps.map { $0.adoption != nil } == [true, false])
    }

    @Test func theBlogIsAdoptedAtEitherRevisionInPlaceOf0002() throws {
        let renamed = try plan(["authors": Self.authors, "articles": Self.articles], alembic: ["4143b65eccf4"])
        #expect(renamed == AdoptionPlan(notes: false, blog: .contentRenamed))
        let initial = try plan(["authors": Self.authors, "articles": Self.articlesWithDescription], alembic: ["c6e1f1bd7e55"])
        #expect(initial == AdoptionPlan(notes: false, blog: .initial))
        #expect(initial.steps(migrations: Migration.all).map { $0.adoption != nil } == [false, true])
        // Only the first revision keeps description equal to content.
        #expect(initial.steps(migrations: Migration.all)[1].sql.contains("articles_keep_description"))
        #expect(!renamed.steps(migrations: Migration.all)[1].sql.contains("articles_keep_description"))
        let both = try plan(["notes": Self.notes, "authors": Self.authors, "articles": Self.articles], alembic: ["4143b65eccf4"])
        #expect(both.tables == ["notes", "authors", "articles"])
    }

    @Test func tablesThatAreNotExactlyTheOriginalsAreRefusedNamingTheDifference() throws {
        // Our own notes with schema_migrations gone: not the tutorial's.
        let ours = [CatalogColumn("id", "bigint"), CatalogColumn("text", "text"), CatalogColumn("completed", "boolean")]
        let message = try #require(refusal(["notes": ours]))
        #expect(message.contains("table notes"))
        #expect(message.contains("expected id integer default nextval('notes_id_seq'::regclass), text character varying"))
        #expect(message.contains("found id bigint, text text"))
        // A revision's articles with the other revision's alembic_version.
        let wrongRevision = refusal(["authors": Self.authors, "articles": Self.articles], alembic: ["c6e1f1bd7e55"])
        #expect(wrongRevision?.contains("expected description text") == true)
        let extra = refusal(
            ["authors": Self.authors, "articles": Self.articles + [CatalogColumn("extra", "text")]], alembic: ["4143b65eccf4"])
        #expect(extra?.contains("found extra text") == true)
    }

    @Test func blogTablesNeedOneKnownAlembicRevision() {
        let tables = ["authors": Self.authors, "articles": Self.articles]
        #expect(refusal(tables)?.contains("alembic_version holds no table") == true)
        #expect(refusal(tables, alembic: [])?.contains("holds no row") == true)
        let unknown = refusal(tables, alembic: ["abc123"])
        #expect(unknown?.contains("holds abc123, not the FastAPI blog's revision c6e1f1bd7e55 or 4143b65eccf4") == true)
        #expect(refusal(tables, alembic: ["4143b65eccf4", "c6e1f1bd7e55"]) != nil)
        #expect(refusal(["authors": Self.authors], alembic: ["4143b65eccf4"])?.contains("authors exists without articles") == true)
    }

    @Test func theRowsThatBlockAnAdoptionAreThoseWithNullsTheAPICannotShow() {
        let plan = AdoptionPlan(notes: true, blog: .initial)
        #expect(plan.requiredColumns.map(\.table) == ["notes", "authors", "articles"])
        #expect(plan.requiredColumns.map(\.columns) == [
            ["text", "completed"], ["first_name", "last_name", "created_at", "updated_at"], ["title", "description"],
        ])
        #expect(AdoptionPlan(notes: false, blog: .contentRenamed).requiredColumns.last?.columns == ["title", "content"])
        let sql = plan.unrepresentableRowsSQL
        #expect(sql.contains("FROM notes WHERE text IS NULL OR completed IS NULL"))
        #expect(sql.contains("FROM articles WHERE title IS NULL OR description IS NULL"))
        #expect(sql.hasSuffix("ORDER BY 1, 2"))
    }

    @Test func theBlockedAdoptionNamesEachRowByTableAndIdAndHowToGoOn() {
        let rows = [
            UnrepresentableRow(table: "notes", id: 4, nullColumns: ["text"]),
            UnrepresentableRow(table: "authors", id: 2, nullColumns: ["first_name", "last_name"]),
        ]
        let message = StoreError.adoptionBlocked(rows: rows, count: 25).description
        #expect(message.contains("nothing was changed: 25 rows hold NULL"))
        #expect(message.contains("notes id 4: text NULL; authors id 2: first_name, last_name NULL; and 23 more"))
        #expect(message.contains("docs/DATABASE.md \"Adopting a FastAPI database\""))
        #expect(message.contains("run 'notes-worker migrate' again"))
        #expect(StoreError.adoptionBlocked(rows: [rows[0]], count: 1).description.contains(": 1 row holds NULL"))
    }
}
