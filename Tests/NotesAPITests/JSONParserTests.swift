import Testing
@testable import NotesAPI

@Suite struct JSONParserTests {
    private func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    private func failure(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        let value = try parse(#" {"a": [1, -2.5e3, true, false, null], "b": "x\ty", "c": {}} "#)
        #expect(value == .object([
            "a": .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]),
            "b": .string("x\ty"),
            "c": .object([:]),
        ]))
    }

    @Test func keepsNumbersAsWrittenSoNothingOverflows() throws {
        #expect(try parse("123456789012345678901234567890") == .number("123456789012345678901234567890"))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t\u00e9\ud83c\udf89""#) == .string("\"\\/\u{8}\u{c}\n\r\té🎉"))
    }

    @Test func lastDuplicateKeyWins() throws {
        guard case .object(let object) = try parse(#"{"k": 1, "k": 2}"#) else {
            Issue.record("not an object")
            return
        }
        #expect(object["k"] == .number("2"))
        #expect(object.members.count == 2)
    }

    @Test(arguments: [
        ("", 0, "Expecting value"),
        ("{", 1, "Expecting property name enclosed in double quotes"),
        (#"{"a" 1}"#, 5, "Expecting ':' delimiter"),
        (#"{"a": 1 "b": 2}"#, 8, "Expecting ',' delimiter"),
        ("[1,]", 3, "Expecting value"),
        ("01", 1, "Extra data"),
        ("tru", 0, "Expecting value"),
        (#""abc"#, 0, "Unterminated string starting at"),
        ("\"a\u{1}\"", 2, "Invalid control character at"),
        (#""\x""#, 1, #"Invalid \escape"#),
        // A bad \uXXXX escape is reported at its u, as Python's json module does (F3).
        (#""a\u12G4""#, 3, #"Invalid \uXXXX escape"#),
        (#""\u12""#, 2, #"Invalid \uXXXX escape"#),
        (#""\ud800\u12G4""#, 8, #"Invalid \uXXXX escape"#),
        (#""\ud800\u""#, 8, #"Invalid \uXXXX escape"#),
        (#""\udc00"#, 2, #"Invalid \uXXXX escape"#),
        (#""a\"#, 0, "Unterminated string starting at"),
        ("-Infinit", 0, "Expecting value"),
        ("nan", 0, "Expecting value"),
        ("-NaN", 0, "Expecting value"),
        ("1.", 2, "Expecting digit after '.'"),
        ("-", 0, "Expecting value"),
        ("{} x", 3, "Extra data"),
    ])
    func rejectsMalformedDocumentsWithTheirPosition(text: String, offset: Int, reason: String) {
        #expect(failure(Array(text.utf8)) == JSONParseError(offset: offset, reason: reason))
    }

    @Test func rejectsInvalidUTF8InStrings() {
        #expect(failure([0x22, 0xC3, 0x28, 0x22])?.reason == "Invalid UTF-8 in string starting at")
    }

    @Test func readsPythonsNaNAndInfinityAsNumbers() throws {
        #expect(try parse("[NaN, Infinity, -Infinity]") == .array([.number("NaN"), .number("Infinity"), .number("-Infinity")]))
    }

    @Test func readsEscapedLoneSurrogatesAsPythonDoes() throws {
        #expect(try parse(#""a\ud800b""#) == .loneSurrogateString("a\u{FFFD}b"))
        #expect(try parse(#""\udc00""#) == .loneSurrogateString("\u{FFFD}"))
        // A high surrogate before an escape that is no low one stands alone; the second escape is its own.
        #expect(try parse(#""\ud800\u0041""#) == .loneSurrogateString("\u{FFFD}A"))
        #expect(try parse(#"{"\ud800": 1}"#) == .object(["\u{FFFD}": .number("1")]))
    }

    @Test func readsEncodedSurrogatesAsPythonsSurrogatepassDoes() throws {
        #expect(try JSONParser.parse([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22]) == .loneSurrogateString("a\u{FFFD}"))
        #expect(failure([0x22, 0xED, 0xA0, 0x22])?.reason == "Invalid UTF-8 in string starting at")
    }

    @Test func refusesIntegerLiteralsLongerThanPythonReads() throws {
        let limit = String(repeating: "1", count: Lax.maxIntegerDigits)
        #expect(try parse("-" + limit) == .number("-" + limit))
        #expect(try parse(limit + "1.5") == .number(limit + "1.5"))
        let error = failure(Array(("[" + limit + "1]").utf8))
        #expect(error?.tooManyDigits == true && error?.offset == 1)
    }

    @Test func limitsNestingDepthInsteadOfOverflowingTheStack() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(failure(Array(deep.utf8))?.reason == "Nesting deeper than \(JSONParser.defaultMaxDepth) levels")
        let allowed = String(repeating: "[", count: JSONParser.defaultMaxDepth) + String(repeating: "]", count: JSONParser.defaultMaxDepth)
        #expect(throws: Never.self) { try parse(allowed) }
    }
}
