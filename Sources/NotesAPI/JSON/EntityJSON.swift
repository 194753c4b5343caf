import NotesStore
import JSONOutput

extension JSONWriter {
    /// One row as the entity's JSON object: its columns in order, each by its kind (ids as numbers, booleans
    /// from `t`/`f`, text and timestamps as strings), NULL as null.
    mutating func row(_ row: Int, of rows: Rows, as entity: Entity) {
        self.row(row, of: rows, columns: entity.columns)
    }

    /// As `row(_:of:as:)`, with the entity's columns taken once for a whole page (an `Entity` is a class: each
    /// reading of its columns is a retain and a release).
    mutating func row(_ row: Int, of rows: Rows, columns: [Column]) {
        object { writer, member in
            for (column, description) in columns.enumerated() {
                member(&writer, description.name)
                if rows.isNull(row: row, column: column) {
                    writer.raw("null")
                    continue
                }
                switch description.kind {
                case .identifier: writer.raw(utf8: rows.bytes(row: row, column: column))
                case .boolean: writer.bool(rows.bool(row: row, column: column))
                case .text, .timestamp: writer.string(utf8: rows.bytes(row: row, column: column))
                }
            }
        }
    }
}
