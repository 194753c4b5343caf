import NotesStore

extension Parameter {
    /// The value of this parameter in a request (`raw`, nil when left out), or the problem FastAPI would
    /// report for it.
    func value(_ raw: String?) -> Result<FieldValue, ValidationIssue> {
        let location: [ValidationIssue.Location] = [.key(self.location.rawValue), .key(name)]
        switch rule {
        case .id:
            return IntegerParameter.validate(raw ?? "", location: location, lowerBound: .greaterThan(0), maximum: .max)
                .map { .integer($0) }
        case .integer(let defaultValue, let range):
            guard let raw else { return .success(.integer(defaultValue)) }
            return IntegerParameter.validate(raw, location: location, lowerBound: .atLeast(range.lowerBound), maximum: range.upperBound)
                .map { .integer($0) }
        case .optionalBool:
            guard let raw else { return .success(.absent) }
            switch raw.lowercased() {
            case "true", "1", "yes", "on", "t", "y": return .success(.boolean(true))
            case "false", "0", "no", "off", "f", "n": return .success(.boolean(false))
            default:
                return .failure(ValidationIssue(
                    type: "bool_parsing", location: location, message: "Input should be a valid boolean, unable to interpret input",
                    input: .string(raw)))
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
}
