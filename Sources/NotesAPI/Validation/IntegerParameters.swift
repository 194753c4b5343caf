/// Integer parameters from the path and the query, read as pydantic's lax mode reads a string and checked
/// against their bounds the way FastAPI reports them.
enum IntegerParameter {
    /// Any integer pydantic reads in `raw`; nil for one beyond 64 bits, which no row has as its id.
    static func id(_ raw: String, location: [ValidationIssue.Location]) -> Result<Int64?, ValidationIssue> {
        switch Lax.integer(raw) {
        case .success(.int64(let id)): .success(id)
        case .success(.beyondInt64): .success(nil)
        case .failure(let failure): .failure(issue(failure, raw, location))
        }
    }

    /// An integer within `range` (its lower bound as `ge`, its upper as `le`).
    static func bounded(_ raw: String, location: [ValidationIssue.Location], range: ClosedRange<Int64>) -> Result<Int64, ValidationIssue> {
        let input = JSONValue.string(raw)
        // Built only when needed: this runs on every list request.
        func tooSmall() -> ValidationIssue {
            ValidationIssue(
                type: "greater_than_equal", location: location,
                message: "Input should be greater than or equal to \(range.lowerBound)", input: input,
                context: ["ge": .number(String(range.lowerBound))])
        }
        func tooLarge() -> ValidationIssue {
            ValidationIssue(
                type: "less_than_equal", location: location, message: "Input should be less than or equal to \(range.upperBound)",
                input: input, context: ["le": .number(String(range.upperBound))])
        }
        switch Lax.integer(raw) {
        case .failure(let failure):
            return .failure(issue(failure, raw, location))
        case .success(.beyondInt64(let digits)):
            return .failure(digits.hasPrefix("-") ? tooSmall() : tooLarge())
        case .success(.int64(let value)):
            if value < range.lowerBound { return .failure(tooSmall()) }
            return value > range.upperBound ? .failure(tooLarge()) : .success(value)
        }
    }

    private static func issue(_ failure: Lax.Failure, _ raw: String, _ location: [ValidationIssue.Location]) -> ValidationIssue {
        ValidationIssue(type: failure.type, location: location, message: failure.message, input: .string(raw))
    }
}
