// swift-tools-version: 6.2
//
// nestprobe's own benchmarks, with ordo-one/benchmark (package-benchmark). A package of its own, so that
// package-benchmark and its dependencies stay out of the tool's build and test run.
//
// `swift package benchmark` from this directory runs them; see README.md.

import PackageDescription

let strict: [SwiftSetting] = [.strictMemorySafety()]

let package = Package(
    name: "nestprobe-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "nestprobe", path: ".."),
        // Only the malloc statistics trait: the default set also enables RuntimeInterposer, which on Linux
        // with Swift 6.3 pulls in ordo-one/swift-runtime-interposer.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // A VMM in plain C that runs the same guest as the Swift run-loop benchmark: the reference the
        // KVM module's run() is measured against.
        .target(name: "CReferenceVMM"),
        .executableTarget(
            name: "RunLoop",
            dependencies: [
                "CReferenceVMM",
                .product(name: "KVM", package: "nestprobe"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/RunLoop",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Statistics",
            dependencies: [
                .product(name: "Probe", package: "nestprobe"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/Statistics",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
