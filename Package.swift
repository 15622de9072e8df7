// swift-tools-version: 6.2
//
// nestprobe: where a Linux x86-64 machine stands in a stack of hypervisors, and what nesting costs there.
// Layers point down only (docs/ARCHITECTURE.md draws the graph and its two data flows):
//   Documents (report types, JSON, statistics, formatting; FoundationEssentials only)
//   KVM → CKVM (every ioctl and mmap)
//   Probe → Documents, KVM, CKVM, CLibCPUID (readers of this machine, snapshot, analysis)
//   Bench → Documents, Probe, KVM, CKVM, CGuest (exit cases, tiny guests, runner, suite)
//   Report → Documents, Crypto (compare, qualify, render, fleet; never KVM)
//   History → Documents, Report, GRDB, PostgresNIO (the report history and its change points)
//   NestprobeCLI → Documents, Probe (exit codes, output, `history`'s arguments; shared by both executables)
//   nestprobe (CLI) → Documents, Probe, Bench, Report, NestprobeCLI (FoundationEssentials only)
//   nestprobe-history → History, NestprobeCLI (`nestprobe history …` runs it; full Foundation)

import PackageDescription

let strict: [SwiftSetting] = [.strictMemorySafety()]

let package = Package(
    name: "nestprobe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "nestprobe", targets: ["nestprobe"]),
        .executable(name: "nestprobe-history", targets: ["nestprobe-history"]),
        .library(name: "Probe", targets: ["Probe"]),
        .library(name: "KVM", targets: ["KVM"]),
        .library(name: "Bench", targets: ["Bench"]),
        .library(name: "Documents", targets: ["Documents"]),
        .library(name: "Report", targets: ["Report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The history store: SQLite embedded (GRDB), PostgreSQL shared (postgres-nio); SHA-256 of reports
        // (swift-crypto: postgres-nio builds it anyway, for SCRAM-SHA-256 authentication).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Header-only shim: ioctl request numbers, the variadic-ioctl wrappers Swift cannot call,
        // inline cpuid/rdtsc and compile-time size checks of the kernel structs. No logic.
        .target(name: "CKVM"),
        // libcpuid as a system library (Debian: libcpuid-dev), found through pkg-config.
        .systemLibrary(
            name: "CLibCPUID",
            pkgConfig: "libcpuid",
            providers: [.apt(["libcpuid-dev"])]
        ),
        // The documents nestprobe reads and writes, and what every output shares: report types, JSON with
        // input errors, sample statistics, number and text formatting, the version. FoundationEssentials only.
        .target(name: "Documents", swiftSettings: strict),
        .target(name: "KVM", dependencies: ["CKVM"], swiftSettings: strict),
        .target(name: "Probe", dependencies: ["Documents", "KVM", "CKVM", "CLibCPUID"], swiftSettings: strict),
        // The tiny guests' machine code (.S), exposed as byte ranges.
        .target(name: "CGuest"),
        .target(name: "Bench", dependencies: ["Documents", "KVM", "CKVM", "CGuest", "Probe"], swiftSettings: strict),
        // Compare, qualify, render: pure data over the reports; never touches /dev/kvm.
        // Crypto: the machine fingerprint's key (SHA-256), shared by the history and the fleet matrix.
        .target(
            name: "Report", dependencies: ["Documents", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // Regression tracking over time: the report store (SQLite or PostgreSQL), series, change points.
        .target(
            name: "History",
            dependencies: [
                "Documents", "Report",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict),
        // What both executables share: exit codes, output, and `history`'s arguments and help (not its work).
        .target(
            name: "NestprobeCLI",
            dependencies: [
                "Documents", "Probe", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        // The core CLI: FoundationEssentials only, no history store (`history` runs nestprobe-history).
        .executableTarget(
            name: "nestprobe",
            dependencies: [
                "Documents",
                "Probe",
                "Bench",
                "Report",
                "NestprobeCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // `nestprobe history`'s work: the store, with GRDB, postgres-nio and full Foundation.
        .executableTarget(
            name: "nestprobe-history",
            dependencies: [
                "Documents", "History", "NestprobeCLI", "Probe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The one helper that runs the built nestprobe from a test (output to files, a timeout).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "KVMTests", dependencies: ["KVM", "CKVM"], swiftSettings: strict),
        .testTarget(
            name: "BenchTests", dependencies: ["Bench", "KVM", "Probe", "Report", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "ReportTests", dependencies: ["Documents", "Report", "TestSupport"], resources: [.copy("Fixtures")],
            swiftSettings: strict),
        .testTarget(
            name: "HistoryTests",
            dependencies: [
                "History", "Documents", "Report",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(
            name: "ProbeTests",
            dependencies: ["Probe", "KVM", "TestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ]
)
