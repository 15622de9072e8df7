// `nestprobe history`: regression tracking over time. Bench reports are stored (SQLite by default,
// PostgreSQL with --db postgres://…), grouped by machine fingerprint and label; `trend` shows each case's
// series, `check` finds change points and exits 2/4/0 like compare, `baseline` names the reports of the last
// stable segment for compare.

import ArgumentParser
import Documents
import Foundation
import History
import Probe

extension Nestprobe {
    /// The history's subcommands.
    struct HistoryCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Keep bench reports over time and find when a case changed.",
            discussion: """
                The history lives in a SQLite file (default $XDG_DATA_HOME/nestprobe/history.sqlite, else \
                ~/.local/share/nestprobe/history.sqlite; NESTPROBE_HISTORY_DB or --db FILE choose another) or, \
                shared by many machines, in PostgreSQL (--db postgres://user@host:port/database).

                Exit codes: 0 ok (check: no change point in the newest window); 2 check: a regression change \
                point in the newest window; 4 check: improvements only there; 65 a report is not a valid bench \
                report (nothing is stored), or the database was written by a newer nestprobe; 66 a report is \
                missing or unreadable; 69 the database cannot be reached or opened; 73 the output file cannot \
                be written.
                """,
            subcommands: [Add.self, List.self, Trend.self, Check.self, Baseline.self, Export.self])
    }
}

/// Options every history subcommand takes.
struct HistoryOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("The history: a SQLite file, or postgres://user@host:port/database.", valueName: "db"),
        completion: .file())
    var db: String?

    @Option(help: "Seconds to wait for a PostgreSQL server before giving up.")
    var connectTimeout: Double = 10

    /// Opens the store, or exits with the error's code.
    func open() throws -> any HistoryStore {
        do { return try HistoryDatabase.open(db, connectTimeout: connectTimeout) } catch { throw historyFail(error) }
    }
}

/// Which machine, label and series a subcommand looks at.
struct SeriesOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The machine's fingerprint key (or its first 4+ digits); all when omitted.", valueName: "key"))
    var machine: String?

    @Option(help: "Only the series with this label.")
    var label: String?

    @Option(help: "The figure: gross (the timed loop per exit) or net (less the same guest's baseline).")
    var figure: SeriesFigure = .gross

    @Flag(help: "Keep the machine's level between reports in the series (it is divided out by default).")
    var keepShift = false

    @Flag(help: "Keep the machine's level between the runs of a report (each run is divided by it by default).")
    var keepRunLevels = false

    @Option(help: ArgumentHelp("Judge or show only cases whose id matches this glob (repeatable).", valueName: "glob"))
    var cases: [String] = []

    @Option(help: ArgumentHelp("Leave out cases whose id matches this glob (repeatable).", valueName: "glob"))
    var exclude: [String] = []

    @Flag(help: "Also judge exits of emulated guest modes other than to user space, and rows that time no exit.")
    var judgeAll = false

    /// CheckOptions with these choices.
    var checkOptions: CheckOptions {
        var options = CheckOptions()
        options.figure = figure
        options.normalize = !keepShift
        options.runLevels = !keepRunLevels
        options.cases = cases
        options.exclude = exclude
        options.judgeAll = judgeAll
        return options
    }
}

extension SeriesFigure: ExpressibleByArgument {}
extension HistoryFormat: ExpressibleByArgument {}

/// Prints `error` as one line and returns its exit code.
func historyFail(_ error: HistoryError) -> ExitCode {
    printError(error.message)
    switch error.kind {
    case .badData: return ExitCode(ExitStatus.badInput)
    case .unavailable: return ExitCode(ExitStatus.unavailable)
    case .failure: return ExitCode(ExitStatus.failure)
    }
}

/// Writes `text` to `output` (atomically) or standard output.
func historyEmit(_ text: String, to output: String?) throws {
    do { try FileOutput.emit(Data(text.utf8), to: output) } catch { throw ExitStatus.fail(error, writing: true) }
}

