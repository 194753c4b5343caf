/// A parsed JSON document. Numbers keep their literal text, so nothing is lost to overflow or rounding
/// before a validator has looked at them; objects keep their members in order, duplicates included.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    /// A string with escaped lone surrogates, which Python reads (and FastAPI takes where it ignores the field)
    /// but a Swift string cannot hold: U+FFFD stands in each one's place.
    case loneSurrogateString(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// Object members in document order. Lookup returns the last member with a key, as Python's json module
/// (and so FastAPI) does with duplicate keys.
public struct JSONObject: Sendable, Equatable {
    public var members: [Member]

    public struct Member: Sendable, Equatable {
        public let key: String
        public let value: JSONValue
    }

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { Member(key: $0.0, value: $0.1) })
    }
}
