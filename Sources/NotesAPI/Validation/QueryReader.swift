import HTTPMessages

/// Reads query parameters, collecting every problem, so that one 422 names all of them.
struct QueryReader {
    private let items: [(name: String, value: String)]
    private(set) var issues: [ValidationIssue] = []

    static let defaultPageSize: Int64 = 20
    static let pageSizeLimit: Int64 = 100

    init(_ request: HTTPRequest) {
        items = queryItems(request.rawQuery)
    }

    /// The last occurrence wins, as in Starlette.
    private func value(_ name: String) -> String? {
        items.last { $0.name == name }?.value
    }

    mutating func integer(_ name: String, default defaultValue: Int64, range: ClosedRange<Int64>) -> Int64 {
        guard let raw = value(name) else { return defaultValue }
        switch IntegerParameter.query(raw, name: name, range: range) {
        case .success(let number): return number
        case .failure(let issue):
            issues.append(issue)
            return defaultValue
        }
    }

    /// `skip` ≥ 0 (default 0) and `take` in 1...100 (default 20), as every list takes them.
    mutating func page() -> (skip: Int64, take: Int64) {
        (integer("skip", default: 0, range: 0...Int64.max),
         integer("take", default: Self.defaultPageSize, range: 1...Self.pageSizeLimit))
    }

    /// `skip` and `take` of a list that takes no other parameter, validated.
    static func page(of request: HTTPRequest) throws(APIError) -> (skip: Int64, take: Int64) {
        var query = QueryReader(request)
        let page = query.page()
        try query.validate()
        return page
    }

    /// An optional boolean, with the spellings pydantic accepts in a query string.
    mutating func optionalBool(_ name: String) -> Bool? {
        guard let raw = value(name) else { return nil }
        switch raw.lowercased() {
        case "true", "1", "yes", "on", "t", "y": return true
        case "false", "0", "no", "off", "f", "n": return false
        default:
            issues.append(ValidationIssue(
                type: "bool_parsing", location: [.key("query"), .key(name)],
                message: "Input should be a valid boolean, unable to interpret input", input: .string(raw)))
            return nil
        }
    }

    /// One of a few words, as a string enum parameter in FastAPI.
    mutating func choice(_ name: String, among allowed: [String], default defaultValue: String) -> String {
        guard let raw = value(name) else { return defaultValue }
        guard allowed.contains(raw) else {
            let expected = allowed.map { "'\($0)'" }.joined(separator: " or ")
            issues.append(ValidationIssue(
                type: "enum", location: [.key("query"), .key(name)], message: "Input should be \(expected)",
                input: .string(raw), context: ["expected": .string(expected)]))
            return defaultValue
        }
        return raw
    }

    /// Throws the collected problems, if any.
    func validate() throws(APIError) {
        if !issues.isEmpty { throw .validation(issues) }
    }
}
