// TestSupport: the one way tests run the built nestprobe. Standard output and standard error go to files,
// not pipes, so the child can never block on a full pipe while the test waits on the other one; a timeout
// stops a child that hangs (SIGTERM, then SIGKILL) instead of the whole test run.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the nestprobe executable built beside the tests.
public enum NestprobeRunner {
    /// What one run of nestprobe did.
    public struct Result: Sendable {
        /// The exit status, or the signal number when `signalled`.
        public var status: Int32
        /// Whether a signal ended it (a crash, or the timeout's kill).
        public var signalled: Bool
        /// Whether the timeout stopped it.
        public var timedOut: Bool
        /// Standard output and standard error, decoded as UTF-8.
        public var out: String
        public var err: String
    }

    /// Why a run could not be made.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The nestprobe executable in the build folder that holds this test process, or nil when it was not built.
    public static var binary: URL? {
        guard let tests = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        // The test runner is .build/<triple>/debug/<package>PackageTests.xctest: nestprobe is its neighbour.
        let candidate = URL(fileURLWithPath: tests).deletingLastPathComponent().appendingPathComponent("nestprobe")
        return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
    }

    /// Runs nestprobe with `arguments` in `directory` (this process's when nil), its environment this
    /// process's with NO_COLOR=1, no Swift backtraces, and `environment` on top; `umask` (octal text), when
    /// given, is set by /bin/sh first. `whileRunning` gets the process once it started (to send it a signal).
    public static func run(
        _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
        umask: String? = nil, timeout: Duration = .seconds(300), whileRunning: (Process) throws -> Void = { _ in }
    ) throws -> Result {
        guard let binary else {
            throw Failure(description: "the nestprobe executable was not built next to the tests (swift build first)")
        }
        let process = Process()
        if let umask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(umask) && exec \"$0\" \"$@\"", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        var merged = ProcessInfo.processInfo.environment
        merged["NO_COLOR"] = "1"
        merged["SWIFT_BACKTRACE"] = "enable=no"
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        return try wait(process, in: directory, timeout: timeout, whileRunning: whileRunning)
    }

    /// Starts `process` (nestprobe, or a tool that runs it) in `directory` with its output in two scratch
    /// files, waits up to `timeout`, and reads them.
    public static func wait(
        _ process: Process, in directory: String? = nil, timeout: Duration = .seconds(300),
        whileRunning: (Process) throws -> Void = { _ in }
    ) throws -> Result {
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let streams = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-run-\(UUID())")
        try FileManager.default.createDirectory(at: streams, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: streams) }
        let outURL = streams.appendingPathComponent("out")
        let errURL = streams.appendingPathComponent("err")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
            FileManager.default.createFile(atPath: errURL.path, contents: nil)
        else { throw Failure(description: "cannot create the output files in \(streams.path)") }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? outHandle.close()
        try? errHandle.close()
        try whileRunning(process)
        let timedOut = !waitForExit(process, timeout: timeout)
        return Result(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            timedOut: timedOut, out: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            err: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// Whether `process` ended within `timeout`; if not, it is sent SIGTERM, then SIGKILL a second later,
    /// and waited for.
    private static func waitForExit(_ process: Process, timeout: Duration) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while process.isRunning && clock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard process.isRunning else { return true }
        process.terminate()
        let grace = clock.now + .seconds(1)
        while process.isRunning && clock.now < grace { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return false
    }
}

extension NestprobeRunner.Result {
    /// Exit status, standard output and standard error, for `let (status, out, err) = …`.
    public var parts: (status: Int32, out: String, err: String) { (status, out, err) }
}

extension NestprobeRunner {
    /// `run(arguments)` as (status, standard output, standard error), for tests that only read those.
    public static func outputs(_ arguments: [String]) throws -> (Int32, String, String) {
        let result = try run(arguments)
        return (result.status, result.out, result.err)
    }
}
