import NotesStore
import NotesTesting
import Testing

/// `/notes/` and `/notes/{note_id}/` in the process, against a fake statement runner.
@Suite struct NotesRoutesTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }
    let requestID = "0123456789abcdef0123456789abcdef"

    @Test func listAnswersThePageWithTheTotal() {
        runner.on("note_page", rows: Fixtures.page(.note, [Fixtures.note(1), Fixtures.note(2, "b")], total: 9))
        let response = client.execute("GET", "/notes/")
        #expect(response.status == 200)
        #expect(response.body == "[\(Fixtures.noteJSON(1)),\(Fixtures.noteJSON(2, "b"))]")
        #expect(response.header("X-Total-Count") == "9")
        #expect(response.header("Content-Type") == "application/json")
        #expect(runner.statements == ["note_page(0, 20)"])
    }

    @Test func listPassesSkipAndTake() {
        runner.on("note_page", rows: Fixtures.page(.note, [Fixtures.note(6)], total: 9))
        _ = client.execute("GET", "/notes?skip=5&take=1")
        #expect(runner.statements == ["note_page(5, 1)"])
    }

    @Test func theLastOccurrenceOfAParameterWins() {
        runner.on("note_page", rows: Fixtures.page(.note, [], total: 0))
        _ = client.execute("GET", "/notes?take=1&take=3")
        #expect(runner.statements == ["note_page(0, 3)"])
    }

    @Test func listFilteredByCompletedRunsTheFilteredStatement() {
        runner.on("note_page_completed", rows: Fixtures.page(.note, [Fixtures.note(3, completed: true)], total: 1))
        let response = client.execute("GET", "/notes/?completed=yes")
        #expect(response.body == "[\(Fixtures.noteJSON(3, completed: true))]")
        #expect(runner.statements == ["note_page_completed(0, 20, t)"])
    }

    @Test func aPagePastTheEndCountsTheRows() {
        runner.on("note_page", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count", rows: Fixtures.count(3))
        let response = client.execute("GET", "/notes/?skip=50")
        #expect(response.status == 200)
        #expect(response.body == "[]")
        #expect(response.header("X-Total-Count") == "3")
        #expect(runner.rounds == [["note_page(50, 20)"], ["note_count()"]])
    }

    @Test func aFilteredPagePastTheEndCountsTheMatchingRows() {
        runner.on("note_page_completed", rows: Fixtures.page(.note, [], total: 0))
        runner.on("note_count_completed", rows: Fixtures.count(2))
        let response = client.execute("GET", "/notes/?skip=50&completed=false")
        #expect(response.header("X-Total-Count") == "2")
        #expect(runner.statements == ["note_page_completed(50, 20, f)", "note_count_completed(f)"])
    }

    @Test func anEmptyTableNeedsNoCount() {
        runner.on("note_page", rows: Fixtures.page(.note, [], total: 0))
        let response = client.execute("GET", "/notes/")
        #expect(response.header("X-Total-Count") == "0")
        #expect(runner.statements == ["note_page(0, 20)"])
    }

    @Test func listRefusesTakeAboveTheLimit() {
        let response = client.execute("GET", "/notes/?take=101")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"less_than_equal","loc":["query","take"],"msg":"Input should be less than or equal to 100","input":"101","ctx":{"le":100}}]}"#)
        #expect(runner.statements.isEmpty)
    }

    @Test func listReportsEveryBadParameterAtOnceInTheirOrder() {
        let response = client.execute("GET", "/notes/?completed=maybe&take=0&skip=x")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"int_parsing","loc":["query","skip"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"greater_than_equal","loc":["query","take"],"msg":"Input should be greater than or equal to 1","input":"0","ctx":{"ge":1}},{"type":"bool_parsing","loc":["query","completed"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}"#)
    }

    @Test func createAnswers201WithTheRowWritten() {
        runner.on("note_insert", rows: .of(.note, [Fixtures.note(4)]))
        let response = client.execute("POST", "/notes/", json: #"{"text": "buy milk", "completed": false}"#)
        #expect(response.status == 201)
        #expect(response.body == Fixtures.noteJSON(4))
        #expect(runner.statements == ["note_insert(buy milk, f, NULL)"])
    }

    @Test func createStoresTheRequestID() {
        runner.on("note_insert", rows: .of(.note, [Fixtures.note(4)]))
        _ = client.execute("POST", "/notes", json: #"{"text": "buy milk", "completed": true}"#, requestID: requestID)
        #expect(runner.statements == ["note_insert(buy milk, t, \(requestID))"])
    }

    @Test func createSentAgainAnswersTheRowOfTheFirstAttempt() {
        runner.on("note_insert", rows: .none)
        runner.on("note_select_created", rows: .of(.note, [Fixtures.note(4)]))
        let response = client.execute("POST", "/notes", json: #"{"text": "buy milk", "completed": false}"#, requestID: requestID)
        #expect(response.status == 201)
        #expect(response.body == Fixtures.noteJSON(4))
        #expect(runner.rounds == [["note_insert(buy milk, f, \(requestID))"], ["note_select_created(\(requestID))"]])
    }

    @Test func createSentAgainWhoseRowIsGoneAnswers500() {
        runner.on("note_insert", rows: .none)
        runner.on("note_select_created", rows: .none)
        let response = client.execute("POST", "/notes", json: #"{"text": "a", "completed": false}"#, requestID: requestID)
        #expect(response.status == 500)
        #expect(response.body == #"{"detail":"Internal Server Error"}"#)
    }

    @Test func createRefusesAnEmptyBody() {
        let response = client.execute("POST", "/notes/", json: "")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}"#)
    }

    @Test func createRefusesABodyThatIsNotJSONAsFastAPIDoes() {
        let response = client.execute("POST", "/notes/", json: "text=a", contentType: "application/x-www-form-urlencoded")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"text=a"}]}"#)
    }

    @Test func createTakesAnyJSONMediaType() {
        runner.on("note_insert", rows: .of(.note, [Fixtures.note(4)]))
        let response = client.execute(
            "POST", "/notes/", json: #"{"text": "buy milk", "completed": false}"#, contentType: "application/merge-patch+json; charset=utf-8")
        #expect(response.status == 201)
    }

    @Test func createRefusesMalformedJSONWithItsOffset() {
        let response = client.execute("POST", "/notes/", json: #"{"text": }"#)
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"json_invalid","loc":["body",9],"msg":"JSON decode error","input":{},"ctx":{"error":"Expecting value"}}]}"#)
    }

    @Test func createListsEveryMissingField() {
        let response = client.execute("POST", "/notes/", json: "{}")
        #expect(response.body == #"{"detail":[{"type":"missing","loc":["body","text"],"msg":"Field required","input":{}},{"type":"missing","loc":["body","completed"],"msg":"Field required","input":{}}]}"#)
    }

    @Test func createRefusesFieldsOfTheWrongType() {
        let response = client.execute("POST", "/notes/", json: #"{"text": 5, "completed": "maybe"}"#)
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"string_type","loc":["body","text"],"msg":"Input should be a valid string","input":5},{"type":"bool_parsing","loc":["body","completed"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}"#)
        #expect(runner.statements.isEmpty)
    }

    @Test func createRefusesTextWithNUL() {
        let response = client.execute("POST", "/notes/", json: #"{"text": "a\u0000b", "completed": false}"#)
        #expect(response.status == 422)
        #expect(response.body.contains(#""type":"value_error""#))
    }

    @Test func createRefusesABodyThatIsNotAnObject() {
        let response = client.execute("POST", "/notes/", json: "[1]")
        #expect(response.body == #"{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1]}]}"#)
    }

    @Test func getAnswersTheNote() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7)]))
        let response = client.execute("GET", "/notes/7/")
        #expect(response.status == 200)
        #expect(response.body == Fixtures.noteJSON(7))
        #expect(runner.statements == ["note_select(7)"])
    }

    @Test func getOfAMissingNoteAnswers404() {
        runner.on("note_select", rows: .none)
        let response = client.execute("GET", "/notes/7")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Note not found"}"#)
    }

    @Test func getRefusesAnIDThatIsNotAnInteger() {
        let response = client.execute("GET", "/notes/abc")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"int_parsing","loc":["path","note_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}"#)
    }

    @Test func getOfIDZeroFindsNoNote() {
        runner.on("note_select", rows: .of(.note, []))
        let response = client.execute("GET", "/notes/0")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Note not found"}"#)
    }

    @Test func writesTextWithTheCharactersJSONMustEscape() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(7, "say \"hi\"\n\\ é")]))
        let response = client.execute("GET", "/notes/7")
        #expect(response.body.hasPrefix(#"{"id":7,"text":"say \"hi\"\n\\ é","completed":false"#))
    }

    @Test func putReplacesTheNote() {
        runner.on("note_update", rows: .of(.note, [Fixtures.note(7, "new", completed: true)]))
        let response = client.execute("PUT", "/notes/7", json: #"{"text": "new", "completed": true}"#)
        #expect(response.status == 200)
        #expect(response.body == Fixtures.noteJSON(7, "new", completed: true))
        #expect(runner.statements == ["note_update(7, new, t, NULL)"])
    }

    @Test func putOfAMissingNoteAnswers404() {
        runner.on("note_update", rows: .none)
        let response = client.execute("PUT", "/notes/7", json: #"{"text": "new", "completed": true}"#)
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Note not found"}"#)
    }

    @Test func putReportsThePathAndTheBodyTogether() {
        let response = client.execute("PUT", "/notes/x", json: #"{"text": "new"}"#)
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"int_parsing","loc":["path","note_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"missing","loc":["body","completed"],"msg":"Field required","input":{"text":"new"}}]}"#)
    }

    @Test func putReportsABodyThatIsNotJSONWithTheID() {
        let response = client.execute("PUT", "/notes/x", json: "{}", contentType: "text/plain")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"int_parsing","loc":["path","note_id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"{}"}]}"#)
    }

    @Test func patchSendsOnlyTheFieldsGiven() {
        runner.on("note_patch", rows: .of(.note, [Fixtures.note(7, completed: true)]))
        let response = client.execute("PATCH", "/notes/7", json: #"{"completed": true}"#)
        #expect(response.status == 200)
        #expect(runner.statements == ["note_patch(7, NULL, t, NULL)"])
    }

    @Test func patchWithNoFieldChangesNothing() {
        runner.on("note_patch", rows: .of(.note, [Fixtures.note(7)]))
        _ = client.execute("PATCH", "/notes/7", json: "{}")
        #expect(runner.statements == ["note_patch(7, NULL, NULL, NULL)"])
    }

    @Test func patchRefusesAFieldOfTheWrongType() {
        let response = client.execute("PATCH", "/notes/7", json: #"{"text": null}"#)
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"string_type","loc":["body","text"],"msg":"Input should be a valid string","input":null}]}"#)
    }

    @Test func patchOfAMissingNoteAnswers404() {
        runner.on("note_patch", rows: .none)
        #expect(client.execute("PATCH", "/notes/7", json: "{}").status == 404)
    }

    @Test func deleteAnswersTheTutorialsMessage() {
        runner.on("note_delete", rows: Rows(columnCount: 1, values: [["7"]]))
        let response = client.execute("DELETE", "/notes/7/")
        #expect(response.status == 200)
        #expect(response.body == #"{"message":"Note with id: 7 deleted successfully!"}"#)
    }

    @Test func deleteOfAMissingNoteAnswers404() {
        runner.on("note_delete", rows: .none)
        let response = client.execute("DELETE", "/notes/7/")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Note not found"}"#)
    }

    @Test func anotherMethodOnTheCollectionAnswers405WithAllow() {
        let response = client.execute("PUT", "/notes/")
        #expect(response.status == 405)
        #expect(response.header("Allow") == "GET, POST")
        #expect(response.body == #"{"detail":"Method Not Allowed"}"#)
    }

    @Test func anotherMethodOnANoteAnswers405WithAllow() {
        let response = client.execute("POST", "/notes/7")
        #expect(response.header("Allow") == "GET, PUT, PATCH, DELETE")
    }
}
