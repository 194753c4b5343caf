import SystemSupport

/// Files of this repository, for tests that check a committed file against what the code makes of it.
public enum RepositoryFiles {
    /// The repository's root: this file is Tests/NotesTesting/RepositoryFiles.swift.
    public static let root: String = {
        let parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        return parts.dropLast(3).joined(separator: "/")
    }()

    /// The bytes of `path` (relative to the root), or nil when it cannot be read.
    public static func read(_ path: String) -> [UInt8]? {
        FileContents.read(root + "/" + path)
    }
}
