// nestprobe: where this Linux x86-64 machine stands in a stack of hypervisors.
//
// The CLI is thin: each subcommand parses its options, calls Probe, and turns errors into the
// documented exit codes (ExitCodes.swift).

import ArgumentParser

@main
struct Nestprobe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nestprobe",
        abstract: "Where this machine stands in a stack of hypervisors, and whether it can host nested guests.",
        discussion: ExitStatus.documentation,
        version: "nestprobe \(NestprobeVersionText.value)",
        subcommands: [Diagnose.self, Capture.self, BenchCommand.self, Compare.self, Qualify.self, Render.self],
        defaultSubcommand: Diagnose.self
    )
}
