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
        }
    }
}

/// The parameters every list takes.
enum Paging {
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
