/// An HTTP request as the web server handed it over: nothing here knows how it travelled (FastCGI)
/// or what it means (routes).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path exactly as the client sent it, still percent-encoded, without the query.
    public var rawPath: String
    /// The query string exactly as sent, without the leading `?`.
    public var rawQuery: String
    public var contentType: String?
    public var body: [UInt8]
    /// Set when the body cannot be used as it arrived; the body is then empty.
    public var bodyProblem: BodyProblem?
    /// The web server's id of this client request (nginx's `$request_id`: 32 hexadecimal digits), the same
    /// on every attempt the web server makes; nil when it sent none, or something else.
    public var requestID: String?
    /// The conditional request headers (RFC 9110 §13.1) as sent; nil when absent.
    public var ifMatch: String?
    public var ifNoneMatch: String?

    public init(
        method: String, rawPath: String, rawQuery: String = "", contentType: String? = nil,
        body: [UInt8] = [], bodyProblem: BodyProblem? = nil, requestID: String? = nil, ifMatch: String? = nil,
        ifNoneMatch: String? = nil
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.contentType = contentType
        self.body = body
        self.bodyProblem = bodyProblem
        self.requestID = requestID.flatMap { Self.isRequestID($0) ? $0 : nil }
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
    }

    /// 32 hexadecimal digits, as nginx makes them: what PostgreSQL reads as a uuid.
    static func isRequestID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }
    }

    /// Splits a request URI (`/notes/?skip=1`) into path and query.
    public init(
        method: String, requestURI: String, contentType: String? = nil, body: [UInt8] = [], bodyProblem: BodyProblem? = nil,
        requestID: String? = nil, ifMatch: String? = nil, ifNoneMatch: String? = nil
    ) {
        let path: Substring
        let query: Substring
        // The first '?' byte: as a Character, "?" followed by a combining mark would not be "?".
        let utf8 = requestURI.utf8
        if let mark = utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = Substring(utf8[..<mark])
            query = Substring(utf8[utf8.index(after: mark)...])
        } else {
            path = requestURI[...]
            query = ""
        }
        self.init(
            method: method, rawPath: String(path), rawQuery: String(query), contentType: contentType,
            body: body, bodyProblem: bodyProblem, requestID: requestID, ifMatch: ifMatch, ifNoneMatch: ifNoneMatch
        )
    }
}

/// Why a request's body cannot be used.
public enum BodyProblem: Sendable, Equatable {
    /// More than the transport accepts was announced or sent.
    case tooLarge
    /// The announced length is not a length (CGI's CONTENT_LENGTH is digits only).
    case invalidLength
    /// Fewer bytes than announced arrived before the body ended.
    case incomplete
}
