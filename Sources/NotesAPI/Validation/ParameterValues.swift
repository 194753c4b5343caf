import NotesStore

extension Parameter {
    /// The value of this parameter in a request (`raw`, nil when left out), or the problem FastAPI would
    /// report for it; `.absent` for an id beyond 64 bits, which no row has.
    func value(_ raw: String?) -> Result<FieldValue, ValidationIssue> {
        let location: [ValidationIssue.Location] = [.key(self.location.rawValue), .key(name)]
        switch rule {
        case .id:
            return IntegerParameter.id(raw ?? "", location: location).map { $0.map { .integer($0) } ?? .absent }
        case .integer(let defaultValue, let range):
            guard let raw else { return .success(.integer(defaultValue)) }
            return IntegerParameter.bounded(raw, location: location, range: range).map { .integer($0) }
        case .optionalInteger(let range):
            guard let raw else { return .success(.absent) }
            return IntegerParameter.bounded(raw, location: location, range: range).map { .integer($0) }
        case .optionalBool:
            guard let raw else { return .success(.absent) }
            return Lax.bool(raw).map { .boolean($0) }.mapError { failure in
                ValidationIssue(type: failure.type, location: location, message: failure.message, input: .string(raw))
            }
        case .choice(let allowed, let defaultValue):
            guard let raw else { return .success(.text(defaultValue)) }
            guard allowed.contains(raw) else {
                let expected = allowed.map { "'\($0)'" }.joined(separator: " or ")
                return .failure(ValidationIssue(
                    type: "enum", location: location, message: "Input should be \(expected)", input: .string(raw),
                    context: ["expected": .string(expected)]))
            }
            return .success(.text(raw))
        case .literal(let allowed, let defaultValue):
            guard let raw else { return .success(.text(defaultValue)) }
            guard allowed.contains(raw) else {
                let expected = Self.alternatives(allowed)
                return .failure(ValidationIssue(
                    type: "literal_error", location: location, message: "Input should be \(expected)", input: .string(raw),
                    context: ["expected": .string(expected)]))
            }
            return .success(.text(raw))
        case .optionalText:
            // FastAPI hands an empty `q` to the handler as ""; a search for no words is no search.
            guard let raw, raw.utf8.contains(where: { !Self.isWhitespace($0) }) else { return .success(.absent) }
            return .success(.text(raw))
        case .cursor(let list):
            // An empty one is none, as an empty `q` is no search: `?cursor=` is the first page.
            guard let raw, !raw.isEmpty else { return .success(.absent) }
            do {
                _ = try ListCursor(decoding: raw, of: list.entity)
            } catch {
                return .failure(Paging.cursorIssue(Paging.message(error), raw))
            }
            return .success(.text(raw))
        }
    }

    /// Pydantic's list of the allowed values: `'a', 'b' or 'c'`.
    private static func alternatives(_ values: [String]) -> String {
        let quoted = values.map { "'\($0)'" }
        guard quoted.count > 1 else { return quoted.joined() }
        return quoted.dropLast().joined(separator: ", ") + " or " + quoted.last!
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}

/// The parameters every list takes.
enum Paging {
    /// `order`: the entity's orders (`Entity.orders`), ascending id by default. `component` names it in the
    /// OpenAPI document (`NoteOrder`).
    static func order(_ entity: Entity, component: String) -> Parameter {
        let names = entity.orders.filter { !$0.hasPrefix("-") }.map { "`\($0)`" }
        return Parameter(
            name: "order", location: .query, rule: .literal(allowed: entity.orders, defaultValue: "id"),
            description: """
                The order of the items: by \(names.joined(separator: ", ")), ascending, or descending with a `-` in \
                front (`-\(entity.orders[2])`); items that tie are ordered by id in the same direction.
                """,
            component: component)
    }

    /// `q`: a full-text search over `what`, in PostgreSQL's web search syntax.
    static func search(over what: String, component: String) -> Parameter {
        Parameter(
            name: "q", location: .query, rule: .optionalText,
            description: """
                Only the items with these words in their \(what) (PostgreSQL's `websearch_to_tsquery`): words all \
                present, `"a phrase"`, `or` between alternatives, `-word` for a word absent. Empty or absent: no search.
                """,
            component: component)
    }

    static let defaultPageSize: Int64 = 20
    static let pageSizeLimit: Int64 = 100

    static let skip = Parameter(
        name: "skip", location: .query, rule: .integer(defaultValue: 0, range: 0...Int64.max),
        description: "How many items to skip")
    static let take = Parameter(
        name: "take", location: .query, rule: .integer(defaultValue: defaultPageSize, range: 1...pageSizeLimit),
        description: "How many items to return at most")
    /// The blog's lists: without `take`, every item from `skip` on, as the blog example's lists answer.
    static let optionalTake = Parameter(
        name: "take", location: .query, rule: .optionalInteger(range: 1...pageSizeLimit),
        description: "How many items to return at most; without it, every item from `skip` on")
}
