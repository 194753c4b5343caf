/// Applies pending migrations in order, each in its own transaction, recorded in `schema_migrations`.
///
/// The whole run holds a PostgreSQL advisory lock, so migrators started at once on several hosts queue
/// up: the first applies what is pending, the others then find nothing left to do.
public struct Migrator {
    /// Any fixed number: it only has to be the same for every migrator of this schema.
    static let advisoryLockKey = 4_242_001

    private let database: Database
    private let migrations: [Migration]

    public init(database: Database, migrations: [Migration] = Migration.all) {
        self.database = database
        self.migrations = migrations
    }

    /// Returns the migrations it applied (none when the schema was up to date).
    public func migrate() throws(StoreError) -> [Migration] {
        _ = try database.execute("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", label: "advisory lock")
        defer { _ = try? database.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", label: "advisory unlock") }
        _ = try database.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, label: "create schema_migrations")
        let applied = try appliedVersions()
        var done: [Migration] = []
        for migration in migrations where !applied.contains(migration.version) {
            try apply(migration)
            done.append(migration)
        }
        return done
    }

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
}
