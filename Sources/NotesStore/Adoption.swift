/// Taking over a database made by the FastAPI originals this service replaces: the notes tutorial's `notes`
/// table (SQLAlchemy `create_all`) and the blog example's `authors` and `articles` (Alembic, at revision
/// `c6e1f1bd7e55` or `4143b65eccf4`). The pure part: what the catalog shows, what to do about it, and which rows
/// stand in the way. `Migrator` runs it (docs/DATABASE.md, "Adopting a FastAPI database").

/// A column as the catalog describes it: its type as `format_type` writes it, and its default as `pg_get_expr` does.
public struct CatalogColumn: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let name: String
    public let type: String
    public let defaultValue: String?

    public init(_ name: String, _ type: String, default defaultValue: String? = nil) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
    }

    public var description: String { "\(name) \(type)" + (defaultValue.map { " default \($0)" } ?? "") }
}

/// What a migrator finds before it changes anything.
public struct SchemaSurvey: Sendable, Equatable {
    /// The versions `schema_migrations` records; nil when the table does not exist.
    public var appliedVersions: Set<Int>?
    /// The columns of those of `notes`, `authors` and `articles` that exist, in any order.
    public var tables: [String: [CatalogColumn]]
    /// The rows of `alembic_version`; nil when the table does not exist.
    public var alembicRevisions: [String]?

    public init(appliedVersions: Set<Int>?, tables: [String: [CatalogColumn]], alembicRevisions: [String]?) {
        self.appliedVersions = appliedVersions
        self.tables = tables
        self.alembicRevisions = alembicRevisions
    }
}

/// The blog example's two Alembic revisions: at the first, an article's text is in `description`.
public enum BlogRevision: String, Sendable, CaseIterable {
    case initial = "c6e1f1bd7e55"
    case contentRenamed = "4143b65eccf4"

    /// The column that holds an article's text at this revision.
    var articleTextColumn: String { self == .initial ? "description" : "content" }
}

/// A row the API cannot show as it is: the columns that are NULL where the API needs a value.
public struct UnrepresentableRow: Sendable, Equatable, CustomStringConvertible {
    public let table: String
    public let id: Int64
    public let nullColumns: [String]

    public init(table: String, id: Int64, nullColumns: [String]) {
        self.table = table
        self.id = id
        self.nullColumns = nullColumns
    }

    public var description: String { "\(table) id \(id): \(nullColumns.joined(separator: ", ")) NULL" }
}

/// Which of the originals' tables a database holds, to be taken over in place of migrations 0001 and 0002.
public struct AdoptionPlan: Sendable, Equatable {
    /// The tutorial's `notes`, adopted in place of 0001_create_notes.sql.
    public var notes: Bool
    /// The blog's `authors` and `articles` at this revision, adopted in place of 0002_create_authors_and_articles.sql.
    public var blog: BlogRevision?

    public init(notes: Bool, blog: BlogRevision?) {
        self.notes = notes
        self.blog = blog
    }

    public static let nothing = AdoptionPlan(notes: false, blog: nil)

    /// How many of the rows that block an adoption its error lists (the count covers all of them).
    public static let reportedRows = 20

    public var isEmpty: Bool { !notes && blog == nil }

    /// The tables the adoption changes, which it locks before reading them.
    public var tables: [String] { (notes ? ["notes"] : []) + (blog != nil ? ["authors", "articles"] : []) }

    /// Per table, the columns the API needs a value in (NOT NULL in our schema) that the original leaves nullable.
    public var requiredColumns: [(table: String, columns: [String])] {
        var required: [(table: String, columns: [String])] = []
        if notes { required.append(("notes", ["text", "completed"])) }
        if let blog {
            required.append(("authors", ["first_name", "last_name", "created_at", "updated_at"]))
            required.append(("articles", ["title", blog.articleTextColumn]))
        }
        return required
    }

    /// One query for every row that has a NULL in a required column: table, id, the NULL columns (comma-separated),
    /// ordered by table and id.
    public var unrepresentableRowsSQL: String {
        requiredColumns.map { table, columns in
            let nulls = columns.map { "CASE WHEN \($0) IS NULL THEN '\($0)' END" }.joined(separator: ", ")
            let condition = columns.map { "\($0) IS NULL" }.joined(separator: " OR ")
            return "SELECT '\(table)'::text AS tab, id::bigint, array_to_string(ARRAY[\(nulls)], ',') FROM \(table) WHERE \(condition)"
        }.joined(separator: "\nUNION ALL\n") + "\nORDER BY 1, 2"
    }

    /// Migrations 0001 and 0002, each with the adoption that takes its place, if any: what one transaction runs.
    func steps(migrations: [Migration]) -> [AdoptionStep] {
        migrations.filter { $0.version <= 2 }.map { migration in
            switch migration.version {
            case 1: AdoptionStep(migration: migration, adoption: notes ? .tutorialNotes : nil)
            default: AdoptionStep(migration: migration, adoption: blog.map(AdoptionScript.blog))
            }
        }
    }

