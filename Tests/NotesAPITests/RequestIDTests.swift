import HTTPMessages
import Testing

/// The web server's request id reaches the stores only when it is what nginx makes, 32 hexadecimal digits,
/// which PostgreSQL reads as a uuid; anything else is dropped rather than failing the request.
struct RequestIDTests {
    @Test(arguments: ["0123456789abcdef0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF"])
    func keepsThirtyTwoHexadecimalDigits(_ id: String) {
        #expect(HTTPRequest(method: "POST", requestURI: "/notes/", requestID: id).requestID == id)
    }

    @Test(arguments: [
        "", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0", "0123456789abcdef0123456789abcdeg",
        "01234567-89ab-cdef-0123-456789abcdef", "0123456789abcdef0123456789abcd\u{E9}", "'; DROP TABLE notes; --",
    ])
    func dropsAnythingElse(_ id: String) {
        #expect(HTTPRequest(method: "POST", requestURI: "/notes/", requestID: id).requestID == nil)
    }
}
