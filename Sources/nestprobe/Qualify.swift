// `nestprobe qualify`: pass/fail of a bench report against a policy file, for instance qualification in
// CI — exit 0 qualified, 3 not; text, JSON or JUnit XML. Without a report it runs the bench first.

import ArgumentParser
import Bench
import Foundation
import Probe
import Report

extension Nestprobe {
    struct Qualify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a bench report against a qualification policy: exit 0 qualified, 3 not qualified.",
            discussion: """
                The policy is a JSON file (docs/policy.md, Reports/schema/policy-v1.schema.json; examples in \
                Reports/policies/): required level, KVM usable, nesting offered to guests, hypervisors and \
                mechanisms allowed, cases that must run, limits on p50/p90/p99 and net medians of this level's \
                and the guests' exits, limits on the multiplier. Each rule is reported with the measured value \
                and the limit.

                Without REPORT, nestprobe benches this machine first (default options; progress on standard \
                error unless --quiet) and qualifies that report; without a usable /dev/kvm the report holds this \
                level's figures alone, and every rule on guest cases fails as not measured.

                Exit codes: 0 qualified; 3 not qualified (a rule failed); 64 usage error; 65 the policy or the \
                report is malformed (one line naming the file and the field); 66 a file is missing or \
                unreadable; 73 an output file cannot be written.
                """)

        @Option(help: ArgumentHelp("The policy file (JSON, schema nestprobe.policy version 1).", valueName: "file"))
        var policy: String

        @Argument(
            help: ArgumentHelp(
                "A report from `nestprobe bench -o`; without it, bench this machine now.",
                valueName: "report"))
        var report: String?

        @Flag(help: "Print the qualification as JSON (schema Reports/schema/qualification-v1.schema.json).")
        var json = false

        @Option(
            help: ArgumentHelp(
                "Also write JUnit XML (one test case per rule) to this file, atomically.",
                valueName: "file"))
        var junit: String?

        @Option(
            name: .shortAndLong,
            help: ArgumentHelp(
                "Write the text or JSON to this file (atomically) instead of standard output.", valueName: "file"))
        var output: String?

        @Flag(help: "No bench progress lines on standard error.")
        var quiet = false

        func run() throws {
            // The policy first: a broken policy should not cost a bench run.
            let loadedPolicy: Policy
            do { loadedPolicy = try PolicyFile.load(policy, vocabulary: .thisBuild) } catch {
                throw ExitStatus.fail(error)
            }
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
            }
            let qualification = Qualification(
                policy: loadedPolicy, policyFile: policy, report: bench, reportFile: report)
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
