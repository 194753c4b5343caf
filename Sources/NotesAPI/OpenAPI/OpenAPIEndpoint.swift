import HTTPMessages

/// `GET /openapi.json`: the OpenAPI document, embedded at build time from `OpenAPI/openapi.json`. It is the
/// one description of the API: a unit test checks that it names exactly the routes the router has.
enum OpenAPIEndpoint {
    static let document: [UInt8] = PackageResources.openapi_json

    static func register(in router: inout Routes) {
        router.add("GET", "/openapi.json", answeredAtOnce: serve)
    }

    static func serve(_ services: Services, _ request: HTTPRequest, _ parameters: PathParameters) -> HTTPResponse {
        .json(.ok, document)
    }
}
