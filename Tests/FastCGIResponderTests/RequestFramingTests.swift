#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import FastCGIResponder

@Suite struct RequestFramingTests {
    @Test(arguments: [
        (nil, 0), ("", 0), ("0", 0), ("17", 17), ("0017", 17), ("9223372036854775807", Int.max),
        ("-5", nil), ("+5", nil), ("abc", nil), ("1e3", nil), (" 5", nil), ("5 ", nil),
        ("18446744073709551616", nil),
    ] as [(String?, Int?)])
    func readsContentLengthAsCGIDigitsOnly(text: String?, length: Int?) {
        #expect(FastCGIResponder.contentLength(text) == length)
    }

    @Test func readsTheAllowlistAsLibfcgiDoes() {
        #expect(FastCGIResponder.peerAllowlist(nil) == nil)
        #expect(FastCGIResponder.peerAllowlist("") == nil)
        let list = FastCGIResponder.peerAllowlist("127.0.0.1, 10.0.0.2,not-an-address")
        #expect(list == [inet_addr("127.0.0.1"), inet_addr("10.0.0.2")])
    }
}
