// swift-tools-version:6.0
// Swiftlet: a Redis-compatible in-memory data server, shipped as a single-purpose VM appliance.
//
// Module layering (each depends only on the ones above it):
//   Basics    byte-level rules shared by every layer: string2ll, isspace, glob, SplitMix64
//   RESP      wire protocol: incremental parser and reply writer (NIOCore only)
//   Keyspace  stored values, databases, expiry, shards and their locks
//   Commands  the command table (data) and one file of handlers per data type
//   Persistence  RDB snapshots: the file format (writer, reader, CRC-64, LZF) and crash-safe files
//   Configuration  the redis.conf directive table, parsing, validation, typed settings
//   Server    SwiftNIO networking, connections, INFO, snapshots policy, appliance mode
//   swiftlet-server  thin executable (with CSwiftletInit, the PID-1 boot shim, linked in)
//   ImageBuilder     host side: recipes, newc cpio, kernel build and cache, manifest (checks a
//                    recipe's directives with Configuration, not the whole server)
//   swiftlet         host CLI, one file per subcommand (`swiftlet image build`, ...)
import PackageDescription

/// Release builds drop Swift's dynamic exclusivity checks in the modules on the command path:
/// profiling showed them at ~30 % of the server's instructions per request (every access to a
/// class-held struct such as a shard's databases is checked at run time). Debug builds, and so the
/// test suite, keep the checks and catch any violation.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "swiftlet",
    products: [
        .executable(name: "swiftlet-server", targets: ["swiftlet-server"]),
        .executable(name: "swiftlet", targets: ["swiftlet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        // gzip for the initramfs (system zlib underneath); host tool only, never in the server.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // The Prometheus text format for the HTTP /metrics endpoint (Server/MetricsExporter.swift).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(name: "Basics", swiftSettings: hotPathSettings),
        .target(
            name: "RESP",
            dependencies: ["Basics", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "Keyspace",
            dependencies: [
                "Basics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "Commands",
            dependencies: [
                "Basics", "RESP", "Keyspace", "CSwiftletSupport", "CSwiftletSeccomp",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "Keyspace", "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "Configuration",
            dependencies: [
                "Basics", "RESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // Tiny C shims, prefixed `swiftlet_`: what Swift's Glibc module does not export.
        .target(name: "CSwiftletSupport"),
        // The seccomp allowlist (allowlist.def, one commented row per system call) and its
        // installation with libseccomp (Debian libseccomp-dev; libseccomp.a in the static
        // appliance build), prefixed `swiftlet_seccomp_`.
        .target(
            name: "CSwiftletSeccomp",
            exclude: ["allowlist.def"],
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Basics", "RESP", "Keyspace", "Commands", "Persistence", "Configuration", "CSwiftletSupport",
                "CSwiftletSeccomp",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The appliance's boot shim, prefixed `swiftlet_`: a constructor that mounts /proc, /sys,
        // /dev (and the data volume) before the Swift runtime starts when the server is PID 1,
        // and the power-off call. Linked into the server only.
        .target(name: "CSwiftletInit"),
        .executableTarget(
            name: "swiftlet-server",
            dependencies: ["Server", "Configuration", "CSwiftletInit"]
        ),
        .target(
            name: "ImageBuilder",
            dependencies: [
                "Basics", "Configuration",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Host-side shims for the runner, prefixed `swiftlet_`: spawning QEMU with a parent-death
        // signal, pinning a thread to CPUs.
        .target(name: "CSwiftletHost"),
        // libvirt's C API (libvirt-dev), for the runner's libvirt backend.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt-qemu", providers: [.apt(["libvirt-dev"])]),
        .target(
            name: "Runner",
            dependencies: ["ImageBuilder", "Configuration", "CSwiftletHost", "CLibvirt"]
        ),
        .target(name: "Bench", dependencies: ["Runner"]),
        .executableTarget(
            name: "swiftlet",
            dependencies: [
                "ImageBuilder", "Runner", "Bench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "Basics"]),
        .testTarget(name: "KeyspaceTests", dependencies: ["Keyspace", "Basics"]),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration"]),
        // Fixtures are read through #filePath, not bundled as resources.
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "Keyspace", "RESP"], exclude: ["Fixtures"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "Server", "Basics"]),
        // Drives `Connection` with NIO's EmbeddedChannel: the connection's states without sockets.
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Commands", "Configuration", "RESP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "ImageBuilderTests", dependencies: ["ImageBuilder", "Basics"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "ImageBuilder"]),
        .testTarget(name: "ApplianceTests", dependencies: ["Server", "Configuration"]),
        .testTarget(name: "SwiftletCLITests", dependencies: [
            "swiftlet", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ]
)