extension Nestprobe.HistoryCommand {
    /// `history add`.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store bench reports (the same report twice is stored once).",
            discussion: """
                Every report is read and checked first; if any is not a valid bench report nothing is stored \
                (exit 65). Each report is then stored in one transaction.
                """)

        @OptionGroup var options: HistoryOptions

        @Option(
            help:
                "A label for the series (instance type, host group); reports of one machine and label form one series.")
        var label = ""

        @Argument(
            help: ArgumentHelp("Bench reports (nestprobe bench -o FILE).", valueName: "report"),
            completion: .file(extensions: ["json"]))
        var reports: [String]

        func validate() throws {
            guard !reports.isEmpty else { throw ValidationError("name at least one report") }
        }

        func run() throws {
            var records: [HistoryRecord] = []
            for path in reports {
                do { records.append(try HistoryRecord.load(path, label: label)) } catch { throw ExitStatus.fail(error) }
            }
            let store = try options.open()
            defer { store.close() }
            for record in records {
                let outcome: AddOutcome
                do { outcome = try store.add(record) } catch { throw historyFail(error) }
                switch outcome {
                case .added(let id):
                    print("added \(record.file): report \(id), machine \(record.fingerprint.key)")
                case .duplicate(let id):
                    print("already stored \(record.file): report \(id)")
                }
            }
        }
    }

    /// `history list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the machines (fingerprint and label) in the history, or one machine's reports.")

        @OptionGroup var options: HistoryOptions

        @Option(
            help: ArgumentHelp(
                "List this machine's reports (fingerprint key or its first 4+ digits).", valueName: "key"))
        var machine: String?

        @Option(help: "Only this label.")
        var label: String?

        @Option(name: .shortAndLong, help: "text, markdown or csv.")
        var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func validate() throws {
            guard [.text, .markdown, .csv].contains(format) else {
                throw ValidationError("list writes text, markdown or csv")
            }
        }

        func run() throws {
            try FileOutput.preflight(output)
            let store = try options.open()
            defer { store.close() }
            do {
                let machines = try store.machines(matching: machine, label: label)
                guard machine != nil else {
                    try historyEmit(HistoryText.machines(machines, format: format), to: output)
                    return
                }
                var text = ""
                for m in machines {
                    if format == .text { text += HistoryText.machines([m], format: .text) }
                    text += HistoryText.reports(try store.reports(machine: m.id), format: format)
                }
                try historyEmit(text, to: output)
            } catch let error as HistoryError {
                throw historyFail(error)
            }
        }
    }

    /// `history trend`.
    struct Trend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each case's series: first and last report median, a sparkline and the change points.",
            discussion:
                "html: one self-contained page with an SVG plot per case (points per report, segment medians as steps, change points marked)."
        )

        @OptionGroup var options: HistoryOptions
        @OptionGroup var series: SeriesOptions

        @Option(name: .shortAndLong, help: "text, markdown, csv or html.")
        var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func validate() throws {
            guard [.text, .markdown, .csv, .html].contains(format) else {
                throw ValidationError("trend writes text, markdown, csv or html")
            }
        }

        func run() throws {
            try FileOutput.preflight(output)
            let store = try options.open()
            defer { store.close() }
            do {
                var text = ""
                var checkOptions = series.checkOptions
                checkOptions.judgeAll = checkOptions.judgeAll || !series.cases.isEmpty
                for m in try store.machines(matching: series.machine, label: series.label) {
                    let result = try HistoryCheck.run(store: store, machine: m, options: checkOptions, keepSeries: true)
                    let reports = try store.reports(machine: m.id)
                    if format == .html {
                        text += HistoryHTML.page(result, reports: reports)
                    } else {
                        if format == .text { text += HistoryText.machines([m], format: .text) }
                        text += HistoryText.trend(
                            result.cases, reports: reports, options: checkOptions, format: format)
                    }
                }
                try historyEmit(text, to: output)
            } catch let error as HistoryError {
                throw historyFail(error)
            }
        }
    }

    /// `history check`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find change points in every case's series; exit 2 for a regression in the newest reports.",
            discussion: """
                E-divisive means (Matteson & James 2014) over each case's report medians (a report is one \
                point, however many runs it has), each split kept by a permutation test; each case's first \
                split is kept by Benjamini–Hochberg at --p-value across the cases judged, and only the R cases \
                kept are split further, at --p-value × R / cases (in a history where nothing changed, a false \
                split anywhere has a chance of at most --p-value; permutations are raised to reach these \
                levels); a kept split whose medians differ by less than --threshold is not reported. The newest \
                report is also tested on its own: its robust z-score against the reports of the segment before \
                it, ranked among the earlier reports' scores of every judged case, adjusted across the cases \
                (Benjamini–Hochberg at --alpha). \
                Exit 2 when a slower change point falls in the newest --window reports, 4 when only faster \
                ones do, else 0.
                """)

        @OptionGroup var options: HistoryOptions
        @OptionGroup var series: SeriesOptions

        @Option(help: "The smallest change reported, percent of the median before.")
        var threshold = 5.0

        @Option(help: "The newest this many reports decide the exit code.")
        var window = 5

        @Option(help: "The permutation test's level across all the cases judged (Benjamini–Hochberg).")
        var pValue = 0.05

        @Option(help: "Permutations per test, at least (more where a case's level needs them).")
        var permutations = 199

        @Option(help: "The false discovery rate of the newest report's tests across the cases.")
        var alpha = 0.05

        @Option(help: "Seed of the permutations.")
        var seed: UInt64 = 0x6e65_7374_7072_6f62

        @Option(name: .shortAndLong, help: "text, markdown, csv, junit or json.")
        var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func validate() throws {
            guard threshold >= 0, threshold.isFinite else { throw ValidationError("--threshold must be ≥ 0") }
            guard window >= 1 else { throw ValidationError("--window must be at least 1") }
            guard pValue > 0, pValue < 1 else { throw ValidationError("--p-value must lie between 0 and 1") }
            guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must lie between 0 and 1") }
            guard (19...100_000).contains(permutations) else {
                throw ValidationError("--permutations must lie between 19 and 100000")
            }
            guard format != .html else { throw ValidationError("check writes text, markdown, csv, junit or json") }
        }

        func run() throws {
            try FileOutput.preflight(output)
            let store = try options.open()
            defer { store.close() }
            var checkOptions = series.checkOptions
            checkOptions.thresholdPercent = threshold
            checkOptions.window = window
            checkOptions.detector = EDivisive(pValue: pValue, permutations: permutations, seed: seed)
            checkOptions.newestAlpha = alpha
            var results: [CheckResult] = []
            do {
                var text = ""
                for m in try store.machines(matching: series.machine, label: series.label) {
                    let result = try HistoryCheck.run(store: store, machine: m, options: checkOptions)
                    if format != .json { text += HistoryText.check(result, format: format) }
                    results.append(result)
                }
                if format == .json {
                    let document = HistoryCheckDocument(results, options: checkOptions)
                    let data: Data
                    do { data = try DocumentFile.encodeJSON(document, from: store.name) } catch {
                        throw ExitStatus.fail(error)
                    }
                    do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
                } else {
                    try historyEmit(text, to: output)
                }
            } catch let error as HistoryError {
                throw historyFail(error)
            }
            // A regression anywhere wins; improvements only where nothing regressed.
            let code = HistoryCheck.combinedExitCode(results.map(\.exitCode))
            if code != 0 { throw ExitCode(code) }
        }
    }

    /// `history baseline`.
    struct Baseline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The files of the last stable segment's reports, one a line, as a baseline for compare.",
            discussion: """
                The reports after the latest change point of any judged case, up to (not including) the newest \
                report; when the newest report is itself a change point, the segment before it. For example: \
                nestprobe compare $(nestprobe history baseline --machine KEY) -- new.bench.json
                """)

        @OptionGroup var options: HistoryOptions
        @OptionGroup var series: SeriesOptions

        @Option(help: "At most this many reports (the newest of the segment).")
        var limit = 10

        @Option(help: "The smallest change that ends a segment, percent.")
        var threshold = 5.0

        func run() throws {
            let store = try options.open()
            defer { store.close() }
            var checkOptions = series.checkOptions
            checkOptions.thresholdPercent = threshold
            do {
                let machines = try store.machines(matching: series.machine, label: series.label)
                guard machines.count == 1 else {
                    printError(
                        "\(store.name): \(machines.count) machines match; name one with --machine (\(machines.map(\.key).joined(separator: ", ")))"
                    )
                    throw ExitCode(ExitStatus.usage)
                }
                let result = try HistoryCheck.run(store: store, machine: machines[0], options: checkOptions)
                let reports = try store.reports(machine: machines[0].id)
                for report in HistoryCheck.baseline(result, reports: reports, limit: limit) { print(report.file) }
            } catch let error as HistoryError {
                throw historyFail(error)
            }
        }
    }

    /// `history export`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every stored run as CSV: machine, label, report, case, run, gross and net cycles per exit.")

        @OptionGroup var options: HistoryOptions

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func run() throws {
            try FileOutput.preflight(output)
            let store = try options.open()
            defer { store.close() }
            do {
                try historyEmit(try HistoryExport.csv(store), to: output)
            } catch let error as HistoryError {
                throw historyFail(error)
            }
        }
    }
}
