import NotesStore
import NotesTesting
import Testing

/// `q` (full-text search) and `order` on the lists, in the process, against a fake statement runner: which
/// statement each combination runs, and the 422 of an unknown order in FastAPI's shape for a `Literal`.
@Suite struct SearchOrderTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    @Test func aSearchRunsTheSearchStatementWithTheWords() {
        runner.on("note_page_search", rows: Fixtures.page(.note, [Fixtures.note(2, "milk")], total: 1))
        let response = client.execute("GET", "/notes/?q=%22buy%20milk%22%20or%20bread%20-cheese")
        #expect(response.status == 200)
        #expect(response.body == "[\(Fixtures.noteJSON(2, "milk"))]")
        #expect(response.header("X-Total-Count") == "1")
        #expect(runner.statements == [#"note_page_search(0, 20, "buy milk" or bread -cheese)"#])
    }

    @Test func aSearchCombinesWithCompletedPagingAndOrder() {
        runner.on("note_page_completed_search_by_updated_at_desc", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count_completed_search", rows: Fixtures.count(7))
        let response = client.execute("GET", "/notes/?q=milk&completed=true&order=-updated_at&skip=40&take=5")
        #expect(response.header("X-Total-Count") == "7")
        #expect(runner.statements == ["note_page_completed_search_by_updated_at_desc(40, 5, t, milk)", "note_count_completed_search(t, milk)"])
    }

    @Test func aSearchPastTheEndCountsTheMatches() {
        runner.on("note_page_search", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count_search", rows: Fixtures.count(3))
        let response = client.execute("GET", "/notes/?q=milk&skip=20")
        #expect(response.header("X-Total-Count") == "3")
        #expect(runner.statements == ["note_page_search(20, 20, milk)", "note_count_search(milk)"])
    }

    @Test(arguments: ["q=", "q=%20%09", "q"])
    func anEmptyOrBlankSearchIsNoSearch(_ query: String) {
        runner.on("note_page", rows: Fixtures.page(.note, [], total: 0))
        #expect(client.execute("GET", "/notes/?\(query)").status == 200)
        #expect(runner.statements == ["note_page(0, 20)"])
    }

    @Test(arguments: [
        ("id", "note_page"), ("-id", "note_page_by_id_desc"), ("created_at", "note_page_by_created_at"),
        ("-created_at", "note_page_by_created_at_desc"), ("updated_at", "note_page_by_updated_at"),
        ("-updated_at", "note_page_by_updated_at_desc"), ("text", "note_page_by_text"), ("-text", "note_page_by_text_desc"),
    ])
    func everyOrderHasItsStatement(_ order: String, _ statement: String) {
        runner.on(statement, rows: Fixtures.page(.note, [Fixtures.note(1)], total: 1))
        #expect(client.execute("GET", "/notes/?order=\(order)").status == 200)
        #expect(runner.statements == ["\(statement)(0, 20)"])
    }

    @Test func theCompletedFilterKeepsItsOwnStatementPerOrder() {
        runner.on("note_page_completed_by_text", rows: Fixtures.page(.note, [], total: 0))
        _ = client.execute("GET", "/notes/?completed=false&order=text")
        #expect(runner.statements == ["note_page_completed_by_text(0, 20, f)"])
    }

    @Test func anUnknownOrderIsALiteralErrorListingTheAllowedValues() {
        let response = client.execute("GET", "/notes/?order=priority")
        #expect(response.status == 422)
        #expect(response.body == """
            {"detail":[{"type":"literal_error","loc":["query","order"],"msg":"Input should be 'id', '-id', 'created_at', \
            '-created_at', 'updated_at', '-updated_at', 'text' or '-text'","input":"priority","ctx":{"expected":"'id', '-id', \
            'created_at', '-created_at', 'updated_at', '-updated_at', 'text' or '-text'"}}]}
            """)
        #expect(runner.statements.isEmpty)
    }

    @Test func anOrderIsMatchedExactly() {
        for order in ["ID", "%2Bid", "id%20", "--id", "-", ""] {
            #expect(client.execute("GET", "/notes/?order=\(order)").status == 422, "\(order)")
        }
    }

    @Test func anUnknownOrderIsReportedAfterTheOtherQueryProblemsInDeclarationOrder() {
        let response = client.execute("GET", "/notes/?order=x&take=0&completed=maybe")
        #expect(response.status == 422)
        #expect(response.body.hasPrefix(#"{"detail":[{"type":"greater_than_equal","loc":["query","take"]"#))
        #expect(response.body.contains(#"{"type":"bool_parsing","loc":["query","completed"]"#))
        #expect(response.body.hasSuffix(#""ctx":{"expected":"'id', '-id', 'created_at', '-created_at', 'updated_at', '-updated_at', 'text' or '-text'"}}]}"#))
    }

    @Test func authorsOfferTheirOwnOrders() {
        runner.on("author_all_by_last_name_desc", rows: Fixtures.page(.author, [Fixtures.author(1)], total: 1))
        _ = client.execute("GET", "/authors?order=-last_name")
        #expect(runner.statements == ["stream author_all_by_last_name_desc(0)"])
        let refused = client.execute("GET", "/authors?order=text")
        #expect(refused.status == 422)
        #expect(refused.body.contains(#""ctx":{"expected":"'id', '-id', 'created_at', '-created_at', 'updated_at', '-updated_at', 'last_name', '-last_name', 'first_name' or '-first_name'"}"#))
    }

    @Test func authorsHaveNoSearchAndIgnoreQ() {
        runner.on("author_page", rows: Fixtures.page(.author, [], total: 0))
        _ = client.execute("GET", "/authors?q=smith&take=5")
        #expect(runner.statements == ["author_page(0, 5)"])
    }

    @Test func articlesAreSearchedOverTitleAndContentAsAPageOrAsAWholeCollection() {
        runner.on("article_page_search_by_title", rows: Fixtures.page(.article, [Fixtures.article(1)], total: 1))
        _ = client.execute("GET", "/articles?q=swift&order=title&take=5")
        runner.on("article_all_search", rows: Fixtures.page(.article, [Fixtures.article(1)], total: 1))
        let whole = client.execute("GET", "/articles?q=swift")
        #expect(whole.header("X-Total-Count") == "1")
        #expect(runner.statements == ["article_page_search_by_title(0, 5, swift)", "stream article_all_search(0, swift)"])
    }

    @Test func aSearchedCollectionPastTheEndCountsTheMatches() {
        runner.on("article_all_search_by_author_id_desc", rows: Fixtures.page(.article, [], total: 0))
        runner.on("article_count_search", rows: Fixtures.count(2))
        let response = client.execute("GET", "/articles?q=swift&skip=9&order=-author_id")
        #expect(response.body == "[]")
        #expect(response.header("X-Total-Count") == "2")
        #expect(runner.statements == ["stream article_all_search_by_author_id_desc(9, swift)", "article_count_search(swift)"])
    }
}
