import HTTPMessages
import NotesStore
import Testing
@testable import NotesAPI

/// The endpoints' declarations are consistent, and the router is made of exactly them.
@Suite struct EndpointDeclarationTests {
    private func placeholders(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    @Test func everyPathParameterIsDeclaredAndEveryDeclaredOneIsInThePath() {
        for endpoint in Endpoints.all {
            let declared = endpoint.parameters.filter { $0.location == .path }.map(\.name)
            #expect(declared == placeholders(endpoint.path), "\(endpoint.method) \(endpoint.path)")
        }
    }

    @Test func pathParametersComeBeforeQueryParameters() {
        for endpoint in Endpoints.all {
            let locations = endpoint.parameters.map(\.location)
            #expect(locations == locations.sorted { $0 == .path && $1 == .query }, "\(endpoint.operationID)")
        }
    }

    @Test func operationIDsAndRoutesAreUnique() {
        #expect(Set(Endpoints.all.map(\.operationID)).count == Endpoints.all.count)
        #expect(Set(Endpoints.all.map { "\($0.method) \($0.path)" }).count == Endpoints.all.count)
    }

    @Test func anEndpointOfOneRowDeclaresItsNotFound() {
        for endpoint in Endpoints.all where !endpoint.parameters.filter({ $0.location == .path }).isEmpty {
            #expect(endpoint.errors.contains { if case .notFound = $0.error { true } else { false } }, "\(endpoint.operationID)")
        }
    }

    @Test func theRouterHasExactlyTheDeclaredEndpoints() {
        // The router keeps no trailing slash: a request matches with or without one.
        let routed = NotesApplication.router.endpoints.map { "\($0.method) \($0.pattern)" }
        let declared = Endpoints.all.map { "\($0.method) \($0.path.count > 1 && $0.path.hasSuffix("/") ? String($0.path.dropLast()) : $0.path)" }
        #expect(Set(routed) == Set(declared))
    }

    @Test func bodiesAreTheWritableColumnsOfTheirEntity() {
        for endpoint in Endpoints.all {
            guard let body = endpoint.body else { continue }
            #expect(["POST", "PUT", "PATCH"].contains(endpoint.method))
            #expect(!body.entity.writableColumns.isEmpty)
            #expect((body.fields == .allOptional) == (endpoint.method == "PATCH"))
        }
    }

    @Test func aReplyTheEndpointDoesNotDeclareIsRefusedLoudly() {
        // The declared 404 is what an endpoint without one could not answer: the declaration is checked.
        #expect(NotesEndpoints.get.notFound == .notFound("Note not found"))
        #expect(ArticleEndpoints.create.notFound == .notFound("Author does not exist"))
    }

    @Test func inputsAreReadByTheirDeclaration() throws {
        let request = HTTPRequest(method: "GET", rawPath: "/notes/", rawQuery: "completed=0&skip=3")
        let inputs = try NotesEndpoints.list.inputs(of: request, path: [:])
        #expect(inputs.integer(Paging.skip) == 3)
        #expect(inputs.integer(Paging.take) == Paging.defaultPageSize)
        #expect(inputs.bool(NotesEndpoints.completed) == false)
    }

    @Test func aBodyIsReadInTheOrderOfTheWritableColumns() throws {
        let request = HTTPRequest(
            method: "POST", rawPath: "/articles", contentType: "application/json",
            body: Array(#"{"author_id": 3, "content": "c", "title": "t"}"#.utf8))
        let inputs = try ArticleEndpoints.create.inputs(of: request, path: [:])
        #expect(inputs.body == [.text("t"), .text("c"), .integer(3)])
    }

    @Test func aPatchBodyLeavesOutWhatIsNotSent() throws {
        let request = HTTPRequest(method: "PATCH", rawPath: "/notes/1", contentType: "application/json", body: Array(#"{"text": "x"}"#.utf8))
        let inputs = try NotesEndpoints.patch.inputs(of: request, path: ["note_id": "1"])
        #expect(inputs.body == [.text("x"), .absent])
        #expect(inputs.integer(NotesEndpoints.noteID) == 1)
    }
}
