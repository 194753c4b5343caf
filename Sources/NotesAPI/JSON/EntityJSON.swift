import NotesStore
import JSONOutput

extension JSONWriter {
    /// One row as the entity's JSON object: its columns in order, each by its kind (ids as numbers, booleans
    /// from `t`/`f`, text and timestamps as strings), NULL as null.
    mutating func row(_ row: Int, of rows: Rows, as entity: Entity) {
        object { writer, member in
            for (column, description) in entity.columns.enumerated() {
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
