// fuzz-query-path: a request line's method and URI through what every request goes through — the split of
// REQUEST_URI into path and query, the service's route table (percent-decoding of segments, the optional
// trailing slash, 404/405), the path ids, the query reader (skip, take, completed) — with the integer
// parsing compared to a reference, and percent-decoding checked by round trips.

import FuzzSupport
import HTTPMessages
@testable import NotesAPI

/// The first input byte picks the method (the last entry is deliberately not one the router knows).
let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"]
let idNames: Set<String> = ["note_id", "author_id", "article_id"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryPath(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard let selector = input.first else { return 0 }
    let method = methods[Int(selector) % methods.count]
    // As FastCGIResponder reads REQUEST_URI: String(cString:), which repairs invalid UTF-8 the same way.
    let uri = String(decoding: input.dropFirst(), as: UTF8.self)
    let request = HTTPRequest(method: method, requestURI: uri)

    // The split: path before the first '?', query after it, nothing lost.
    require(!request.rawPath.utf8.contains(UInt8(ascii: "?")), "path keeps a '?'")
    let rejoined = uri.utf8.contains(UInt8(ascii: "?")) ? request.rawPath + "?" + request.rawQuery : request.rawPath
    require(Array(rejoined.utf8) == Array(uri.utf8), "path and query do not add up to the URI")

    checkRoute(method: method, path: request.rawPath)
    checkQuery(request)
    checkPercentDecoding(Array(uri.utf8))
    return 0
}

func checkRoute(method: String, path: String) {
    let match = NotesApplication.router.match(method: method, rawPath: path)
    switch match {
    case .notFound:
        break
    case .methodNotAllowed(let allowed):
        require(!allowed.isEmpty && !allowed.contains(method), "405 for \(method) with Allow \(allowed)")
    case .found(_, let parameters):
        for (name, value) in parameters {
            require(!value.isEmpty, "empty path parameter \(name)")
            // The path is decoded before it is split, as Starlette routes it: %2F is a separator too.
            require(!value.utf8.contains(UInt8(ascii: "/")), "path parameter \(name) holds a '/'")
            require(idNames.contains(name), "unexpected path parameter \(name)")
            let result = IntegerParameter.id(value, location: [.key("path"), .key(name)])
            checkLaxInteger(value, result)
            if case .failure(let issue) = result {
                require(issue.location == [.key("path"), .key(name)], "id issue at \(issue.location)")
                checkResponse([issue])
            }
        }
    }
    // The trailing slash is optional: /x and /x/ are one route (and "/x//" is not "/x/").
    if path.utf8.first == UInt8(ascii: "/"), percentDecoded(path).utf8.last != UInt8(ascii: "/") {
        let slashed = NotesApplication.router.match(method: method, rawPath: path + "/")
        require(sameOutcome(match, slashed), "\(describe(path.utf8)) and the same with '/' match differently")
    }
}

func sameOutcome(_ a: Routes.Match, _ b: Routes.Match) -> Bool {
    switch (a, b) {
    case (.notFound, .notFound): true
    case (.methodNotAllowed(let x), .methodNotAllowed(let y)): x == y
    case (.found(_, let x), .found(_, let y)): x == y
    default: false
    }
}

/// Properties of pydantic's lax reading of an integer string: a plain `[+-]?digits` is its value (or beyond 64
/// bits); whatever else is accepted, its digits with whitespace, signs, underscores and a `.0…` tail taken
/// away are the value's; refusals are `int_parsing` or, for very long numbers, `int_parsing_size`.
func checkLaxInteger(_ raw: String, _ result: Result<Int64?, ValidationIssue>) {
    switch (result, ReferenceInteger(raw)) {
    case (.success(let id?), .value(let expected)):
        require(id == expected, "id \(describe(raw.utf8)) read as \(id)")
    case (.success(nil), .belowInt64), (.success(nil), .aboveInt64):
        break
    case (.success(let id), .value), (.success(let id), .belowInt64), (.success(let id), .aboveInt64):
        require(false, "id \(describe(raw.utf8)) read as \(String(describing: id))")
    case (.success(let id?), .notAnInteger):
        let kept = raw.unicodeScalars.filter { ("0"..."9").contains($0) || $0 == "-" }
        var digits = String(String.UnicodeScalarView(kept))
        // pydantic keeps a minus met among the leading zeros ("0-6" is -6).
        if let minus = digits.firstIndex(of: "-"), minus != digits.startIndex, digits[..<minus].allSatisfy({ $0 == "0" }) {
            digits = String(digits[minus...])
        }
        if let dot = raw.firstIndex(of: ".") {
            let zeros = raw[raw.index(after: dot)...].filter { $0 == "0" }.count
            digits = String(digits.dropLast(zeros))
        }
        require(ReferenceInteger(digits) == .value(id), "id \(describe(raw.utf8)) read as \(id)")
    case (.success(nil), .notAnInteger):
        break
    case (.failure(let issue), .notAnInteger):
        require(["int_parsing", "int_parsing_size"].contains(issue.type), "id \(describe(raw.utf8)): \(issue.type)")
    case (.failure(let issue), let expected):
        require(issue.type == "int_parsing_size", "id \(describe(raw.utf8)): \(issue.type), reference says \(expected)")
    }
}

func expectedType(_ reference: ReferenceInteger, lowest: Int64, highest: Int64) -> String? {
    switch reference {
    case .notAnInteger: nil
    case .belowInt64: "greater_than_equal"
    case .aboveInt64: "less_than_equal"
    case .value(let value) where value < lowest: "greater_than_equal"
    case .value(let value) where value > highest: "less_than_equal"
    case .value: nil
    }
}

func checkQuery(_ request: HTTPRequest) {
    let items = queryItems(request.rawQuery)
    let pieces = request.rawQuery.utf8.split(separator: UInt8(ascii: "&"))
    require(items.count == pieces.count, "\(items.count) query items from \(pieces.count) pieces")
    func lastValue(_ name: String) -> String? { items.last { Array($0.name.utf8) == Array(name.utf8) }?.value }

    // The list of notes declares skip, take and completed: its inputs are what every request to it gets.
    var issues: [ValidationIssue] = []
    var skip: Int64 = 0, take: Int64 = 20
    var completed: Bool?
    do {
        let inputs = try NotesEndpoints.list.inputs(of: request, path: [:])
        skip = inputs.integer(Paging.skip)
        take = inputs.integer(Paging.take)
        completed = inputs.bool(NotesEndpoints.completed)
    } catch {
        guard case .validation(let found) = error else {
            require(false, "the list's inputs failed with \(error)")
            return
        }
        issues = found
    }
    let valid = issues.isEmpty
    var expected: [String] = []
    // Strings pydantic reads by its cleaning rules are left to checkLaxInteger; these are the plain ones.
    func plainIssue(_ name: String) -> [String] {
        issues.filter { $0.location == [.key("query"), .key(name)] }.map { name + ":" + $0.type }
    }
    if let raw = lastValue("skip") {
        if case .notAnInteger = ReferenceInteger(raw) {
            expected += plainIssue("skip")
        } else if let type = expectedType(ReferenceInteger(raw), lowest: 0, highest: .max) {
            expected.append("skip:" + type)
        } else if case .value(let value) = ReferenceInteger(raw) {
            require(!valid || skip == value, "skip=\(describe(raw.utf8)) read as \(skip)")
        }
    } else {
        require(skip == 0, "skip defaults to 0, got \(skip)")
    }
    if let raw = lastValue("take") {
        if case .notAnInteger = ReferenceInteger(raw) {
            expected += plainIssue("take")
        } else if let type = expectedType(ReferenceInteger(raw), lowest: 1, highest: 100) {
            expected.append("take:" + type)
        } else if case .value(let value) = ReferenceInteger(raw) {
            require(!valid || take == value, "take=\(describe(raw.utf8)) read as \(take)")
        }
    } else {
        require(take == 20, "take defaults to 20, got \(take)")
    }
    if let raw = lastValue("completed") {
        let truthy = ["true", "1", "yes", "on", "t", "y"], falsy = ["false", "0", "no", "off", "f", "n"]
        // ASCII letters only: pydantic compares with eq_ignore_ascii_case.
        let word = String(decoding: raw.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
        if truthy.contains(word) {
            require(!valid || completed == true, "completed=\(raw) read as \(String(describing: completed))")
        } else if falsy.contains(word) {
            require(!valid || completed == false, "completed=\(raw) read as \(String(describing: completed))")
        } else {
            expected.append("completed:bool_parsing")
        }
    } else {
        require(completed == nil, "no completed parameter read as \(String(describing: completed))")
    }
    let got = issues.map { issue -> String in
        guard issue.location.count == 2, issue.location[0] == .key("query"), case .key(let name) = issue.location[1]
        else { return "bad location \(issue.location)" }
        return name + ":" + issue.type
    }
    require(got == expected, "query issues \(got), expected \(expected)")
    require((0...Int64.max).contains(skip) && (1...100).contains(take), "page out of range: \(skip), \(take)")
    checkResponse(issues)
}

/// Decoding never fails and gives back exactly the bytes of a fully escaped string; text without '%' (and,
/// in a query, without '+') is left as it is.
func checkPercentDecoding(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let utf8 = Array(text.utf8)
    require(Array(percentDecoded(percentEncodedEverything(utf8)).utf8) == utf8, "path round trip of \(describe(utf8))")
    require(Array(percentDecoded(percentEncodedEverything(utf8, plusForSpace: true), plusAsSpace: true).utf8) == utf8,
            "query round trip of \(describe(utf8))")
    if !utf8.contains(UInt8(ascii: "%")) {
        require(Array(percentDecoded(text).utf8) == utf8, "text without % changed by decoding")
        if !utf8.contains(UInt8(ascii: "+")) {
            require(Array(percentDecoded(text, plusAsSpace: true).utf8) == utf8, "query text without % or + changed")
        }
    }
    // Decoding only ever shortens (each escape is 3 bytes for 1; U+FFFD replaces at least 1 byte with 3, but
    // only bytes that came from escapes can be invalid, and 3 escaped bytes become at most 3).
    require(percentDecoded(text).utf8.count <= utf8.count, "decoding grew \(describe(utf8))")
}

/// A 422 body for these issues is valid JSON with one entry per issue.
func checkResponse(_ issues: [ValidationIssue]) {
    guard !issues.isEmpty else { return }
    let response = ErrorResponses.response(for: APIError.validation(issues))
    guard case .object(let object)? = try? JSONParser.parse(response.body),
          case .array(let details)? = object["detail"], details.count == issues.count
    else {
        require(false, "422 body is not the JSON list of the issues: \(describe(response.body))")
        return
    }
}
