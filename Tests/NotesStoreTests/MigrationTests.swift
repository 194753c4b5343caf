import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import NotesStore

@Suite struct MigrationTests {
    /// Every file in Sources/NotesStore/Migrations must be listed in `Migration.all`, in order, and the
    /// other way round, so a new migration file cannot be forgotten.
    @Test func listMatchesTheMigrationsFolder() throws {
        let testFile = #filePath
        let repository = testFile.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        let folder = repository + "/Sources/NotesStore/Migrations"
        var files: [String] = []
        let directory = try #require(opendir(folder))
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".sql") { files.append(name) }
        }
        #expect(files.sorted() == Migration.all.map(\.file))
    }

    @Test func versionsStartAtOneAndIncreaseByOne() {
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
        #expect(Migration.latestVersion == Migration.all.count)
    }

    @Test func connectionSettingsLetTheURLOverrideDefaultsButNotTheApplicationName() {
        let settings = ConnectionSettings(databaseURL: "postgresql://h/db?connect_timeout=9", applicationName: "notes-worker-1")
        // Defaults before dbname (libpq lets the URL's values win), our own settings after it.
        #expect(settings.keywordsAndValues.map(\.0) == [
            "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
            "tcp_user_timeout", "dbname", "application_name", "client_encoding",
        ])
        let withoutURL = ConnectionSettings(databaseURL: nil, applicationName: "a")
        #expect(!withoutURL.keywordsAndValues.map(\.0).contains("dbname"))
    }

    @Test func malformedURLMessagesLoseTheirQuotedParts() {
        #expect(withoutQuotedParts(#"invalid percent-encoded token: "Sekr%zzet""#) == #"invalid percent-encoded token: "…""#)
        #expect(withoutQuotedParts(#"missing "]" in URI: "postgresql://u:pw@[::1/db""#) == #"missing "…" in URI: "…""#)
        #expect(withoutQuotedParts("no quotes") == "no quotes")
    }
}
