// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "notes",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "notes-supervisor", targets: ["notes-supervisor"]),
        .executable(name: "notes-worker", targets: ["notes-worker"]),
        .executable(name: "notes-null-responder", targets: ["notes-null-responder"]),
        // `make openapi`: the OpenAPI document and nginx's route map, rendered from the endpoints' declarations.
        .executable(name: "notes-openapi", targets: ["notes-openapi"]),
        // For the libFuzzer targets in Fuzz/, a package of their own (scripts/fuzz).
        .library(name: "NotesAPI", targets: ["NotesAPI"]),
        .library(name: "JSONOutput", targets: ["JSONOutput"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // C libraries, from Debian's libfcgi-dev and libpq-dev.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // Layers: each knows one thing (see docs/ARCHITECTURE.md).
        .target(name: "SystemSupport", dependencies: ["CLinux"]),
        .target(name: "CScoreboard"),
        .target(name: "CLinux"),
        .target(name: "Scoreboard", dependencies: ["CScoreboard", "SystemSupport"]),
        .target(name: "ServiceLog", dependencies: ["SystemSupport", .product(name: "Logging", package: "swift-log")]),
        .target(name: "HTTPMessages"),
        .target(name: "FastCGIResponder", dependencies: ["CFastCGI", "CLinux", "HTTPMessages", "SystemSupport"]),
        .target(
            name: "NotesStore",
            dependencies: ["CLibPQ", "CLinux", .product(name: "Logging", package: "swift-log")],
            resources: [.embedInCode("Migrations"), .embedInCode("Adoptions")]
        ),
        .target(name: "JSONOutput"),
        // The release number both executables report (--version) and the Debian package carries.
        .target(name: "NotesVersion", resources: [.embedInCode("VERSION")]),
        .target(name: "PoolStatus", dependencies: ["JSONOutput", "Scoreboard", "SystemSupport"]),
        .target(name: "SupervisorStatus", dependencies: ["FastCGIResponder", "HTTPMessages", "JSONOutput", "PoolStatus", "Scoreboard"]),
        .target(
            name: "NotesAPI",
            dependencies: [
                "HTTPMessages", "JSONOutput", "NotesStore", "PoolStatus", "Scoreboard", "SystemSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            // The overlay is read by `make openapi` and the tests, never by the worker.
            exclude: ["OpenAPI/overlay.json"],
            resources: [.embedInCode("OpenAPI/openapi.json")]
        ),
        .target(name: "ProcessStacks", dependencies: ["CLinux", "SystemSupport"]),
        .target(name: "Supervisor", dependencies: [
            "ProcessStacks", "Scoreboard", "ServiceLog", "SystemSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Thin executables that wire the layers together.
        .executableTarget(name: "notes-worker", dependencies: [
            "FastCGIResponder", "NotesAPI", "NotesStore", "NotesVersion", "Scoreboard", "ServiceLog", "SystemSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "notes-supervisor", dependencies: [
            "NotesVersion", "Supervisor", "SupervisorStatus", "Scoreboard", "ServiceLog", "SystemSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The benchmark's ceiling: the FastCGI layer with a fixed answer and no database.
        .executableTarget(name: "notes-null-responder", dependencies: ["FastCGIResponder", "HTTPMessages", "Scoreboard", "SystemSupport"]),
        .executableTarget(name: "notes-openapi", dependencies: ["NotesAPI", "SystemSupport"]),

        // Fakes behind the seams the product uses (StatementRunner, PipelineConnection) and an in-process client.
        .target(
            name: "NotesTesting",
            dependencies: [
                "NotesAPI", "NotesStore", "HTTPMessages", "Scoreboard", "SystemSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/NotesTesting"
        ),
        .testTarget(name: "FastCGIResponderTests", dependencies: ["FastCGIResponder"]),
        .testTarget(name: "HTTPMessagesTests", dependencies: ["HTTPMessages"]),
        .testTarget(name: "NotesAPITests", dependencies: ["NotesAPI", "HTTPMessages", "JSONOutput", "PoolStatus", "SystemSupport", "NotesStore", "NotesTesting", "Scoreboard"]),
        .testTarget(name: "NotesStoreTests", dependencies: ["NotesStore", "NotesTesting"]),
        .testTarget(name: "SupervisorTests", dependencies: [
            "Supervisor", "Scoreboard", "SystemSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ProcessStacksTests", dependencies: ["ProcessStacks"]),
        .testTarget(name: "SupervisorStatusTests", dependencies: ["SupervisorStatus", "HTTPMessages", "Scoreboard"]),
    ]
)
