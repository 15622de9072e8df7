// `nestprobe compare`: regression verdicts between bench reports, judged on their runs, with the exit code a CI
// job acts on.

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
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Compare bench reports on their runs: per case the change, its interval, the detectable change, a verdict.",
            discussion: """
                compare BASE NEW, or compare B1 B2 ... -- N1 N2 ...: with two or more reports a side (take 4 \
                bench --runs 4 a side for a gate), each report is one replicate: the machine's level is taken \
                out of every report (the shorth of its rows), and each row is tested on the reports' figures \
                with a moderated t (empirical Bayes over the judged rows), Holm-adjusted; a machine that moved \
                as a whole between the sides makes the unmoved rows inconclusive. With one report a side \
                (or --pool), the runs of all reports are pooled (a report without per-run data is one run) and \
                judged as follows. Each row judges cycles per exit per run: net (less \
                the timing baseline) or gross when the net is below resolution on a side. Per row: the change of \
                the median of the runs, a 95 % two-stage bootstrap interval (runs, then samples), a two-sided \
                Mann–Whitney U test on the run figures (exact for few runs), Holm-adjusted over the judged rows, \
                and the smallest change the runs could detect with 80 % power. regressed: adjusted p < alpha, \
                change past the threshold (default 5 %) and the interval above 0; improved likewise below; \
                inconclusive: past the threshold but not established, or too few runs to reach the level.

                Not judged by default: in-kernel exits of emulated guest modes (--judge-all judges them). \
                --cases/--exclude PATTERN (glob on the id, repeatable) choose rows. A case the base has and the \
                new reports lost is MISSING: exit 5 unless --allow-missing.

                Thresholds: --threshold 10 sets the default, --threshold cpuid-0/real=3 one case (repeatable); \
                --thresholds FILE reads {"default": 5, "cases": {"cpuid-0/real": 3}}; the command line wins.

                Reports from another CPU, kernel, KVM module, hypervisor or level are refused (exit 65) unless \
                --force. JSON: schema Reports/schema/compare-v3.schema.json.

                Exit codes: 0 the same; 2 at least one regression; 5 inconclusive (no regression; a row \
                inconclusive, a case missing, or nothing judged); 4 improvements only; 64 usage error; 65 bad \
                input or reports not comparable; 66 a file missing or unreadable; 73 output file cannot be written.
                """)

        @Argument(
            help: ArgumentHelp("BASE NEW, or base reports, --, new reports.", valueName: "report"),
            completion: .file(extensions: ["json"]))
        var reports: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Threshold in percent: the default (10), or one case (cpuid-0/real=3); repeatable.",
                valueName: "pct|id=pct"))
        var threshold: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp("A threshold file: {\"default\": 5, \"cases\": {\"id\": pct}}.", valueName: "file"),
            completion: .file())
        var thresholds: String?

        @Option(
            name: .long,
            help: ArgumentHelp("Judge only the cases whose id matches (glob); repeatable.", valueName: "pattern"))
        var cases: [String] = []

        @Option(
            name: .long,
            help: ArgumentHelp("Do not judge the cases whose id matches (glob); repeatable.", valueName: "pattern"))
        var exclude: [String] = []

        @Flag(help: "Judge also the rows the reports mark untrustworthy (in-kernel exits of emulated guests).")
        var judgeAll = false

        @Flag(help: "Cases lost in the new reports do not make the verdict inconclusive.")
        var allowMissing = false

        @Flag(
            help:
                "Pool the runs of every report of a side, as if one invocation had made them, instead of testing on reports."
        )
        var pool = false

        @Option(help: "Family-wise significance level (Holm over the judged rows).")
        var alpha: Double = 0.05

        @Flag(help: "Compare reports from different CPUs, kernels or levels, with a WARNING for each difference.")
        var force = false

        @Option(name: .long, help: "Output format: text, markdown, junit or json.")
        var format: CompareFormat = .text

        @Flag(help: "The same as --format json.")
        var json = false

        @Option(
            name: .shortAndLong, help: "Write the output to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        /// How many of `reports` came after a `--` (the argument parser takes them into the same array).
        var afterTerminator: Int {
            let arguments = CommandLine.arguments
            guard let terminator = arguments.firstIndex(of: "--") else { return 0 }
            return min(reports.count, arguments.count - terminator - 1)
        }

        /// The base and new report paths.
        var sides: (base: [String], new: [String]) {
            let split = afterTerminator == 0 ? 1 : reports.count - afterTerminator
            return (Array(reports.prefix(split)), Array(reports.dropFirst(split)))
        }

        func validate() throws {
            guard alpha > 0, alpha < 1 else {
                throw ValidationError("--alpha: expected a value between 0 and 1, got \(alpha)")
            }
            if afterTerminator == 0 && reports.count != 2 {
                throw ValidationError(
                    "expected two reports (BASE NEW), or base reports, --, new reports; got \(reports.count)")
            }
            if afterTerminator > 0 && afterTerminator == reports.count {
                throw ValidationError("no base report before --")
            }
            for text in threshold {
                if case .failure(let error) = Thresholds.parseArgument(text) {
                    throw ValidationError("--threshold \(error)")
                }
            }
        }

        func run() throws {
            try FileOutput.preflight(output)
            let document: RunCompareReport
            do {
                let load = { (path: String) throws(InputError) in
                    NamedReport(file: path, report: try ReportFile.load(path))
                }
                var baseReports: [NamedReport] = []
                for path in sides.base { baseReports.append(try load(path)) }
                var newReportsLoaded: [NamedReport] = []
                for path in sides.new { newReportsLoaded.append(try load(path)) }
                var options = RunCompareOptions()
                options.alpha = alpha
                options.force = force
                options.thresholds = try combinedThresholds((baseReports + newReportsLoaded).map(\.report))
                options.selection = RowSelection(cases: cases, exclude: exclude, judgeAll: judgeAll)
                options.allowMissing = allowMissing
                options.replicates = !pool
                document = try RunComparison.compare(base: baseReports, new: newReportsLoaded, options: options)
            } catch {
                throw ExitStatus.fail(error)
            }
            let chosen = json ? CompareFormat.json : format
            let data: Data
            do {
                data =
                    chosen == .json
                    ? try DocumentFile.encodeJSON(document, from: (sides.base + sides.new).joined(separator: ", "))
                    : try chosen.render(document)
            } catch let error as InputError {
                throw ExitStatus.fail(error)
            }
            do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
            // The text carries its warnings; other formats and files get them on standard error too.
            if chosen != .text || (output != nil && output != "-") {
                for difference in document.differences {
                    printError(
                        (difference.severity == .refuse ? "WARNING: " : "warning: ") + difference.line
                            + (difference.severity == .refuse ? " (compared because of --force)" : ""))
                }
                for note in document.notes { printError("note: \(note)") }
            }
            switch document.summary.exitCode {
            case 2: throw ExitCode(ExitStatus.regression)
            case 5: throw ExitCode(ExitStatus.inconclusive)
            case 4: throw ExitCode(ExitStatus.improvementOnly)
            default: return
            }
        }

        /// The file's thresholds, then the command line's default, then its cases; a case id that neither
        /// report has is refused.
        func combinedThresholds(_ reports: [BenchReport]) throws(InputError) -> Thresholds {
            var result = Thresholds()
            if let thresholds {
                let file = try Thresholds.load(thresholds)
                try Thresholds.refuseUnknown(file.cases.keys, in: reports, source: thresholds)
                result = result.overlaid(default: file.defaultPercent, cases: file.cases)
            }
            for text in threshold {
                guard case .success(let parsed) = Thresholds.parseArgument(text) else { continue }
                if let id = parsed.id {
                    try Thresholds.refuseUnknown([id], in: reports, source: "--threshold \(text)")
                }
                result =
                    parsed.id.map { result.overlaid(default: nil, cases: [$0: parsed.percent]) }
                    ?? result.overlaid(default: parsed.percent, cases: [:])
            }
            return result
        }
    }
}

extension CompareFormat: ExpressibleByArgument {}
