/// Applies pending migrations in order, each in its own transaction, recorded in `schema_migrations`.
///
/// The whole run holds a PostgreSQL advisory lock, so migrators started at once on several hosts queue
/// up: the first applies what is pending, the others then find nothing left to do. A database made by the
/// FastAPI originals is first adopted in place of migrations 0001 and 0002 (`Adoption.swift`).
public struct Migrator {
    /// Any fixed number: it only has to be the same for every migrator of this schema.
    static let advisoryLockKey = 4_242_001

    /// What one run did.
    public struct Run {
        /// One line per original taken over, as `schema_adoptions` records it.
        public var adopted: [String] = []
        public var applied: [Migration] = []
    }

    private let database: Database
    private let migrations: [Migration]

    public init(database: Database, migrations: [Migration] = Migration.all) {
        self.database = database
        self.migrations = migrations
    }

    /// What it adopted and applied (nothing when the schema was up to date).
    public func migrate() throws(StoreError) -> Run {
        _ = try database.execute("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", label: "advisory lock")
        defer { _ = try? database.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", label: "advisory unlock") }
        var run = try adoptOriginals()
        _ = try database.execute(Self.createSchemaMigrations, label: "create schema_migrations")
        let applied = try appliedVersions()
        for migration in migrations where !applied.contains(migration.version) {
            try apply(migration)
            run.applied.append(migration)
        }
        return run
    }

    private static let createSchemaMigrations = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """

    private func appliedVersions() throws(StoreError) -> Set<Int> {
        let result = try database.execute("SELECT version FROM schema_migrations", label: "read schema_migrations")
        return Set((0..<result.rowCount).map { Int(result.int64(row: $0, column: 0)) })
    }

    private func apply(_ migration: Migration) throws(StoreError) {
        let script = """
            BEGIN;
            \(migration.sql)
            ;
            INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), '\(migration.file)');
            COMMIT;
            """
        do {
            _ = try database.execute(script, label: migration.file)
        } catch {
            _ = try? database.execute("ROLLBACK", label: "rollback")
            switch error {
            case .statementFailed(_, _, let message): throw .migrationFailed(name: migration.file, message: message)
            default: throw error
            }
        }
    }

    // MARK: Adoption

    /// Takes the originals' tables over in one transaction, in place of migrations 0001 and 0002, and records
    /// that in `schema_adoptions`; returns what it adopted and the migrations it ran where there was no original
    /// (nothing for a database that has no original, or that this service migrated already). Refuses, changing
    /// nothing, tables it does not recognise and rows it cannot represent.
    private func adoptOriginals() throws(StoreError) -> Run {
        _ = try database.execute("BEGIN", label: "begin adoption")
        do throws(StoreError) {
            let plan = try AdoptionPlan.plan(for: survey())
            if plan.isEmpty {
                _ = try database.execute("ROLLBACK", label: "end survey")
                return Run()
            }
            // The originals' apps may still be writing: the rows checked are the rows changed.
            _ = try database.execute(
                "LOCK TABLE \(plan.tables.joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE", label: "lock the originals' tables")
            let (rows, count) = try unrepresentableRows(plan)
            guard count == 0 else { throw .adoptionBlocked(rows: rows, count: count) }
            let run = try adopt(plan)
            _ = try database.execute("COMMIT", label: "commit adoption")
            return run
        } catch {
            _ = try? database.execute("ROLLBACK", label: "rollback adoption")
            throw error
        }
    }

    private func survey() throws(StoreError) -> SchemaSurvey {
        let present = try database.execute(
            "SELECT to_regclass('schema_migrations') IS NOT NULL, to_regclass('alembic_version') IS NOT NULL", label: "survey")
        var appliedVersions: Set<Int>? = nil
        if present.bool(row: 0, column: 0) { appliedVersions = try self.appliedVersions() }
        var alembicRevisions: [String]? = nil
        if present.bool(row: 0, column: 1) {
            let revisions = try database.execute("SELECT version_num FROM alembic_version ORDER BY 1", label: "read alembic_version")
            alembicRevisions = (0..<revisions.rowCount).map { revisions.string(row: $0, column: 0) }
        }
        let columns = try database.execute(
            """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), coalesce(pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE c.oid IN (to_regclass('notes'), to_regclass('authors'), to_regclass('articles'))
            ORDER BY c.relname, a.attnum
            """, label: "survey columns")
        var tables: [String: [CatalogColumn]] = [:]
        for row in 0..<columns.rowCount {
            let defaultValue = columns.string(row: row, column: 3)
            tables[columns.string(row: row, column: 0), default: []].append(
                CatalogColumn(
                    columns.string(row: row, column: 1), columns.string(row: row, column: 2),
                    default: defaultValue.isEmpty ? nil : defaultValue))
        }
        return SchemaSurvey(appliedVersions: appliedVersions, tables: tables, alembicRevisions: alembicRevisions)
    }

    private func unrepresentableRows(_ plan: AdoptionPlan) throws(StoreError) -> (rows: [UnrepresentableRow], count: Int) {
        let result = try database.execute(plan.unrepresentableRowsSQL, label: "find unrepresentable rows")
        let rows = (0..<min(result.rowCount, AdoptionPlan.reportedRows)).map { row in
            UnrepresentableRow(
                table: result.string(row: row, column: 0), id: result.int64(row: row, column: 1),
                nullColumns: result.string(row: row, column: 2).split(separator: ",").map(String.init))
        }
        return (rows, result.rowCount)
    }

    /// Each original in place of its migration, or that migration itself where there is no original.
    private func adopt(_ plan: AdoptionPlan) throws(StoreError) -> Run {
        _ = try database.execute(Self.createSchemaMigrations, label: "create schema_migrations")
        _ = try database.execute(
            """
            CREATE TABLE schema_adoptions (
                version    integer     PRIMARY KEY REFERENCES schema_migrations (version),
                adopted    text        NOT NULL,
                adopted_at timestamptz NOT NULL DEFAULT now()
            )
            """, label: "create schema_adoptions")
        var run = Run()
        for step in plan.steps(migrations: migrations) {
            let label = step.adoption?.name ?? step.migration.file
            do {
                _ = try database.execute(step.sql, label: label)
            } catch {
                guard case .statementFailed(_, _, let message) = error else { throw error }
                throw .migrationFailed(name: label, message: message)
            }
            _ = try database.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (\(step.migration.version), '\(step.migration.file)')",
                label: "record \(step.migration.file)")
            guard let adoption = step.adoption else {
                run.applied.append(step.migration)
                continue
            }
            let recorded = try database.execute(
                """
                INSERT INTO schema_adoptions (version, adopted) VALUES (\(step.migration.version), \(adoption.summarySQL))
                RETURNING adopted
                """,
                label: "record the \(adoption.name)")
            run.adopted.append(recorded.string(row: 0, column: 0))
        }
        return run
    }
}
