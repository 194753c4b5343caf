import HTTPMessages
import Testing

/// The one percent-decoder, which the workers' router and the supervisor's status listener share.
@Suite struct PercentDecodingTests {
    @Test(arguments: [
        ("%zz", "%zz"), ("%g1", "%g1"), ("a%2", "a%2"), ("%4", "%4"), ("%", "%"), ("100%", "100%"),
        ("%%41", "%A"), ("%41%", "A%"), ("%2f%2F", "//"), ("a%20b", "a b"),
    ])
    func decodesEscapesAndKeepsMalformedOnes(text: String, expected: String) {
        #expect(percentDecoded(text) == expected)
        #expect(percentDecoded(text, plusAsSpace: true) == expected)
    }

    @Test func plusIsASpaceOnlyInAQuery() {
        #expect(percentDecoded("a+b%2B") == "a+b+")
        #expect(percentDecoded("a+b%2B", plusAsSpace: true) == "a b+")
        #expect(queryItems("q=a+b&c+d=%2B").map { "\($0.name)=\($0.value)" } == ["q=a b", "c d=+"])
    }

    @Test func decodesUTF8OfEveryLength() {
        #expect(percentDecoded("%C3%A9t%C3%A9") == "été")
        #expect(percentDecoded("%E2%82%AC") == "€")
        #expect(percentDecoded("%F0%9F%98%80") == "😀")
        #expect(percentDecoded("été%20€") == "été €")
        #expect(percentDecoded("caf%C3%A9"[...]) == "café")
    }

    /// Bytes that are not UTF-8 become U+FFFD, one for each maximal invalid run, as `String(decoding:as:)` repairs them.
    @Test(arguments: [
        ("%FF", "\u{FFFD}"), ("a%C3", "a\u{FFFD}"), ("%C3%28", "\u{FFFD}("), ("%E2%82", "\u{FFFD}"),
        ("%80%80", "\u{FFFD}\u{FFFD}"), ("%ED%A0%80", "\u{FFFD}\u{FFFD}\u{FFFD}"), ("%C0%AF", "\u{FFFD}\u{FFFD}"),
    ])
    func invalidUTF8BecomesReplacementCharacters(text: String, expected: String) {
        #expect(percentDecoded(text) == expected)
    }

    @Test func textWithoutEscapesIsUnchanged() {
        #expect(percentDecoded("/notes/1") == "/notes/1")
        #expect(percentDecoded("") == "")
        #expect(percentDecoded("e\u{0301}+") == "e\u{0301}+")
    }
}
