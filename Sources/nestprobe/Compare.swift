// `nestprobe compare`: regression verdicts between two bench reports, with the exit code a CI job acts on.

import ArgumentParser
import Bench
import Foundation
import Probe
import Report

extension Nestprobe {
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Compare two bench reports: per case the change of the median, its interval, its significance, a verdict.",
            discussion: """
                Each row compares cycles per exit (kept samples less the report's timing baseline median): the \
                change of the median with a 95 % bootstrap interval (10,000 resamples, fixed seed), a two-sided \
                Mann–Whitney U test, and a verdict. A change is a regression (or improvement) when it is past \
                its threshold (default 5 %), past the noise floor (the largest of 1 %, both medians' relative \
                95 % half-widths added, and one timer step) and p < alpha.

                Thresholds: --threshold 10 sets the default, --threshold cpuid-0/real=3 one case (repeatable); \
                --thresholds FILE reads {"default": 5, "cases": {"cpuid-0/real": 3}}; the command line wins.

                Reports from another CPU, kernel, KVM module, hypervisor or level are refused (exit 65) unless \
                --force, which compares them with a WARNING per difference. Name JSON outputs *.compare.json \
                (schema Reports/schema/compare-v1.schema.json).

                Exit codes (as package-benchmark): 0 no change; 2 at least one regression; 4 improvements only; \
                64 usage error; 65 bad input or reports not comparable; 66 a file missing or unreadable; \
                73 output file cannot be written.
                """)

        @Argument(help: ArgumentHelp("The baseline bench report (nestprobe bench -o).", valueName: "base"))
        var base: String

        @Argument(help: ArgumentHelp("The bench report to judge against it.", valueName: "new"))
        var new: String

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Threshold in percent: the default (10), or one case (cpuid-0/real=3); repeatable.",
                valueName: "pct|id=pct"))
        var threshold: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp("A threshold file: {\"default\": 5, \"cases\": {\"id\": pct}}.", valueName: "file"))
        var thresholds: String?

        @Option(help: "Significance level of the Mann–Whitney test.")
        var alpha: Double = 0.05

        @Flag(help: "Compare reports from different CPUs, kernels or levels, with a WARNING for each difference.")
        var force = false

        @Flag(help: "Print the comparison as JSON (schema Reports/schema/compare-v1.schema.json).")
        var json = false

        @Option(name: .shortAndLong, help: "Write the output to this file (atomically) instead of standard output.")
        var output: String?

        func validate() throws {
            guard alpha > 0, alpha < 1 else {
                throw ValidationError("--alpha: expected a value between 0 and 1, got \(alpha)")
            }
            for text in threshold {
                if case .failure(let error) = Thresholds.parseArgument(text) {
                    throw ValidationError("--threshold \(error)")
                }
            }
        }

        func run() throws {
            let document: CompareReport
            do {
                let baseReport = try ReportFile.load(base)
                let newReport = try ReportFile.load(new)
                var options = CompareOptions()
                options.alpha = alpha
                options.force = force
                options.thresholds = try combinedThresholds(base: baseReport, new: newReport)
                document = try Comparison.compare(
                    base: baseReport, new: newReport, baseFile: base, newFile: new, options: options)
            } catch {
                throw ExitStatus.fail(error)
            }
            let data: Data
            do {
                data =
                    json
                    ? try SnapshotFile.encodeJSON(document, from: "\(base) and \(new)")
                    : Data(CompareText.render(document).utf8)
            } catch { throw ExitStatus.fail(error) }
            do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
            // The text carries its warnings; JSON and files get them on standard error too, so they are seen.
            if json || (output != nil && output != "-") {
                for difference in document.differences {
                    printError(
                        (difference.severity == .refuse ? "WARNING: " : "warning: ") + difference.line
                            + (difference.severity == .refuse ? " (compared because of --force)" : ""))
                }
                for note in document.notes { printError("note: \(note)") }
            }
            switch document.summary.verdict {
            case .regression: throw ExitCode(ExitStatus.regression)
            case .improvement: throw ExitCode(ExitStatus.improvementOnly)
            case .unchanged: return
            }
        }

        /// The file's thresholds, then the command line's default, then its cases; a case id that neither
        /// report has is refused.
        func combinedThresholds(base: BenchReport, new: BenchReport) throws(InputError) -> Thresholds {
            var result = Thresholds()
            if let thresholds {
                let file = try Thresholds.load(thresholds)
                try Thresholds.refuseUnknown(file.cases.keys, base: base, new: new, source: thresholds)
                result = result.overlaid(default: file.defaultPercent, cases: file.cases)
            }
            for text in threshold {
                guard case .success(let parsed) = Thresholds.parseArgument(text) else { continue }
                if let id = parsed.id {
                    try Thresholds.refuseUnknown([id], base: base, new: new, source: "--threshold \(text)")
                }
                result =
                    parsed.id.map { result.overlaid(default: nil, cases: [$0: parsed.percent]) }
                    ?? result.overlaid(default: parsed.percent, cases: [:])
            }
            return result
        }
    }
}
