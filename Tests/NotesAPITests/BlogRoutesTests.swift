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
        #expect(client.execute("GET", "/authors?completed=maybe&take=5").status == 200)
    }

    @Test func withoutTakeTheWholeCollectionIsStreamedInOneStatement() {
        runner.on("author_all", rows: Fixtures.page(.author, (1...3).map { Fixtures.author($0) }, total: 3))
        let response = client.execute("GET", "/authors")
        #expect(response.produced && !response.brokeOff)
        #expect(response.status == 200)
        #expect(response.body == "[" + (1...3).map { Fixtures.authorJSON($0) }.joined(separator: ",") + "]")
        #expect(response.header("X-Total-Count") == "3")
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("Content-Length") == nil)
        #expect(runner.statements == ["stream author_all(0)"])
    }

    @Test func aLargeCollectionGoesOutInPiecesOfBoundedSize() {
        let count = 2_000
        runner.on("article_all", rows: Fixtures.page(.article, (1...Int64(count)).map { Fixtures.article($0) }, total: Int64(count)))
        let writer = CapturingWriter()
        let responses = client.application.respond(to: [client.request("GET", "/articles?skip=0")])
        #expect(responses[0].producer?.produce(writer) == true)
        #expect(writer.pieces > 1)
        #expect(writer.body == Array(("[" + (1...Int64(count)).map { Fixtures.articleJSON($0) }.joined(separator: ",") + "]").utf8))
    }

    @Test func anEmptyCollectionIsAnEmptyArrayWithTotalZero() {
        runner.on("author_all", rows: Fixtures.page(.author, [], total: 0))
        let response = client.execute("GET", "/authors/")
        #expect(response.body == "[]")
        #expect(response.header("X-Total-Count") == "0")
        #expect(runner.statements == ["stream author_all(0)"])
    }

    @Test func pastTheEndTheTotalIsCounted() {
        runner.on("author_all", rows: Fixtures.page(.author, [], total: 0))
        runner.on("author_count", rows: Rows(columnCount: 1, values: [["4"]]))
        let response = client.execute("GET", "/authors?skip=10")
        #expect(response.body == "[]")
        #expect(response.header("X-Total-Count") == "4")
        #expect(runner.statements == ["stream author_all(10)", "author_count()"])
    }

    @Test func aFailureBeforeTheFirstRowIsAnsweredAsAnyOther() {
        runner.on("author_all", failure: .unavailable("down"))
        let response = client.execute("GET", "/authors")
        #expect(!response.brokeOff)
        #expect(response.status == 503)
        #expect(response.body == #"{"detail":"Database unavailable"}"#)
        #expect(response.header("Retry-After") == "1")
    }

    @Test func aFailureAfterTheFirstRowBreaksTheResponseOff() {
        runner.on("author_all", rows: Fixtures.page(.author, (1...3).map { Fixtures.author($0) }, total: 3))
        runner.streamBreaksAfterRows = 2
        let response = client.execute("GET", "/authors")
        #expect(response.brokeOff)
        #expect(response.status == 200)
    }

    @Test func takeStillPagesAndIsBounded() {
        runner.on("article_page", rows: Fixtures.page(.article, [Fixtures.article(1)], total: 9))
        let response = client.execute("GET", "/articles?skip=0&take=1")
        #expect(response.body == "[\(Fixtures.articleJSON(1))]")
        #expect(response.header("X-Total-Count") == "9")
        #expect(client.execute("GET", "/articles?take=101").status == 422)
        #expect(client.execute("GET", "/articles?take=0").status == 422)
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
        #expect(runner.statements == ["author_delete(2, NULL)"])
    }

    @Test func anArticleAddedDuringTheDeleteIsDeletedByASecondStatement() {
        runner.on("author_delete") { _, attempt in
            attempt == 0
                ? .finished(.failure(Fixtures.foreignKeyViolation("author_delete")))
                : .finished(.success(Rows(columnCount: 1, values: [["2"]])))
        }
        #expect(client.execute("DELETE", "/authors/2").status == 204)
        #expect(runner.statements == ["author_delete(2, NULL)", "author_delete(2, NULL)"])
    }

    @Test func articlesAddedDuringBothAttemptsAnswer409() {
        runner.on("author_delete", failure: Fixtures.foreignKeyViolation("author_delete"))
        let response = client.execute("DELETE", "/authors/2")
        #expect(response.status == 409)
        #expect(response.body == #"{"detail":"Articles were being added to this author: try again"}"#)
        #expect(runner.statements.count == 2)
    }

    @Test func deleteOfAMissingAuthorAnswers404() {
        runner.on("author_delete", rows: .none)
        #expect(client.execute("DELETE", "/authors/2").body == #"{"detail":"Author does not exist"}"#)
    }

    @Test func anotherFailureOfTheAuthorDeleteIsNotAConflict() {
        runner.on(
            "author_delete",
            failure: .statementFailed(statement: "author_delete", sqlState: SQLState(rawValue: "42501"), message: "denied"))
        #expect(client.execute("DELETE", "/authors/2").status == 500)
    }

    @Test func healthcheckAnswersAsTheBlogExampleWithoutTheDatabase() {
        runner.pingFailure = .unavailable("down")
        let response = client.execute("GET", "/healthcheck")
        #expect(response.status == 200)
        #expect(response.body == #"{"status":"ok"}"#)
        #expect(runner.statements.isEmpty)
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
