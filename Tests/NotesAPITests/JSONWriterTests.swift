import Testing
@testable import NotesAPI
import JSONOutput

@Suite struct JSONWriterTests {
    private func written(_ value: JSONValue) -> String {
        var writer = JSONWriter()
        writer.value(value)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(written(.string("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}")) == #""a\"b\\c\n\r\t\b\f\u0001\u001f""#)
    }

    @Test func keepsTheRunsAroundEachEscape() {
        #expect(written(.string("")) == #""""#)
        #expect(written(.string("plain text")) == #""plain text""#)
        #expect(written(.string("\"lead, mid\u{0}dle, trail\\")) == #""\"lead, mid\u0000dle, trail\\""#)
        #expect(written(.string("é\n\n🎉")) == #""é\n\n🎉""#)
    }

    @Test func writesUnicodeAsUTF8Unchanged() {
        let text = "héllo 世界 🎉 e\u{301} \u{2028}"
        #expect(written(.string(text)) == "\"\(text)\"")
    }

    @Test func writesObjectsAndArraysInOrder() {
        #expect(written(.object(["b": .number("1"), "a": .array([.null, .bool(true), .string("x")])]))
            == #"{"b":1,"a":[null,true,"x"]}"#)
        #expect(written(.array([])) == "[]")
        #expect(written(.object([:])) == "{}")
    }

    @Test(arguments: [
        #"{"text":"x\u0000y","completed":false,"n":-1.5e-3,"nested":[{"a":null}]}"#,
        #"["\"\\\n🎉",true,false,null,0,123456789012345678901234567890]"#,
        #"{"k":1,"k":2}"#,
    ])
    func roundTripsValidDocuments(text: String) throws {
        let value = try JSONParser.parse(Array(text.utf8))
        #expect(try JSONParser.parse(Array(written(value).utf8)) == value)
        #expect(written(value) == text)
    }
}
