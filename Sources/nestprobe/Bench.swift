// `nestprobe bench`: VM-exit latency of this level and of the guests it boots, side by side.

import ArgumentParser
import NestprobeCLI
import Bench
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import KVM
import Probe
import Report

extension Nestprobe {
    struct BenchCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract:
                "Time VM exits: this level's own cpuid, and each exit case in tiny guests booted through /dev/kvm.",
            discussion: """
                Without /dev/kvm (exit 69) or without permission to open it (exit 77) it still reports this \
                level's own figures. Progress goes to standard error, one line per case. An -o path that cannot \
                be written (a missing folder, a directory, no permission) is exit 73 before the bench starts.
                """)

        @Option(
            help: ArgumentHelp(
                "Cases to run, by name or id, comma-separated (cpuid,hypercall,pio-out-user/real); default the default "
                    + "suite (--list marks the others +); interrupts for the opt-in set of the local APIC's IPIs, EOIs, "
                    + "timer and interrupt window; all for every case. "
                    + "NAME! runs a case that may hang without probing it first; -NAME (as --cases=-NAME) leaves it out.",
                valueName: "list"))
        var cases: String?

        @Option(
            help: ArgumentHelp(
                "Wall-time cap: no further run starts once it would end past it (seconds, or 500ms, 10s).",
                valueName: "time"))
        var budget: String = "60s"

        @Option(
            help: ArgumentHelp(
                "Independent runs (fresh guests, cases shuffled per run); a regression gate takes four reports of 4 a side (README).",
                valueName: "n"))
        var runs: Int = BenchOptions.defaultRuns

        @Option(help: ArgumentHelp("Seed of the per-run case order (the report records the one used).", valueName: "n"))
        var seed: UInt64?

        @Option(
            help: ArgumentHelp(
                "Diagnostic: add a fixed delay to every exit to user space (2us, 500ns, or 10% of the measured "
                    + "user-space exit cost), to check that compare catches a slowdown of known size.",
                valueName: "delay"))
        var injectExitDelay: String?

        @Option(name: .shortAndLong, help: "Write the JSON report to this file (atomically).", completion: .file())
        var output: String?

        @Flag(help: "Print the JSON report on standard output instead of the table.")
        var json = false

        @Flag(help: "No progress lines on standard error.")
        var quiet = false

        @Flag(help: "List the cases and exit.")
        var list = false

        @Option(help: ArgumentHelp("The KVM device to boot the guests on.", valueName: "path"), completion: .file())
        var device: String = "/dev/kvm"

        func validate() throws {
            guard (1...BenchOptions.maximumRuns).contains(runs) else {
                throw ValidationError("--runs: expected 1 to \(BenchOptions.maximumRuns), got \(runs)")
            }
            if let seed, seed > BenchSuite.seedMask {
                throw ValidationError("--seed: expected 0 to \(BenchSuite.seedMask), got \(seed)")
            }
            if let injectExitDelay, ExitDelayRequest.parse(injectExitDelay) == nil {
                throw ValidationError(
                    "--inject-exit-delay: expected a duration such as 2us or 500ns (at most 10ms) or a share such "
                        + "as 10% (at most 1000%), got \(injectExitDelay)")
            }
            _ = try Self.seconds(budget)
        }

        /// The budget in seconds; a usage error (64) naming the accepted forms for anything else.
        static func seconds(_ text: String) throws(ValidationError) -> Double {
            do { return DurationText.seconds(try DurationText.parse(text, maximum: .seconds(3600))) } catch {
                throw ValidationError(
                    "--budget \"\(MessageText.oneLine(text))\": \(error); expected \(DurationText.acceptedForms), "
                        + "more than zero and at most one hour")
            }
        }

        func run() throws {
            if list {
                let attribution = CaseList.attribution(devicePath: device)
                for line in CaseList.lines(CaseRunner.catalogue, attribution: attribution) { print(line) }
                return
            }
            var options = BenchOptions()
            options.budgetSeconds = try Self.seconds(budget)
            options.devicePath = device
            options.runs = runs
            options.runOrderSeed = seed
            if let injectExitDelay, let request = ExitDelayRequest.parse(injectExitDelay) {
                options.exitDelay = (injectExitDelay, request)
            }
            options.cases = cases.map { $0.split(separator: ",").map { String($0).trimmed } } ?? []
            let (_, unknown) = BenchSuite.select(options.cases, from: CaseRunner.catalogue)
            guard unknown.isEmpty else {
                throw ValidationError("--cases: no case named \(unknown.joined(separator: ", ")) (see --list)")
            }
            // The output file is written after the bench: a path that cannot take it fails now, not then.
            try FileOutput.preflight(output, dash: false)
            let quiet = self.quiet
            let (report, kvmError) = BenchSuite(options: options).run { event in
                guard !quiet else { return }
                printError(BenchText.progressLine(event))
            }
            let data = try DocumentFile.encodeJSON(report)
            if let output {
                do { try AtomicFile.write(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
            }
            if json {
                Companion.write([UInt8](data), to: 1)
            } else {
                FileOutput.write(RenderText.render(report), to: 1)
            }
            if let kvmError {
                printError(kvmError.description)
                throw ExitCode(kvmError.isPermissionDenied ? ExitStatus.permissionDenied : ExitStatus.unavailable)
            }
            let failed = report.cases.filter { $0.status == .failed }
            if !failed.isEmpty {
                let shown = failed.prefix(3).map(\.id).joined(separator: ", ") + (failed.count > 3 ? ", …" : "")
                printError(
                    "\(failed.count) of \(report.cases.count) guest cases failed (\(shown)): see the table's notes")
                throw ExitCode(ExitStatus.guestCasesFailed)
            }
        }
    }
}
