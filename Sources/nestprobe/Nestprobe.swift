// nestprobe: where this Linux x86-64 machine stands in a stack of hypervisors.
//
// The CLI is thin: each subcommand parses its options, calls Probe, and turns errors into the
// documented exit codes (ExitCodes.swift).

import ArgumentParser
import NestprobeCLI
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Probe

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Nestprobe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nestprobe",
        abstract: "Where this machine stands in a stack of hypervisors, and whether it can host nested guests.",
        discussion: ExitStatus.documentation,
        version: "nestprobe \(NestprobeVersionText.value)",
        subcommands: [
            Diagnose.self, Capture.self, BenchCommand.self, Compare.self, Qualify.self, Render.self,
            HistoryCommand.self, Fleet.self,
        ],
        defaultSubcommand: Diagnose.self
    )

    /// Parses and runs like ArgumentParser's own `main`, except that a usage error is one line on standard
    /// error with control characters escaped: ArgumentParser echoes what the user typed (an unknown option,
    /// a bad value) as it is, so a newline or an escape sequence there would reach the terminal. A mistyped
    /// subcommand is named with the one that was meant (CommandSuggestion).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let text = message(for: error)
            guard code != .success, !text.isEmpty else { exit(withError: error) }
            // A word where a subcommand belongs that names none: say which one was meant.
            if code == .validationFailure,
                let suggestion = CommandSuggestion.message(for: Array(CommandLine.arguments.dropFirst()))
            {
                printError(suggestion)
                Glibc.exit(code.rawValue)
            }
            let brief = text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text
            printError("\(brief) (see nestprobe --help)")
            Glibc.exit(code.rawValue)
        }
    }
}
