import Testing
@testable import NotesAPI

/// The OpenAPI document and the router are kept in step by this test: a route without documentation, or
/// documentation without a route, fails the build.
@Suite struct OpenAPIDocumentTests {
    private static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    private func document() throws -> JSONObject {
        guard case .object(let document) = try JSONParser.parse(OpenAPIEndpoint.document, maxDepth: 256) else {
            throw DocumentError.notAnObject
        }
        return document
    }

    private enum DocumentError: Error { case notAnObject }

    /// `/notes/{note_id}/` and `/notes/{note_id}` are the same route.
    private func normalized(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    @Test func describesExactlyTheRoutesTheRouterHas() throws {
        guard case .object(let paths)? = try document()["paths"] else {
            Issue.record("no paths object")
            return
        }
        var documented: Set<String> = []
        for path in paths.members {
            guard case .object(let operations) = path.value else { continue }
            for operation in operations.members where Self.methods.contains(operation.key) {
                documented.insert("\(operation.key.uppercased()) \(normalized(path.key))")
            }
        }
        let routed = Set(NotesApplication.router.endpoints.map { "\($0.method) \($0.pattern)" })
        #expect(routed.subtracting(documented).sorted() == [], "routes without documentation")
        #expect(documented.subtracting(routed).sorted() == [], "documentation without a route")
    }

    @Test func isOpenAPI31() throws {
        #expect(try document()["openapi"] == .string("3.1.0"))
    }
}
