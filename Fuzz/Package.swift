// swift-tools-version:6.0
// libFuzzer targets for the notes service's pure parsers (NotesAPI): not part of the product build.
// Built and run by scripts/fuzz, which passes the sanitizers and -enable-testing (the targets use
// `@testable import NotesAPI` to reach the internal validators the endpoints call).
import PackageDescription

// Each target defines LLVMFuzzerTestOneInput and no `main`: libFuzzer's runtime provides it.
let fuzzTarget: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
let notesAPI: [Target.Dependency] = [
    "FuzzSupport",
    .product(name: "NotesAPI", package: "notes"),
    .product(name: "JSONOutput", package: "notes"),
]

let package = Package(
    name: "notes-fuzz",
    dependencies: [.package(name: "notes", path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "NotesAPI", package: "notes")]),
        .executableTarget(name: "fuzz-json-body", dependencies: notesAPI, swiftSettings: fuzzTarget),
        .executableTarget(name: "fuzz-query-path", dependencies: notesAPI, swiftSettings: fuzzTarget),
        .executableTarget(name: "fuzz-json-roundtrip", dependencies: notesAPI, swiftSettings: fuzzTarget),
    ]
)
