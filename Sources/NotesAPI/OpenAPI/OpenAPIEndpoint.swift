import HTTPMessages
import NotesStore

/// `GET /openapi.json`: the OpenAPI document, embedded at build time from `OpenAPI/openapi.json`. It is the
/// one description of the API: a unit test checks that it names exactly the routes the router has.
enum OpenAPIEndpoint {
    static let document: [UInt8] = PackageResources.openapi_json

    static let serve = Endpoint(
        "GET", "/openapi.json", operationID: "getOpenAPI", tag: .service, summary: "This OpenAPI document",
        description: """
            The OpenAPI 3.1 document of the service, embedded in the worker at build time. `/docs` (served by nginx) \
            renders it.
            """,
        success: .document
    ) { _, _ in
        Query(value: .response(.json(.ok, document)))
    }
}
