import NotesTesting
import Testing
@testable import NotesAPI

/// The OpenAPI document and nginx's route map are rendered from the endpoints' declarations (`make openapi`):
/// these tests fail when the committed files differ from what the declarations and the overlay render.
@Suite struct OpenAPIDocumentTests {
    private static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    private func document() throws -> JSONObject {
        guard case .object(let document) = try JSONParser.parse(OpenAPIEndpoint.document, maxDepth: 256) else {
            throw DocumentError.notAnObject
        }
        return document
    }

    private enum DocumentError: Error { case notAnObject }

    @Test func theCommittedDocumentIsWhatTheDeclarationsRender() throws {
        let overlay = try #require(RepositoryFiles.read("Sources/NotesAPI/OpenAPI/overlay.json"))
        let committed = try #require(RepositoryFiles.read("Sources/NotesAPI/OpenAPI/openapi.json"))
        let rendered = try OpenAPIRenderer.document(overlay: overlay)
        #expect(String(decoding: committed, as: UTF8.self) == rendered, "run `make openapi` and commit the result")
    }

    @Test func theWorkerServesTheCommittedDocument() throws {
        #expect(RepositoryFiles.read("Sources/NotesAPI/OpenAPI/openapi.json") == OpenAPIEndpoint.document)
    }

    @Test func theNginxRouteMapIsWhatTheDeclarationsRender() throws {
        let site = String(decoding: try #require(RepositoryFiles.read("nginx/notes.conf")), as: UTF8.self)
        #expect(NginxRouteMap.rewrite(site) == site, "run `make openapi` and commit the result")
    }

    @Test func theOverlayCannotContradictTheDeclarations() throws {
        let overlay = Array(#"{"paths": {"/notes/": {"get": {"operationId": "somethingElse"}}}}"#.utf8)
        #expect(throws: OpenAPIRenderer.Failure.self) { try OpenAPIRenderer.document(overlay: overlay) }
    }

    @Test func theOverlayAddsWhatTheDeclarationsDoNotSay() throws {
        let overlay = Array(#"{"info": {"title": "T", "version": "1"}, "paths": {"/notes/": {"get": {"x-note": "n"}}}}"#.utf8)
        let rendered = try OpenAPIRenderer.document(overlay: overlay)
        #expect(rendered.hasPrefix("{\n  \"openapi\": \"3.1.0\",\n  \"info\": {\n    \"title\": \"T\","))
        #expect(rendered.contains(#""x-note": "n""#))
    }

    @Test func pathsBecomeAnchoredExpressionsForNginx() {
        #expect(NginxRouteMap.regex("/notes/{note_id}/") == "/notes/[^/?]+")
        #expect(NginxRouteMap.regex("/openapi.json") == "/openapi\\.json")
        #expect(NginxRouteMap.lines().contains { $0.hasPrefix(#"    "~^/notes/[^/?]+/?(?:\?|$)""#) && $0.hasSuffix(#""GET, PUT, PATCH, DELETE";"#) })
    }

    @Test func aSiteWithoutTheMarkersIsNotRewritten() {
        #expect(NginxRouteMap.rewrite("map $request_uri $x {\n}\n") == nil)
    }

    @Test func describesExactlyTheDeclaredEndpoints() throws {
        guard case .object(let paths)? = try document()["paths"] else {
            Issue.record("no paths object")
            return
        }
        var documented: Set<String> = []
        for path in paths.members {
            guard case .object(let operations) = path.value else { continue }
            for operation in operations.members where Self.methods.contains(operation.key) {
                documented.insert("\(operation.key.uppercased()) \(path.key)")
            }
        }
        #expect(documented == Set(Endpoints.all.map { "\($0.method) \($0.path)" }))
    }

    @Test func isOpenAPI31() throws {
        #expect(try document()["openapi"] == .string("3.1.0"))
    }

    @Test func writesJSONAsPythonsJSONModuleDoes() {
        let value = JSONValue.object(["a": .array([.number("1"), .object([:]), .array([])]), "é": .string("x\n\"")])
        #expect(value.prettyPrinted() == "{\n  \"a\": [\n    1,\n    {},\n    []\n  ],\n  \"é\": \"x\\n\\\"\"\n}")
    }
}
