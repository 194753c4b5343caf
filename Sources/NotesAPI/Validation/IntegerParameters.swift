/// Integer parameters from the path and the query, validated and reported the way FastAPI does.
enum IntegerParameter {
    enum LowerBound {
        case greaterThan(Int64)
        case atLeast(Int64)
    }

    /// An id in the path: a positive 64-bit integer.
    static func positiveID(_ raw: String, name: String) -> Result<Int64, ValidationIssue> {
        validate(raw, location: [.key("path"), .key(name)], lowerBound: .greaterThan(0), maximum: .max)
    }

    private enum Parsed {
        case value(Int64)
        case belowInt64
        case aboveInt64
        case notAnInteger
    }

    /// An optional sign and ASCII digits, nothing else.
    private static func parse(_ raw: String) -> Parsed {
        var digits = Substring(raw)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .notAnInteger
        }
        guard let value = Int64(negative ? "-" + digits : String(digits)) else {
            return negative ? .belowInt64 : .aboveInt64
        }
        return .value(value)
    }

    static func validate(
        _ raw: String, location: [ValidationIssue.Location], lowerBound: LowerBound, maximum: Int64
    ) -> Result<Int64, ValidationIssue> {
        let input = JSONValue.string(raw)
        // Built only when needed: this runs on every request that has an id.
        func tooSmall() -> ValidationIssue {
            switch lowerBound {
            case .greaterThan(let limit):
                ValidationIssue(
                    type: "greater_than", location: location, message: "Input should be greater than \(limit)",
                    input: input, context: ["gt": .number(String(limit))])
            case .atLeast(let limit):
                ValidationIssue(
                    type: "greater_than_equal", location: location,
                    message: "Input should be greater than or equal to \(limit)", input: input,
                    context: ["ge": .number(String(limit))])
            }
        }
        func tooLarge() -> ValidationIssue {
            ValidationIssue(
                type: "less_than_equal", location: location, message: "Input should be less than or equal to \(maximum)",
                input: input, context: ["le": .number(String(maximum))])
        }

        switch parse(raw) {
        case .notAnInteger:
            return .failure(ValidationIssue(
                type: "int_parsing", location: location,
                message: "Input should be a valid integer, unable to parse string as an integer", input: input))
        case .belowInt64:
            return .failure(tooSmall())
        case .aboveInt64:
            return .failure(tooLarge())
        case .value(let value):
            switch lowerBound {
            case .greaterThan(let limit) where value <= limit: return .failure(tooSmall())
            case .atLeast(let limit) where value < limit: return .failure(tooSmall())
            default: break
            }
            return value > maximum ? .failure(tooLarge()) : .success(value)
        }
    }
}
