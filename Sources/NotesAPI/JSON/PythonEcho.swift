/// A body value as FastAPI echoes it in a 422's `input`: what Python's `json.loads` made of it, written out
/// again. Integers lose a `-` on zero, floats are written as Python's `repr` writes them, and an object keeps
/// one member per key (the last value, at the place of the first).
extension JSONValue {
    var pythonEcho: JSONValue {
        switch self {
        case .null, .bool, .string, .loneSurrogateString:
            return self
        case .number(let literal):
            if JSONNumber.isInteger(literal) { return .number(literal == "-0" ? "0" : literal) }
            let number = JSONNumber.double(literal)
            // Python cannot write these either (FastAPI answers 500): a literal such as 1e400 is what the
            // client sent; NaN and Infinity are not JSON, so null, as pydantic writes them (ser_json_inf_nan).
            guard number.isFinite else { return JSONNumber.isLiteral(literal) ? self : .null }
            return .number(pythonRepr(number))
        case .array(let elements):
            return .array(elements.map(\.pythonEcho))
        case .object(let object):
            var members: [JSONObject.Member] = []
            for member in object.members {
                let value = member.value.pythonEcho
                if let index = members.firstIndex(where: { $0.key == member.key }) {
                    members[index] = JSONObject.Member(key: member.key, value: value)
                } else {
                    members.append(JSONObject.Member(key: member.key, value: value))
                }
            }
            return .object(JSONObject(members))
        }
    }
}

/// Python's `repr` of a finite float: the shortest digits that read back as the same double, in fixed
/// notation with at least one decimal (`7.0`) when the decimal exponent is from -4 to 15, otherwise
/// scientific with a signed exponent of at least two digits (`1e+20`, `1.5e-05`).
func pythonRepr(_ number: Double) -> String {
    // Swift's description has the same shortest digits; only the layout differs.
    let (negative, digits, exponent) = shortestDigits(number)
    let sign = negative ? "-" : ""
    if exponent < -4 || exponent >= 16 {
        let mantissa = digits.count == 1 ? digits : digits.prefix(1) + "." + digits.dropFirst()
        let magnitude = String(abs(exponent))
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" + magnitude : magnitude)
    }
    if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
    if digits.count > exponent + 1 {
        return sign + digits.prefix(exponent + 1) + "." + digits.dropFirst(exponent + 1)
    }
    return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0"
}

/// The sign, significant digits (no leading or trailing zeros; "0" for zero) and decimal exponent of the
/// first digit, read from Swift's shortest round-trip description.
private func shortestDigits(_ number: Double) -> (negative: Bool, digits: String, exponent: Int) {
    var text = Substring(number.description)
    let negative = text.hasPrefix("-")
    if negative { text = text.dropFirst() }
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        text = text[..<e]
    }
    let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let whole = parts[0], fraction = parts.count > 1 ? parts[1] : ""
    var digits = Substring(whole + fraction)
    // The first digit's exponent: the whole part's length less one, less any leading zeros skipped.
    exponent += whole.count - 1
    while digits.first == "0" && digits.count > 1 {
        digits = digits.dropFirst()
        exponent -= 1
    }
    while digits.last == "0" && digits.count > 1 { digits = digits.dropLast() }
    if digits == "0" { exponent = 0 }
    return (negative, String(digits), exponent)
}
