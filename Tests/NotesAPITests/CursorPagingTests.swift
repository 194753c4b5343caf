import HTTPMessages
@testable import NotesAPI
import NotesStore
import NotesTesting
import Testing

/// Cursor paging (issue 17 point 4) in the process: the cursor's encoding, its refusals (422 in FastAPI's shape),
/// the statements a cursor page runs, and the `Link` of every page that has a next one.
@Suite struct CursorPagingTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    static func cursor(
        _ entity: Entity = .note, order: String = "id", completed: Bool? = nil, search: String? = nil, value: String = "2", id: Int64 = 2
    ) -> ListCursor {
        ListCursor(list: entity.table, order: order, completed: completed, search: search, key: PageKey(value: value, id: id))
    }

    /// The cursor in a response's `Link`, and the link's `take`.
    func next(_ response: TestResponse) -> (cursor: String, take: String)? {
        guard let link = response.header("Link") else { return nil }
        let pattern = #/^<(/[a-z/]*)\?cursor=([A-Za-z0-9_-]+)&take=(\d+)>; rel="next"$/#
        guard let match = link.wholeMatch(of: pattern) else {
            Issue.record("malformed Link: \(link)")
            return nil
        }
        return (String(match.2), String(match.3))
    }

    func body(_ response: TestResponse) -> String { response.body }

    // MARK: the cursor itself

    @Test(arguments: Entity.note.orders)
    func aNoteCursorRoundTripsInEveryOrder(_ order: String) throws {
        let column = order.hasPrefix("-") ? String(order.dropFirst()) : order
        let value = switch column {
        case "id": "41"
        case "text": "buy milk, \"bread\" & ünïcode ✓"
        default: "2026-12-02T10:00:00.123456Z"
        }
        for (completed, search) in [(nil, nil), (true, "milk -bread"), (false, nil), (nil, "\"a phrase\" or b")] as [(Bool?, String?)] {
            let cursor = Self.cursor(order: order, completed: completed, search: search, value: value, id: 41)
            let text = cursor.encoded
            #expect(text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            #expect(try ListCursor(decoding: text, of: .note) == cursor)
        }
    }

    @Test func authorAndArticleCursorsRoundTripInTheirOrders() throws {
        for order in Entity.author.orders {
            let column = order.hasPrefix("-") ? String(order.dropFirst()) : order
            let value = ["created_at", "updated_at"].contains(column) ? "1999-01-31T23:59:59.000001Z" : column == "id" ? "7" : "O'Brien"
            let cursor = Self.cursor(.author, order: order, value: value, id: 7)
            #expect(try ListCursor(decoding: cursor.encoded, of: .author) == cursor)
        }
        for order in Entity.article.orders {
            let value = order.hasSuffix("title") ? "On engines" : "7"
            let cursor = Self.cursor(.article, order: order, search: "engines", value: value, id: 7)
            #expect(try ListCursor(decoding: cursor.encoded, of: .article) == cursor)
        }
    }

    @Test func everyChangedCharacterIsCaughtByTheChecksum() {
        let text = Self.cursor(order: "-text", value: "milk", id: 3).encoded
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for position in text.indices {
            let replacement = alphabet.first { $0 != text[position] }!
            var tampered = text
            tampered.replaceSubrange(position...position, with: String(replacement))
            #expect(throws: ListCursor.Malformed.self) { try ListCursor(decoding: tampered, of: .note) }
        }
        #expect(throws: ListCursor.Malformed.checksum) { try ListCursor(decoding: String(text.dropLast(4)), of: .note) }
        #expect(throws: ListCursor.Malformed.notBase64) { try ListCursor(decoding: text + "=", of: .note) }
        #expect(throws: ListCursor.Malformed.notBase64) { try ListCursor(decoding: "a+b/", of: .note) }
        #expect(throws: ListCursor.Malformed.notBase64) { try ListCursor(decoding: "", of: .note) }
    }

    /// Garbage that passes the checksum (a forger's, or a fuzzer's) is refused or read, never a crash.
    @Test func randomBytesWithARightChecksumAreRefusedOrRead() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3000 {
            var bytes = (0..<Int.random(in: 0..<40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 0 { bytes.insert(ListCursor.version, at: 0) }
            let sum = ListCursor.checksum(bytes)
            bytes += [UInt8(sum >> 24), UInt8(sum >> 16 & 0xFF), UInt8(sum >> 8 & 0xFF), UInt8(sum & 0xFF)]
            _ = try? ListCursor(decoding: Base64URL.encode(bytes), of: .note)
        }
    }

    @Test func aCursorOfAnotherListIsRefused() {
        #expect(throws: ListCursor.Malformed.otherList) { try ListCursor(decoding: Self.cursor(.author).encoded, of: .note) }
    }

    /// A cursor forged with a right checksum still cannot hand PostgreSQL a key it cannot read (a 500).
    @Test(arguments: ["2026-02-30T00:00:00.000000Z", "0000-01-01T00:00:00.000000Z", "2026-12-02 10:00:00", "yesterday", ""])
    func aTimeKeyPostgreSQLCouldNotReadIsRefused(_ value: String) {
        let forged = Self.cursor(order: "created_at", value: value).encoded
        #expect(throws: ListCursor.Malformed.key) { try ListCursor(decoding: forged, of: .note) }
    }

    @Test func anIdKeyMustBeAPositiveInteger() {
        #expect(throws: ListCursor.Malformed.key) { try ListCursor(decoding: Self.cursor(value: "x").encoded, of: .note) }
        #expect(throws: ListCursor.Malformed.key) { try ListCursor(decoding: Self.cursor(value: "1", id: 0).encoded, of: .note) }
    }

    @Test func aLongKeyIsCutAtACharacterBoundary() throws {
        let long = String(repeating: "é", count: 600)
        let cursor = Self.cursor(order: "text", value: long)
        #expect(cursor.key.value.utf8.count == ListCursor.keyLimit)
        #expect(long.hasPrefix(cursor.key.value))
        let odd = Self.cursor(order: "text", value: "x" + long)
        #expect(odd.key.value.utf8.count == ListCursor.keyLimit - 1)
        #expect(try ListCursor(decoding: odd.encoded, of: .note) == odd)
    }

    @Test func base64URLRoundTripsEveryLength() {
        for count in 0..<12 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 97 + 250) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.decode("A") == nil)
        #expect(Base64URL.decode("AA") == [0])
        #expect(Base64URL.decode("AF") == nil)
    }

    // MARK: Link

    @Test func aSkipPageWithRowsAfterItLinksToTheNextByCursor() throws {
        runner.on("note_page_completed_search_by_created_at_desc", rows: Fixtures.page(.note, [Fixtures.note(5), Fixtures.note(4)], total: 9))
        let response = client.execute("GET", "/notes/?order=-created_at&take=2&skip=3&completed=false&q=milk")
        let link = try #require(next(response))
        #expect(response.header("Link")!.hasPrefix("</notes/?cursor="))
        #expect(link.take == "2")
        let cursor = try ListCursor(decoding: link.cursor, of: .note)
        #expect(cursor == Self.cursor(order: "-created_at", completed: false, search: "milk", value: Fixtures.time, id: 4))
    }

    @Test func theLastSkipPageHasNoLink() {
        runner.on("note_page", rows: Fixtures.page(.note, [Fixtures.note(8), Fixtures.note(9)], total: 9))
        let response = client.execute("GET", "/notes/?skip=7&take=2")
        #expect(response.status == 200)
        #expect(response.header("Link") == nil)
    }

    @Test func aCursorPageRunsItsStatementAfterTheKeyAndAsksForOneRowMore() throws {
        let rows = Fixtures.page(.note, [Fixtures.note(5, "b"), Fixtures.note(6, "c"), Fixtures.note(7, "d")], total: 9)
        runner.on("note_page_completed_search_after_by_text", rows: rows)
        let cursor = Self.cursor(order: "text", completed: true, search: "milk", value: "a", id: 4).encoded
        let response = client.execute("GET", "/notes/?cursor=\(cursor)&take=2")
        #expect(response.status == 200)
        #expect(runner.statements == ["note_page_completed_search_after_by_text(a, 3, t, milk, 4)"])
        #expect(response.body == "[\(Fixtures.noteJSON(5, "b", completed: false)),\(Fixtures.noteJSON(6, "c", completed: false))]")
        #expect(response.header("X-Total-Count") == "9")
        let link = try #require(next(response))
        #expect(try ListCursor(decoding: link.cursor, of: .note) == Self.cursor(order: "text", completed: true, search: "milk", value: "c", id: 6))
    }

    @Test func aCursorPageWithoutTheExtraRowIsTheLast() {
        runner.on("note_page_after_by_id_desc", rows: Fixtures.page(.note, [Fixtures.note(1)], total: 9))
        let response = client.execute("GET", "/notes/?cursor=\(Self.cursor(order: "-id").encoded)")
        #expect(runner.statements == ["note_page_after_by_id_desc(2, 21)"])
        #expect(response.status == 200)
        #expect(response.header("Link") == nil)
    }

    @Test func anEmptyCursorPageCountsTheTotal() {
        runner.on("note_page_after", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count", rows: Fixtures.count(4))
        let response = client.execute("GET", "/notes/?cursor=\(Self.cursor().encoded)&take=5")
        #expect(runner.statements == ["note_page_after(2, 6)", "note_count()"])
        #expect(response.body == "[]")
        #expect(response.header("X-Total-Count") == "4")
    }

    @Test func theTagOfAPageTellsWhetherANextPageFollows() {
        let rows = Fixtures.page(.note, [Fixtures.note(1)], total: 9)
        #expect(EntityTags.page(Page(rows: rows, total: 9, hasNext: true), of: .note) != EntityTags.page(Page(rows: rows, total: 9), of: .note))
    }

    @Test func aCursorPageAnswers304ToItsOwnTag() {
        let rows = Fixtures.page(.note, [Fixtures.note(3), Fixtures.note(4)], total: 9)
        runner.on("note_page_after", rows: rows)
        let path = "/notes/?cursor=\(Self.cursor().encoded)&take=1"
        let tag = client.execute("GET", path).header("ETag")!
        #expect(client.execute("GET", path, ifNoneMatch: tag).status == 304)
    }

    @Test func theBlogsListsLinkTheirPagesButNotTheirWholeCollections() throws {
        runner.on("article_page_search_by_title", rows: Fixtures.page(.article, [Fixtures.article(3), Fixtures.article(4)], total: 5))
        let page = client.execute("GET", "/articles?q=engines&order=title&take=2")
        let link = try #require(next(page))
        #expect(try ListCursor(decoding: link.cursor, of: .article) == Self.cursor(.article, order: "title", search: "engines", value: "On engines", id: 4))
        runner.on("article_page_search_after_by_title", rows: Fixtures.page(.article, [Fixtures.article(5)], total: 5))
        let last = client.execute("GET", "/articles?cursor=\(link.cursor)&take=2")
        #expect(last.status == 200)
        #expect(runner.statements.last == "article_page_search_after_by_title(On engines, 3, engines, 4)")
        #expect(last.header("Link") == nil)
        runner.on("author_all", rows: Fixtures.page(.author, [Fixtures.author(1)], total: 1))
        #expect(client.execute("GET", "/authors").header("Link") == nil)
    }

    // MARK: 422

    func issue(_ response: TestResponse) -> String { response.body }

    @Test func aMalformedCursorIsA422InFastAPIsShape() {
        let response = client.execute("GET", "/notes/?cursor=bm90LWEtY3Vyc29y")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"value_error","loc":["query","cursor"],"msg":"Value error, the cursor is damaged or was changed (its checksum does not match)","input":"bm90LWEtY3Vyc29y","ctx":{"error":{}}}]}"#)
        #expect(runner.statements.isEmpty)
    }

    @Test(arguments: [
        ("order=text", "order"), ("completed=false", "completed"), ("completed=true&q=bread", "q"), ("q=bread", "q"), ("order=-id", "order"),
    ])
    func aParameterThatContradictsTheCursorIsA422(_ query: String, _ name: String) {
        let cursor = Self.cursor(order: "id", completed: true, search: "milk").encoded
        let response = client.execute("GET", "/notes/?cursor=\(cursor)&\(query)")
        #expect(response.status == 422)
        #expect(response.body.contains(#""loc":["query","cursor"],"msg":"Value error, the cursor is of a list with another `\#(name)`"#))
        #expect(runner.statements.isEmpty)
    }

    @Test func theCursorsOwnValuesMayBeGivenAgain() {
        runner.on("note_page_completed_search_after", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count_completed_search", rows: Fixtures.count(0))
        let cursor = Self.cursor(order: "id", completed: true, search: "milk").encoded
        let response = client.execute("GET", "/notes/?cursor=\(cursor)&order=id&completed=yes&q=milk&skip=0")
        #expect(response.status == 200)
        #expect(runner.statements.first == "note_page_completed_search_after(2, 21, t, milk)")
    }

    @Test func anEmptyCursorIsTheFirstPage() {
        runner.on("note_page_by_text", rows: Fixtures.page(.note, [], total: 0))
        #expect(client.execute("GET", "/notes/?cursor=&order=text&skip=0").status == 200)
        #expect(runner.statements == ["note_page_by_text(0, 20)"])
    }

    @Test func aCursorWithSkipIsA422() {
        let response = client.execute("GET", "/notes/?cursor=\(Self.cursor().encoded)&skip=20")
        #expect(response.status == 422)
        #expect(response.body.contains("leave out `skip`"))
    }

    @Test func aCursorOnAWholeCollectionWithoutTakeIsA422() {
        let response = client.execute("GET", "/authors?cursor=\(Self.cursor(.author).encoded)")
        #expect(response.status == 422)
        #expect(response.body.contains("a cursor pages with `take`"))
    }

    @Test func aCursorOfAnotherListIsA422() {
        let response = client.execute("GET", "/articles?cursor=\(Self.cursor(.note).encoded)&take=5")
        #expect(response.status == 422)
        #expect(response.body.contains("the cursor is of another list"))
    }

    @Test func aBadCursorIsListedWithTheOtherProblems() {
        let response = client.execute("GET", "/notes/?cursor=%2B%2B&take=0")
        #expect(response.status == 422)
        #expect(response.body.contains(#""loc":["query","take"]"#))
        #expect(response.body.contains(#""loc":["query","cursor"],"msg":"Value error, not a cursor of this API (not base64url)""#))
    }
}
