import NotesStore
import NotesTesting
import Testing

/// Requests that arrive together, answered as one batch, in the process.
@Suite struct BatchTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    @Test func theStatementsOfABatchGoInOneRoundInTheOrderOfTheRequests() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(1)]))
        runner.on("author_select", rows: .of(.author, [Fixtures.author(2)]))
        runner.on("note_insert", rows: .of(.note, [Fixtures.note(3)]))
        let responses = client.batch([
            client.request("GET", "/notes/1"),
            client.request("GET", "/authors/2"),
            client.request("POST", "/notes", json: #"{"text": "buy milk", "completed": false}"#),
        ])
        #expect(runner.rounds == [["note_select(1)", "author_select(2)", "note_insert(buy milk, f, NULL)"]])
        #expect(responses.map(\.status) == [200, 200, 201])
        #expect(responses[1].body == Fixtures.authorJSON(2))
    }

    @Test func aFailureStaysWithItsRequest() {
        runner.on("note_select") { parameters, _ in
            parameters == ["2"] ? .finished(.failure(.unavailable("lost"))) : .finished(.success(.of(.note, [Fixtures.note(1)])))
        }
        let responses = client.batch([client.request("GET", "/notes/1"), client.request("GET", "/notes/2"), client.request("GET", "/notes/1")])
        #expect(responses.map(\.status) == [200, 503, 200])
    }

    @Test func requestsRefusedBeforeTheDatabaseSendNothing() {
        runner.on("note_select", rows: .of(.note, [Fixtures.note(1)]))
        let responses = client.batch([
            client.request("GET", "/notes/x"), client.request("GET", "/nothing"), client.request("GET", "/notes/1"),
        ])
        #expect(responses.map(\.status) == [422, 404, 200])
        #expect(runner.rounds == [["note_select(1)"]])
    }

    @Test func aReadLostWithItsConnectionRunsOnceMore() {
        runner.on("note_select") { _, attempt in attempt == 0 ? .retry : .finished(.success(.of(.note, [Fixtures.note(1)]))) }
        let response = client.execute("GET", "/notes/1")
        #expect(response.status == 200)
        #expect(runner.rounds == [["note_select(1)"], ["note_select(1)"]])
    }

    @Test func aCreateSentAgainTakesASecondRoundForItselfOnly() {
        let requestID = "0123456789abcdef0123456789abcdef"
        runner.on("note_insert", rows: .none)
        runner.on("note_select_created", rows: .of(.note, [Fixtures.note(3)]))
        runner.on("note_select", rows: .of(.note, [Fixtures.note(1)]))
        let responses = client.batch([
            client.request("POST", "/notes", json: #"{"text": "a", "completed": true}"#, requestID: requestID),
            client.request("GET", "/notes/1"),
        ])
        #expect(responses.map(\.status) == [201, 200])
        #expect(runner.rounds == [["note_insert(a, t, \(requestID))", "note_select(1)"], ["note_select_created(\(requestID))"]])
    }

    @Test func everyRequestOfABatchGetsItsOwnAnswer() {
        runner.on("note_select") { parameters, _ in .finished(.success(.of(.note, [Fixtures.note(Int64(parameters[0]!)!)]))) }
        let responses = client.batch((1...4).map { client.request("GET", "/notes/\($0)") })
        #expect(responses.map(\.body) == (1...4).map { Fixtures.noteJSON(Int64($0)) })
    }
}
