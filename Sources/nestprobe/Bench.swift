// `nestprobe bench`: VM-exit latency of this level and of the guests it boots, side by side.

import ArgumentParser
import Bench
import Foundation
import KVM
import Probe

extension Nestprobe {
    struct BenchCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Time VM exits: this level's own cpuid, and each exit case in tiny guests booted through /dev/kvm.",
            discussion: """
                Without /dev/kvm (exit 69) or without permission to open it (exit 77) it still reports this \
                level's own figures. Progress goes to standard error, one line per case.
                """)

        @Option(help: ArgumentHelp("Cases to run, by name or id, comma-separated (cpuid,hypercall,pio-out-user/real); default all.",
            valueName: "list"))
        var cases: String?

        @Option(help: ArgumentHelp("Time budget for the guest cases: seconds, or with a unit (500ms, 10s).", valueName: "time"))
        var budget: String = "4s"

        @Option(name: .shortAndLong, help: "Write the JSON report to this file (atomically).")
        var output: String?

        @Flag(help: "Print the JSON report on standard output instead of the table.")
        var json = false

        @Flag(help: "No progress lines on standard error.")
        var quiet = false

        @Flag(help: "List the cases and exit.")
        var list = false

        @Option(help: ArgumentHelp("The KVM device to boot the guests on.", valueName: "path"))
        var device: String = "/dev/kvm"

        func validate() throws {
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
                for exitCase in CaseRunner.catalogue {
                    print("\(exitCase.id.padding(toLength: 34, withPad: " ", startingAt: 0)) \(exitCase.exitsTo.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)) \(exitCase.mechanism)")
                }
                return
            }
            var options = BenchOptions()
            options.budgetSeconds = try Self.seconds(budget)
            options.devicePath = device
            options.cases = cases.map { $0.split(separator: ",").map { String($0).trimmed } } ?? []
            let (_, unknown) = BenchSuite.select(options.cases, from: CaseRunner.catalogue)
            guard unknown.isEmpty else {
                throw ValidationError("--cases: no case named \(unknown.joined(separator: ", ")) (see --list)")
            }
            let quiet = self.quiet
            let (report, kvmError) = BenchSuite(options: options).run { event in
                guard !quiet else { return }
                printError(BenchText.progressLine(event))
            }
            let data = try SnapshotFile.encodeJSON(report)
            if let output {
                do { try AtomicFile.write(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
            }
            if json {
                FileHandle.standardOutput.write(data)
            } else {
                FileOutput.write(BenchText.render(report), to: 1)
            }
            if let kvmError {
                printError(kvmError.description)
                throw ExitCode(kvmError.isPermissionDenied ? ExitStatus.permissionDenied : ExitStatus.unavailable)
            }
        }
    }
}
