// Running the built nestprobe with standard output and standard error in files, so a large output can never
// deadlock the pipe reads (reading one pipe to its end while the child blocks writing the other).

import Foundation
import Testing

/// Runs the built nestprobe with stdout and stderr in files.
enum OutputCLI {
    struct Result {
        var status: Int32
        var signalled: Bool
        var out: String
        var err: String
    }

    /// Runs `arguments` in `directory`; `umask` (octal text), when given, is set by /bin/sh first.
    static func run(_ arguments: [String], in directory: String, umask: String? = nil) throws -> Result {
        let binary = try #require(NestprobeBinary.url, "the nestprobe executable was not built next to the tests")
        let process = Process()
        if let umask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(umask) && exec \"$0\" \"$@\"", binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        return try wait(process, in: directory)
    }

    /// Starts `process` in `directory` with output to files, waits, and returns what it wrote.
    static func wait(_ process: Process, in directory: String, whileRunning: (Process) throws -> Void = { _ in })
        throws -> Result
    {
        let streams = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-streams-\(UUID())")
        try FileManager.default.createDirectory(at: streams, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: streams) }
        let outURL = streams.appendingPathComponent("out"), errURL = streams.appendingPathComponent("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = Foundation.ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        try process.run()
        try whileRunning(process)
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            out: try String(contentsOf: outURL, encoding: .utf8), err: try String(contentsOf: errURL, encoding: .utf8))
    }
}
