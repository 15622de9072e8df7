// HistoryForwarding: `nestprobe history …` runs nestprobe-history with the same arguments, in place of this
// process (execv), so its output, exit code and signals are those of the history command itself. The core
// binary thereby stays free of the history store's libraries (docs/PORTABLE.md).

import ArgumentParser
import Probe

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finds nestprobe-history and replaces this process with it.
enum HistoryForwarding {
    /// The companion executable's name.
    static let program = "nestprobe-history"

    /// Runs nestprobe-history with this process's arguments; returns (as the exit code to throw) only when it
    /// is missing or cannot be started, after one line on standard error saying what is missing.
    static func forward() -> ExitCode {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let path = Companion.locate(program, path: ProcessInfo.processInfo.environment["PATH"]) else {
            printError(
                "history needs \(program), which is neither beside this nestprobe nor on PATH "
                    + "(install both binaries; README, Install)")
            return ExitCode(ExitStatus.unavailable)
        }
        let errno = Companion.replaceProcess(with: path, name: program, arguments: arguments)
        printError("history: cannot run \(path): \(errno)")
        return ExitCode(ExitStatus.unavailable)
    }
}
