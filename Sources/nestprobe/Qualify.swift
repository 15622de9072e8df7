// `nestprobe qualify`: pass/fail of a bench report against a policy (built in, or a file), for instance
// qualification in CI — exit 0 qualified, 3 not; text, JSON or JUnit XML. Without a report it runs the bench
// first, and `--report-out` keeps the report it measured.

import ArgumentParser
import NestprobeCLI
import Bench
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Probe
import Report

extension Nestprobe {
    struct Qualify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a bench report against a qualification policy: exit 0 qualified, 3 not qualified.",
            discussion: """
                The policy is a built-in one by name (--list-policies shows them: the files of Reports/policies/, \
                compiled in) or a JSON file (docs/policy.md, Reports/schema/policy-v1.schema.json). A value with \
                a '/' or ending in .json is a file; any other value is a built-in policy's name, or, when no \
                policy is built in by that name, a file of that name (write ./NAME for a file that a built-in \
                name would hide). A policy sets: required level, KVM usable, nesting offered to guests, hypervisors and \
                mechanisms allowed, cases that must run, limits on p50/p90/p99 and net medians of this level's \
                and the guests' exits, limits on the multiplier. Each rule is reported with the measured value \
                and the limit.

                Without REPORT, nestprobe benches this machine first (default options; progress on standard \
                error unless --quiet) and qualifies that report; without a usable /dev/kvm the report holds this \
                level's figures alone, and every rule on guest cases fails as not measured. --report-out FILE \
                keeps that report (atomically, as -o), for render, compare or another qualify.

                Exit codes: 0 qualified; 3 not qualified (a rule failed); 64 usage error, or a --policy name \
                that is neither built in nor a file (one line listing the built-in names); 65 the policy or the \
                report is malformed (one line naming the file and the field); 66 a file is missing or \
                unreadable; 73 an output file cannot be written (each output path is checked before the bench: \
                a missing folder, a directory or a read-only file system fails at once, and nothing is made).
                """)

        @Option(
            help: ArgumentHelp(
                "A built-in policy's name (--list-policies), or a policy file (JSON, schema nestprobe.policy version 1).",
                valueName: "name|file"),
            completion: .file())
        var policy: String?

        @Flag(help: "List the built-in policies, one a line: the name and what it asks for.")
        var listPolicies = false

        @Argument(
            help: ArgumentHelp(
                "A report from `nestprobe bench -o`; without it, bench this machine now.",
                valueName: "report"),
            completion: .file(extensions: ["json"]))
        var report: String?

        @Option(
            help: ArgumentHelp(
                "Also write the bench report measured now (without REPORT) to this file, atomically.",
                valueName: "file"),
            completion: .file())
        var reportOut: String?

        @Flag(help: "Print the qualification as JSON (schema Reports/schema/qualification-v1.schema.json).")
        var json = false

        @Option(
            help: ArgumentHelp(
                "Also write JUnit XML (one test case per rule) to this file, atomically.",
                valueName: "file"),
            completion: .file())
        var junit: String?

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(
                "Write the text or JSON to this file (atomically) instead of standard output.", valueName: "file"),
            completion: .file())
        var output: String?

        @Flag(help: "No bench progress lines on standard error.")
        var quiet = false

        func validate() throws {
            if listPolicies {
                guard policy == nil, report == nil, reportOut == nil, junit == nil, !json else {
                    throw ValidationError("--list-policies takes no other option or report")
                }
                return
            }
            guard policy != nil else {
                throw ValidationError(
                    "name a policy: --policy NAME (built in: \(BuiltinPolicy.names.joined(separator: ", "))) or --policy FILE"
                )
            }
            if report != nil, reportOut != nil {
                throw ValidationError("--report-out keeps the report qualify measures; with REPORT nothing is measured")
            }
        }

        func run() throws {
            if listPolicies {
                let width = (BuiltinPolicy.names.map(\.count).max() ?? 0) + 2
                var text = ""
                for name in BuiltinPolicy.names {
                    let summary = BuiltinPolicy.named(name)?.summary(vocabulary: .thisBuild) ?? ""
                    text += name + String(repeating: " ", count: width - name.count) + summary + "\n"
                }
                do { try FileOutput.emit(Data(text.utf8), to: output) } catch {
                    throw ExitStatus.fail(error, writing: true)
                }
                return
            }
            // The policy first: a broken policy should not cost a bench run.
            let (loadedPolicy, policyFile) = try Self.loadPolicy(policy ?? "")
            // Then the output files, which are written after the bench: a path that cannot take its file
            // fails now, with the writer's line and exit 73, and nothing is made there.
            try FileOutput.preflight(reportOut, dash: false)
            try FileOutput.preflight(junit, dash: false)
            try FileOutput.preflight(output)
            let bench: BenchReport
            if let report {
                do { bench = try ReportFile.load(report) } catch { throw ExitStatus.fail(error) }
                // A report slowed on purpose (bench --inject-exit-delay) measures the gate, not the machine.
                if let delay = bench.context.injectedExitDelay {
                    throw ExitStatus.fail(
                        InputError(
                            .badData,
                            "\(report): made with --inject-exit-delay \(delay.requested) (a diagnostic slowdown of "
                                + "\(CheckedNumber.wholeText(delay.delayCycles)) cycles per exit to user space): "
                                + "not a measurement to qualify a machine on"))
                }
            } else {
                bench = measure()
                if let reportOut {
                    do {
                        try AtomicFile.write(
                            try DocumentFile.encodeJSON(bench, from: "this machine's bench"), to: reportOut)
                    } catch {
                        throw ExitStatus.fail(error, writing: true)
                    }
                }
            }
            let qualification = Qualification(
                policy: loadedPolicy, policyFile: policyFile, report: bench, reportFile: report)
            if let junit {
                do {
                    try AtomicFile.write(Data(QualificationJUnit.render(qualification).utf8), to: junit)
                } catch { throw ExitStatus.fail(error, writing: true) }
            }
            let data: Data
            if json {
                do { data = try DocumentFile.encodeJSON(qualification, from: report ?? "this machine's bench") } catch {
                    throw ExitStatus.fail(error)
                }
            } else {
                let colour = output == nil && FileOutput.colourWanted
                data = Data(QualificationText(width: FileOutput.width, colour: colour).render(qualification).utf8)
            }
            do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
            if !qualification.qualified { throw ExitCode(ExitStatus.notQualified) }
        }

        /// The policy `argument` names (PolicySource.resolve) and its file (nil for a built-in one), or the
        /// exit: 64 for a name that is neither built in nor a file, 65 and 66 as for any input file.
        static func loadPolicy(_ argument: String) throws -> (Policy, String?) {
            let source = PolicySource.resolve(argument) { FileManager.default.fileExists(atPath: $0) }
            do {
                switch source {
                case .builtIn(let builtIn): return (try builtIn.policy(vocabulary: .thisBuild), nil)
                case .file(let path): return (try PolicyFile.load(path, vocabulary: .thisBuild), path)
                case .unknownName(let name):
                    printError(
                        "--policy \(name): no built-in policy and no file by that name (built in: "
                            + "\(BuiltinPolicy.names.joined(separator: ", ")); a file: a path with '/' or ending in .json)"
                    )
                    throw ExitCode(ExitStatus.usage)
                }
            } catch let error as InputError { throw ExitStatus.fail(error) }
        }

        /// Benches this machine with the default options; a KVM problem is reported and the report kept.
        func measure() -> BenchReport {
            let quiet = self.quiet
            let (report, kvmError) = BenchSuite(options: BenchOptions()).run { event in
                guard !quiet else { return }
                printError(BenchText.progressLine(event))
            }
            if let kvmError { printError("\(kvmError.description) (qualifying this level's figures alone)") }
            return report
        }
    }
}

extension PolicyVocabulary {
    /// The case ids of this build's catalogue: what a policy may name.
    static var thisBuild: PolicyVocabulary { PolicyVocabulary(caseIDs: ExitCase.catalogue.map(\.id)) }
}
