import Testing
@testable import NotesAPI

/// Pydantic v2's lax conversions, case by case from the tables of docs/research/fastapi-bodies-and-examples.md
/// (each row checked there against FastAPI 0.165.0 with pydantic 2.13.4).
@Suite struct LaxConversionTests {
    private func json(_ text: String) -> JSONValue { try! JSONParser.parse(Array(text.utf8)) }

    @Test(arguments: [
        ("true", true), ("false", false), ("1", true), ("0", false), ("-0", false), ("1.0", true), ("1e0", true),
        ("0.0", false), ("-0.0", false), ("\"true\"", true), ("\"FaLsE\"", false), ("\"1\"", true), ("\"0\"", false),
        ("\"yes\"", true), ("\"no\"", false), ("\"on\"", true), ("\"off\"", false), ("\"T\"", true), ("\"f\"", false),
        ("\"Y\"", true), ("\"n\"", false),
    ])
    func booleans(literal: String, expected: Bool) {
        #expect(Lax.bool(json(literal)) == .success(expected))
    }

    @Test(arguments: [
        ("2", Lax.Failure.boolParsing), ("-1", .boolParsing), ("2.0", .boolParsing), ("-1.0", .boolParsing),
        ("0.5", .boolType), ("1000000000000000000000000000000", .boolType), ("\" true\"", .boolParsing),
        ("\"true \"", .boolParsing), ("\"\"", .boolParsing), ("\"2\"", .boolParsing), ("\"1.0\"", .boolParsing),
        ("\"truee\"", .boolParsing), ("null", .boolType), ("[]", .boolType), ("[true]", .boolType), ("{}", .boolType),
    ])
    func refusedBooleans(literal: String, failure: Lax.Failure) {
        #expect(Lax.bool(json(literal)) == .failure(failure))
    }

    @Test(arguments: [
        ("7", Lax.Integer.int64(7)), ("-7", .int64(-7)), ("-0", .int64(0)), ("9223372036854775807", .int64(.max)),
        ("9223372036854775808", .beyondInt64("9223372036854775808")), ("-9223372036854775809", .beyondInt64("-9223372036854775809")),
        ("true", .int64(1)), ("false", .int64(0)), ("7.0", .int64(7)), ("-7.0", .int64(-7)), ("-0.0", .int64(0)),
        ("1e3", .int64(1000)), ("1E3", .int64(1000)), ("1e18", .int64(1_000_000_000_000_000_000)),
        ("\"7\"", .int64(7)), ("\" 7 \"", .int64(7)), ("\"\\t7\\n\"", .int64(7)), ("\"+7\"", .int64(7)), ("\"-7\"", .int64(-7)),
        ("\"007\"", .int64(7)), ("\"-007.0\"", .int64(-7)), ("\"-0\"", .int64(0)), ("\"7.0\"", .int64(7)), ("\"7.00\"", .int64(7)),
        ("\"7.0 \"", .int64(7)), ("\"00.000\"", .int64(0)), ("\"1_000\"", .int64(1000)), ("\"0_7\"", .int64(7)),
        // pydantic's strip_leading_zeros keeps a minus after leading zeros: "0-6" is -6 (pydantic 2.13 answers so).
        ("\"0-6\"", .int64(-6)), ("\"00-6.0\"", .int64(-6)), ("\"0_-6\"", .int64(-6)),
        ("\"9223372036854775808\"", .beyondInt64("9223372036854775808")),
    ])
    func integers(literal: String, expected: Lax.Integer) {
        #expect(Lax.integer(json(literal)) == .success(expected))
    }

    @Test(arguments: [
        ("7.5", Lax.Failure.intFromFloat), ("1e20", .intParsingSize), ("9.3e18", .intParsingSize),
        ("9223372036854775807.0", .intParsingSize), ("1.5e300", .intParsingSize), ("1e400", .finiteNumber),
        ("\"7.5\"", .intParsing), ("\"7.\"", .intParsing), ("\".0\"", .intParsing), ("\"7.000000000000000001\"", .intParsing),
        ("\"1e3\"", .intParsing), ("\"1e20\"", .intParsing), ("\"0x10\"", .intParsing), ("\"1,000\"", .intParsing),
        ("\"7_\"", .intParsing), ("\"_7\"", .intParsing), ("\"1__0\"", .intParsing), ("\"- 7\"", .intParsing),
        ("\"+-7\"", .intParsing), ("\"--7\"", .intParsing), ("\"-0-6\"", .intParsing), ("\"0--6\"", .intParsing), ("\"\"", .intParsing), ("\"abc\"", .intParsing),
        ("\"true\"", .intParsing), ("\"٧\"", .intParsing), ("null", .intType), ("[]", .intType), ("[7]", .intType), ("{}", .intType),
    ])
    func refusedIntegers(literal: String, failure: Lax.Failure) {
        #expect(Lax.integer(json(literal)) == .failure(failure))
    }

    @Test func integersLongerThanPythonParsesAreRefused() {
        let digits = String(repeating: "7", count: Lax.maxIntegerDigits)
        #expect(Lax.integer(digits) == .success(.beyondInt64(digits)))
        #expect(Lax.integer(digits + "7") == .failure(.intParsingSize))
    }

    @Test(arguments: [
        ("7.0", "7.0"), ("-1.0", "-1.0"), ("1e20", "1e+20"), ("9.3e18", "9.3e+18"), ("9223372036854775807.0", "9.223372036854776e+18"),
        ("1.5e300", "1.5e+300"), ("1e-5", "1e-05"), ("0.0001", "0.0001"), ("-0.0", "-0.0"), ("1e15", "1000000000000000.0"),
        ("1e16", "1e+16"), ("0.5", "0.5"), ("123.456", "123.456"), ("5e-324", "5e-324"), ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("12345678901234567890.0", "1.2345678901234567e+19"), ("0.1", "0.1"), ("100", "100"), ("-0", "0"),
    ])
    func numbersAreEchoedAsPythonWritesThem(literal: String, echo: String) {
        #expect(JSONValue.number(literal).pythonEcho == .number(echo))
    }

    @Test func objectsKeepTheLastValueOfAKeyAtItsFirstPlace() {
        #expect(json(#"{"a":1,"b":2.50,"a":[3e0]}"#).pythonEcho == .object(["a": .array([.number("3.0")]), "b": .number("2.5")]))
    }
}
