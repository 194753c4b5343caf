import HTTPMessages
import NotesStore
import NotesTesting
import Scoreboard
import Testing
@testable import NotesAPI

/// Health, status, the document, and what every route answers the same way, in the process.
@Suite struct ServiceRoutesTests {
    let client = TestClient()
    var runner: FakeStatementRunner { client.runner }

    @Test func healthAnswersOKWhenTheDatabaseDoes() {
        let response = client.execute("GET", "/healthz")
        #expect(response.status == 200)
        #expect(response.body == #"{"status":"ok"}"#)
    }

    @Test func healthAnswers503WhenTheDatabaseDoesNot() {
        runner.pingFailure = .unavailable("down")
        let response = client.execute("GET", "/healthz")
        #expect(response.status == 503)
        #expect(response.body == #"{"status":"unavailable"}"#)
        #expect(response.header("Retry-After") == "1")
    }

    @Test func statusIsNotFoundWithoutASupervisor() {
        let response = client.execute("GET", "/status")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Not Found"}"#)
    }

    @Test func statusRefusesAnUnknownFormat() {
        let response = client.execute("GET", "/status?format=xml")
        #expect(response.status == 422)
        #expect(response.body == #"{"detail":[{"type":"enum","loc":["query","format"],"msg":"Input should be 'json' or 'prometheus'","input":"xml","ctx":{"expected":"'json' or 'prometheus'"}}]}"#)
    }

    @Test func theDocumentIsServedAsEmbedded() {
        let response = client.execute("GET", "/openapi.json")
        #expect(response.status == 200)
        #expect(response.bytes == OpenAPIEndpoint.document)
        #expect(response.header("Content-Type") == "application/json")
    }

    @Test func anUnknownPathAnswers404() {
        let response = client.execute("GET", "/nothing")
        #expect(response.status == 404)
        #expect(response.body == #"{"detail":"Not Found"}"#)
    }

    @Test func aBodyTooLargeIsRefusedWhateverTheRoute() {
        for path in ["/notes/", "/nothing"] {
            let response = client.execute("POST", path, bodyProblem: .tooLarge)
            #expect(response.status == 413)
            #expect(response.body == #"{"detail":"Request body too large"}"#)
        }
        #expect(runner.statements.isEmpty)
    }

    @Test func aLengthThatIsNoNumberIsABadRequest() {
        let response = client.execute("POST", "/notes/", bodyProblem: .invalidLength)
        #expect(response.status == 400)
        #expect(response.body == #"{"detail":"Invalid Content-Length"}"#)
    }

    @Test func anIncompleteBodyIsABadRequest() {
        let response = client.execute("PUT", "/notes/1", bodyProblem: .incomplete)
        #expect(response.status == 400)
        #expect(response.body == #"{"detail":"Incomplete request body"}"#)
    }

    @Test func aDatabaseOutageAnswers503WithRetryAfter() {
        runner.on("note_select", failure: .unavailable("database connection lost"))
        let response = client.execute("GET", "/notes/1")
        #expect(response.status == 503)
        #expect(response.body == #"{"detail":"Database unavailable"}"#)
        #expect(response.header("Retry-After") == "1")
    }

    @Test func aStatementOutOfTimeAnswers503() {
        runner.on("note_update", failure: .timedOut(statement: "note_update"))
        let response = client.execute("PUT", "/notes/1", json: #"{"text": "a", "completed": true}"#)
        #expect(response.status == 503)
        #expect(response.body == #"{"detail":"Request timed out"}"#)
        #expect(response.header("Retry-After") == nil)
    }

    @Test func aFailedStatementAnswers500AndTellsNothingOfIt() {
        runner.on("note_select", failure: .statementFailed(statement: "note_select", sqlState: SQLState(rawValue: "42P01"), message: "relation \"notes\" does not exist"))
        let response = client.execute("GET", "/notes/1")
        #expect(response.status == 500)
        #expect(response.body == #"{"detail":"Internal Server Error"}"#)
    }

    @Test func runningOutOfMemoryIsNotAnOutage() {
        runner.on("note_select", failure: .outOfMemory("reading a result"))
        let response = client.execute("GET", "/notes/1")
        #expect(response.status == 500)
        #expect(response.header("Retry-After") == nil)
    }

    @Test func aSchemaThatFellBehindAnswers500() {
        runner.on("note_select", failure: .schemaBehind(current: 3, required: 4))
        #expect(client.execute("GET", "/notes/1").status == 500)
    }
}

/// `/status` from a worker under a supervisor, in the process, with a scoreboard of its own.
@Suite struct StatusRouteTests {
    private func client() throws -> TestClient {
        let scoreboard = try Scoreboard.create()
        scoreboard.publishSupervisor(pid: 4242, startedAtUnixMicroseconds: 0, listen: "unix:/run/notes/notes.sock")
        scoreboard.publish(generation: 1, targetWorkers: 1)
        return TestClient(scoreboard: scoreboard)
    }

    @Test func answersThePoolAsJSON() throws {
        let response = try client().execute("GET", "/status")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.body.hasPrefix(#"{"supervisor":{"pid":4242,"started_at":"1970-01-01T00:00:00.000000Z","listen":"unix:/run/notes/notes.sock","generation":1,"target_workers":1}"#))
    }

    @Test func answersThePoolInPrometheusText() throws {
        let response = try client().execute("GET", "/status?format=prometheus")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4")
        #expect(response.body.contains("\n# TYPE "))
    }
}
