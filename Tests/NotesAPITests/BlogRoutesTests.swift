import NotesStore
import NotesTesting
import Testing

/// `/authors` and `/articles` in the process, against a fake statement runner.
@Suite struct BlogRoutesTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    @Test func authorsListIsAPageWithTheTotal() {
        runner.on("author_page", rows: Fixtures.page(.author, [Fixtures.author(1)], total: 1))
        let response = client.execute("GET", "/authors?take=1")
        #expect(response.body == "[\(Fixtures.authorJSON(1))]")
        #expect(response.header("X-Total-Count") == "1")
        #expect(runner.statements == ["author_page(0, 1)"])
    }

    @Test func authorsListTakesNoFilter() {
        runner.on("author_page", rows: Fixtures.page(.author, [], total: 0))
        #expect(client.execute("GET", "/authors?completed=maybe").status == 200)
    }

    @Test func createAuthorAnswers201() {
        runner.on("author_insert", rows: .of(.author, [Fixtures.author(2)]))
        let response = client.execute("POST", "/authors", json: #"{"first_name": "Ada", "last_name": "Lovelace"}"#)
        #expect(response.status == 201)
        #expect(response.body == Fixtures.authorJSON(2))
        #expect(runner.statements == ["author_insert(Ada, Lovelace, NULL)"])
    }

    @Test func createAuthorNeedsBothNames() {
        let response = client.execute("POST", "/authors", json: #"{"first_name": "Ada"}"#)
        #expect(response.body == #"{"detail":[{"type":"missing","loc":["body","last_name"],"msg":"Field required","input":{"first_name":"Ada"}}]}"#)
    }

    @Test func getAuthor() {
        runner.on("author_select", rows: .of(.author, [Fixtures.author(2)]))
        #expect(client.execute("GET", "/authors/2/").body == Fixtures.authorJSON(2))
    }

    @Test func aMissingAuthorHasTheExamplesMessage() {
        runner.on("author_select", rows: .none)
        let response = client.execute("GET", "/authors/2")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Author does not exist"}"#)
    }

    @Test func deleteAuthorAnswers204WithoutBodyOrContentType() {
        runner.on("author_delete", rows: Rows(columnCount: 1, values: [["2"]]))
        let response = client.execute("DELETE", "/authors/2")
        #expect(response.status == 204)
        #expect(response.body == "")
        #expect(response.header("Content-Type") == nil)
    }

    @Test func deleteOfAnAuthorWithArticlesAnswers409() {
        runner.on("author_delete", failure: Fixtures.foreignKeyViolation("author_delete"))
        let response = client.execute("DELETE", "/authors/2")
        #expect(response.status == 409)
        #expect(response.body == #"{"detail":"Author has articles: delete them first"}"#)
    }

    @Test func deleteOfAMissingAuthorAnswers404() {
        runner.on("author_delete", rows: .none)
        #expect(client.execute("DELETE", "/authors/2").body == #"{"detail":"Author does not exist"}"#)
    }

    @Test func anotherFailureOfTheAuthorDeleteIsNotAConflict() {
        runner.on("author_delete", failure: .statementFailed(statement: "author_delete", sqlState: SQLState(rawValue: "42501"), message: "denied"))
        #expect(client.execute("DELETE", "/authors/2").status == 500)
    }

    @Test func createArticleAnswers201() {
        runner.on("article_insert", rows: .of(.article, [Fixtures.article(5)]))
        let response = client.execute("POST", "/articles", json: #"{"title": "On engines", "content": "Notes", "author_id": 1}"#)
        #expect(response.status == 201)
        #expect(response.body == Fixtures.articleJSON(5))
        #expect(runner.statements == ["article_insert(On engines, Notes, 1, NULL)"])
    }

    @Test func anArticleOfAnUnknownAuthorAnswers404() {
        runner.on("article_insert", failure: Fixtures.foreignKeyViolation("article_insert"))
        let response = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": 9}"#)
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Author does not exist"}"#)
    }

    @Test func anAuthorIDWrittenAsAnIntegralFloatIsThatInteger() {
        runner.on("article_insert", rows: .of(.article, [Fixtures.article(5, author: 7)]))
        _ = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": 7.0}"#)
        #expect(runner.statements == ["article_insert(t, c, 7, NULL)"])
    }

    @Test func anAuthorIDWithAFractionIsRefused() {
        let response = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": 7.5}"#)
        #expect(response.body == #"{"detail":[{"type":"int_from_float","loc":["body","author_id"],"msg":"Input should be a valid integer, got a number with a fractional part","input":7.5}]}"#)
    }

    @Test func anAuthorIDThatIsNoIntegerIsRefused() {
        let response = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": "seven"}"#)
        #expect(response.body == #"{"detail":[{"type":"int_parsing","loc":["body","author_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"seven"}]}"#)
    }

    @Test func anAuthorIDInAStringIsRead() {
        runner.on("article_insert", rows: .of(.article, [Fixtures.article(5)]))
        let response = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": " 7 "}"#)
        #expect(response.status == 201)
        #expect(runner.statements.first?.hasPrefix("article_insert(t, c, 7,") == true)
    }

    @Test func anAuthorIDNoAuthorCanHaveIsTheAuthorsAbsence() {
        let response = client.execute("POST", "/articles", json: #"{"title": "t", "content": "c", "author_id": 99999999999999999999}"#)
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Author does not exist"}"#)
        #expect(runner.statements.isEmpty)
    }

    @Test func getArticle() {
        runner.on("article_select", rows: .of(.article, [Fixtures.article(5)]))
        let response = client.execute("GET", "/articles/5")
        #expect(response.status == 200)
        #expect(response.body == Fixtures.articleJSON(5))
    }

    @Test func aMissingArticleHasTheExamplesMessage() {
        runner.on("article_select", rows: .none)
        #expect(client.execute("GET", "/articles/5").body == #"{"detail":"Article does not exist"}"#)
    }

    @Test func deleteArticleAnswers204() {
        runner.on("article_delete", rows: Rows(columnCount: 1, values: [["5"]]))
        #expect(client.execute("DELETE", "/articles/5").status == 204)
    }

    @Test func deleteOfAMissingArticleAnswers404() {
        runner.on("article_delete", rows: .none)
        #expect(client.execute("DELETE", "/articles/5").status == 404)
    }

    @Test func articlesListIsAPage() {
        runner.on("article_page", rows: Fixtures.page(.article, [Fixtures.article(1), Fixtures.article(2)], total: 2))
        let response = client.execute("GET", "/articles/?skip=0&take=2")
        #expect(response.body == "[\(Fixtures.articleJSON(1)),\(Fixtures.articleJSON(2))]")
        #expect(response.header("X-Total-Count") == "2")
    }

    @Test func articlesCannotBeReplaced() {
        let response = client.execute("PUT", "/articles/5", json: "{}")
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, DELETE")
    }
}
