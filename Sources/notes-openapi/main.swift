#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NotesAPI
import SystemSupport

/// `make openapi`: renders the OpenAPI document and nginx's route map from the endpoints' declarations.
///
///   notes-openapi write OVERLAY DOCUMENT NGINX_CONF   writes the document and the map into the site file
///   notes-openapi rendered                            prints what the declarations alone say (no overlay)
let usage = "usage: notes-openapi write OVERLAY DOCUMENT NGINX_CONF | notes-openapi rendered"

func fail(_ message: String) -> Never {
    let line = Array("notes-openapi: \(message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "write" where arguments.count == 4:
    guard let overlay = FileContents.read(arguments[1]) else { fail("cannot read \(arguments[1])") }
    let document: String
    do { document = try OpenAPIRenderer.document(overlay: overlay) } catch { fail("\(error)") }
    guard FileContents.write(document, to: arguments[2]) else { fail("cannot write \(arguments[2])") }
    guard let site = FileContents.read(arguments[3]) else { fail("cannot read \(arguments[3])") }
    guard let rewritten = NginxRouteMap.rewrite(String(decoding: site, as: UTF8.self)) else {
        fail("\(arguments[3]) has no lines '\(NginxRouteMap.begin)' and '\(NginxRouteMap.end)'")
    }
    guard FileContents.write(rewritten, to: arguments[3]) else { fail("cannot write \(arguments[3])") }
case "rendered" where arguments.count == 1:
    print(OpenAPIRenderer.renderedOnly(), terminator: "")
default:
    fail(usage)
}
