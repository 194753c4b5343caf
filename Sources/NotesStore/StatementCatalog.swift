/// A value that holds prepared statements as its stored properties, and other catalogs: every statement
/// declared in one is found by `statements`, so none can be left out of what a connection prepares.
public protocol StatementCatalog {}

extension StatementCatalog {
    /// Every statement this catalog and the catalogs it holds declare, each once.
    public var statements: [PreparedStatement] {
        var found: [PreparedStatement] = []
        func collect(_ value: Any) {
            for child in Mirror(reflecting: value).children {
                if let statement = child.value as? PreparedStatement {
                    if !found.contains(where: { $0.name == statement.name }) { found.append(statement) }
                } else if child.value is StatementCatalog {
                    collect(child.value)
                }
            }
        }
        collect(self)
        return found
    }
}
