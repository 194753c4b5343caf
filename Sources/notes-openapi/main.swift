#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NotesAPI

/// `make openapi`: renders the OpenAPI document and nginx's route map from the endpoints' declarations.
///
///   notes-openapi write OVERLAY DOCUMENT NGINX_CONF   writes the document and the map into the site file
///   notes-openapi rendered                            prints what the declarations alone say (no overlay)
let usage = "usage: notes-openapi write OVERLAY DOCUMENT NGINX_CONF | notes-openapi rendered"

func read(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes += buffer[0..<count]
    }
    return bytes
}

func write(_ text: String, to path: String) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    defer { fclose(file) }
    let bytes = Array(text.utf8)
    return fwrite(bytes, 1, bytes.count, file) == bytes.count
}

func fail(_ message: String) -> Never {
    let line = Array("notes-openapi: \(message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "write" where arguments.count == 4:
    guard let overlay = read(arguments[1]) else { fail("cannot read \(arguments[1])") }
    let document: String
    do { document = try OpenAPIRenderer.document(overlay: overlay) } catch { fail("\(error)") }
    guard write(document, to: arguments[2]) else { fail("cannot write \(arguments[2])") }
    guard let site = read(arguments[3]) else { fail("cannot read \(arguments[3])") }
    guard let rewritten = NginxRouteMap.rewrite(String(decoding: site, as: UTF8.self)) else {
        fail("\(arguments[3]) has no lines '\(NginxRouteMap.begin)' and '\(NginxRouteMap.end)'")
    }
    guard write(rewritten, to: arguments[3]) else { fail("cannot write \(arguments[3])") }
case "rendered" where arguments.count == 1:
    print(OpenAPIRenderer.renderedOnly(), terminator: "")
default:
    fail(usage)
}
