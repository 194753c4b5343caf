/// A numbered schema change, embedded from `Migrations/NNNN_name.sql` at build time.
public struct Migration: Sendable {
    public let version: Int
    /// The file name, which is also what `schema_migrations` records.
    public let file: String
    public let sql: String

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.version = Int(file.prefix { $0.isNumber })!
        self.sql = String(decoding: bytes, as: UTF8.self)
    }

    /// Every migration, in order. A unit test checks that this list and the Migrations folder agree.
    public static let all: [Migration] = [
        Migration(file: "0001_create_notes.sql", bytes: PackageResources._001_create_notes_sql),
        Migration(file: "0002_create_authors_and_articles.sql", bytes: PackageResources._002_create_authors_and_articles_sql),
        Migration(file: "0003_keep_note_totals.sql", bytes: PackageResources._003_keep_note_totals_sql),
        Migration(file: "0004_remember_create_requests.sql", bytes: PackageResources._004_remember_create_requests_sql),
        Migration(file: "0005_keep_note_totals_per_statement.sql", bytes: PackageResources._005_keep_note_totals_per_statement_sql),
        Migration(file: "0006_add_row_versions.sql", bytes: PackageResources._006_add_row_versions_sql),
        Migration(file: "0007_search_and_order.sql", bytes: PackageResources._007_search_and_order_sql),
    ]

    /// The schema version this build needs.
    public static var latestVersion: Int { all.last?.version ?? 0 }
}