    /// Decides from the catalog alone. A database this service migrated (version 1 recorded) or with none of the
    /// three tables has nothing to adopt; tables that are neither ours nor exactly the originals' are refused,
    /// naming what differs, rather than changed.
    public static func plan(for survey: SchemaSurvey) throws(StoreError) -> AdoptionPlan {
        if survey.appliedVersions?.contains(1) == true { return .nothing }
        var plan = AdoptionPlan.nothing
        if let notes = survey.tables["notes"] {
            try expect(table: "notes", columns: notes, toBe: Originals.tutorialNotes, madeBy: "the FastAPI notes tutorial")
            plan.notes = true
        }
        let authors = survey.tables["authors"], articles = survey.tables["articles"]
        guard authors != nil || articles != nil else { return plan }
        guard let authors, let articles else {
            throw .unrecognizedSchema(
                "table \(authors == nil ? "articles" : "authors") exists without \(authors == nil ? "authors" : "articles"): "
                    + "not the FastAPI blog's tables, and not this service's (schema_migrations has no version 1)")
        }
        let known = BlogRevision.allCases.map(\.rawValue).joined(separator: " or ")
        guard let revisions = survey.alembicRevisions, revisions.count == 1,
            let revision = BlogRevision(rawValue: revisions[0])
        else {
            let found = survey.alembicRevisions.map { $0.isEmpty ? "no row" : $0.joined(separator: ", ") } ?? "no table"
            throw .unrecognizedSchema(
                "tables authors and articles exist but alembic_version holds \(found), not the FastAPI blog's revision "
                    + "\(known): adopt them at one of those revisions (alembic upgrade) or move them away")
        }
        let blog = "the FastAPI blog at \(revision.rawValue)"
        try expect(table: "authors", columns: authors, toBe: Originals.blogAuthors, madeBy: blog)
        try expect(table: "articles", columns: articles, toBe: Originals.blogArticles(revision), madeBy: blog)
        plan.blog = revision
        return plan
    }

    private static func expect(
        table: String, columns: [CatalogColumn], toBe expected: [CatalogColumn], madeBy original: String
    ) throws(StoreError) {
        let found = Set(columns), wanted = Set(expected)
        guard found != wanted else { return }
        let missing = expected.filter { !found.contains($0) }.map(\.description)
        let extra = columns.filter { !wanted.contains($0) }.map(\.description)
        throw .unrecognizedSchema(
            "table \(table) exists but is neither this service's (schema_migrations has no version 1) nor \(original)'s: "
                + (missing.isEmpty ? "" : "expected \(missing.joined(separator: ", "))")
                + (missing.isEmpty || extra.isEmpty ? "" : "; ")
                + (extra.isEmpty ? "" : "found \(extra.joined(separator: ", "))"))
    }
}

/// The originals' columns exactly as they make them on PostgreSQL (recorded with SQLAlchemy 2.0.25 and Alembic
/// 1.13.1: Tests/integration/harness/originals.py holds the DDL).
enum Originals {
    private static func serial(_ table: String) -> CatalogColumn {
        CatalogColumn("id", "integer", default: "nextval('\(table)_id_seq'::regclass)")
    }

    static let tutorialNotes = [serial("notes"), CatalogColumn("text", "character varying"), CatalogColumn("completed", "boolean")]

    static let blogAuthors = [
        serial("authors"), CatalogColumn("first_name", "character varying(25)"), CatalogColumn("last_name", "character varying(25)"),
        CatalogColumn("created_at", "timestamp without time zone"), CatalogColumn("updated_at", "timestamp without time zone"),
    ]

    static func blogArticles(_ revision: BlogRevision) -> [CatalogColumn] {
        [
            serial("articles"), CatalogColumn("title", "character varying(60)"), CatalogColumn(revision.articleTextColumn, "text"),
            CatalogColumn("author_id", "integer"), CatalogColumn("created_at", "timestamp without time zone"),
            CatalogColumn("updated_at", "timestamp without time zone"),
        ]
    }
}

/// The SQL that takes an original over, and the line `schema_adoptions` records for it.
struct AdoptionScript {
    let name: String
    let sql: String
    /// A scalar SQL expression: what was adopted, with its counts.
    let summarySQL: String

    static let tutorialNotes = AdoptionScript(
        name: "adoption of the FastAPI notes tutorial's notes",
        sql: String(decoding: PackageResources.fastapi_notes_tutorial_sql, as: UTF8.self),
        summarySQL: """
            (SELECT format('notes of the FastAPI notes tutorial: %s rows, highest id %s', count(*), coalesce(max(id), 0)) FROM notes)
            """)

    static func blog(_ revision: BlogRevision) -> AdoptionScript {
        let description = revision == .initial ? String(decoding: PackageResources.fastapi_blog_description_sql, as: UTF8.self) + "\n" : ""
        return AdoptionScript(
            name: "adoption of the FastAPI blog's authors and articles at Alembic revision \(revision.rawValue)",
            sql: description + String(decoding: PackageResources.fastapi_blog_sql, as: UTF8.self),
            summarySQL: """
                format('authors and articles of the FastAPI blog at Alembic revision \(revision.rawValue)\
                \(revision == .initial ? " (description kept equal to content)" : ""): \
                %s authors, highest id %s; %s articles, highest id %s', \
                (SELECT count(*) FROM authors), (SELECT coalesce(max(id), 0) FROM authors), \
                (SELECT count(*) FROM articles), (SELECT coalesce(max(id), 0) FROM articles))
                """)
    }
}

/// One of migrations 0001 and 0002 in an adoption: the original's adoption in its place, or else the migration.
struct AdoptionStep {
    let migration: Migration
    let adoption: AdoptionScript?

    var sql: String { adoption?.sql ?? migration.sql }
}
