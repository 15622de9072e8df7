// `nestprobe history`: regression tracking over time. Bench reports are stored (SQLite by default,
// PostgreSQL with --db postgres://…), grouped by machine fingerprint and label; `trend` shows each case's
// series, `check` finds change points and exits 2/4/0 like compare, `baseline` names the reports of the last
// stable segment for compare.
//
// Here are the commands' arguments, help and checks only, so that the core nestprobe parses, documents and
// completes them without linking the history store (GRDB, SQLite, postgres-nio, full Foundation). Their work
// is done by the nestprobe-history executable: it installs `HistoryActions` before parsing; nestprobe installs
// nothing, and `perform` hands the command line to nestprobe-history (HistoryForwarding.swift).

import ArgumentParser
import Documents
import Synchronization

/// Does the work of the history's subcommands (nestprobe-history installs its store-backed implementation).
public protocol HistoryActions: Sendable {
    /// Runs `command`, one of HistoryCommand's subcommands, parsed and validated.
    func run(_ command: any ParsableCommand) throws
}

extension HistoryCommand {
    /// The installed actions; nil in nestprobe, which forwards.
    private static let installed = Mutex<(any HistoryActions)?>(nil)

    /// Makes `actions` do the subcommands' work in this process.
    public static func install(_ actions: any HistoryActions) {
        installed.withLock { $0 = actions }
    }

    /// Runs `command` with the installed actions, or hands this process's command line to nestprobe-history.
    static func perform(_ command: any ParsableCommand) throws {
        if let actions = installed.withLock({ $0 }) {
            try actions.run(command)
        } else {
            throw HistoryForwarding.forward()
        }
    }
}

extension SeriesFigure: ExpressibleByArgument {}
extension HistoryFormat: ExpressibleByArgument {}

/// `nestprobe history`: its subcommands, options and help. The store's work is done by nestprobe-history
/// (HistoryCommand.perform).
public struct HistoryCommand: ParsableCommand {
    /// For ArgumentParser.
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Keep bench reports over time and find when a case changed.",
        discussion: """
            The history lives in a SQLite file (default $XDG_DATA_HOME/nestprobe/history.sqlite, else \
            ~/.local/share/nestprobe/history.sqlite; NESTPROBE_HISTORY_DB or --db FILE choose another) or, \
            shared by many machines, in PostgreSQL (--db postgres://user@host:port/database).

            Exit codes: 0 ok (check: no change point in the newest window); 2 check: a regression change \
            point in the newest window; 4 check: improvements only there; 65 a report is not a valid bench \
            report (nothing is stored), or the database was written by a newer nestprobe; 66 a report is \
            missing or unreadable; 69 the database cannot be reached or opened, or nestprobe-history (which \
            does the work of these commands) is neither beside nestprobe nor on PATH; 73 the output file cannot \
            be written.
            """,
        subcommands: [Add.self, List.self, Trend.self, Check.self, Baseline.self, Export.self])
}

/// Options every history subcommand takes.
public struct HistoryOptions: ParsableArguments {
    /// For ArgumentParser.
    public init() {}

    @Option(
        help: ArgumentHelp("The history: a SQLite file, or postgres://user@host:port/database.", valueName: "db"),
        completion: .file())
    public var db: String?

    @Option(help: "Seconds to wait for a PostgreSQL server before giving up.")
    public var connectTimeout: Double = 10
}

/// Which machine, label and series a subcommand looks at.
public struct SeriesOptions: ParsableArguments {
    /// For ArgumentParser.
    public init() {}

    @Option(
        help: ArgumentHelp(
            "The machine's fingerprint key (or its first 4+ digits); all when omitted.", valueName: "key"))
    public var machine: String?

    @Option(help: "Only the series with this label.")
    public var label: String?

    @Option(help: "The figure: gross (the timed loop per exit) or net (less the same guest's baseline).")
    public var figure: SeriesFigure = .gross

    @Flag(help: "Keep the machine's level between reports in the series (it is divided out by default).")
    public var keepShift = false

    @Flag(help: "Keep the machine's level between the runs of a report (each run is divided by it by default).")
    public var keepRunLevels = false

    @Option(help: ArgumentHelp("Judge or show only cases whose id matches this glob (repeatable).", valueName: "glob"))
    public var cases: [String] = []

    @Option(help: ArgumentHelp("Leave out cases whose id matches this glob (repeatable).", valueName: "glob"))
    public var exclude: [String] = []

    @Flag(help: "Also judge exits of emulated guest modes other than to user space, and rows that time no exit.")
    public var judgeAll = false
}

extension HistoryCommand {
    /// `history add`.
    public struct Add: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
            abstract: "Store bench reports (the same report twice is stored once).",
            discussion: """
                Every report is read and checked first; if any is not a valid bench report nothing is stored \
                (exit 65). Each report is then stored in one transaction.
                """)

        @OptionGroup public var options: HistoryOptions

        @Option(
            help:
                "A label for the series (instance type, host group); reports of one machine and label form one series.")
        public var label = ""

        @Argument(
            help: ArgumentHelp("Bench reports (nestprobe bench -o FILE).", valueName: "report"),
            completion: .file(extensions: ["json"]))
        public var reports: [String]

        public func validate() throws {
            guard !reports.isEmpty else { throw ValidationError("name at least one report") }
        }

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }

    /// `history list`.
    public struct List: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
            abstract: "List the machines (fingerprint and label) in the history, or one machine's reports.")

        @OptionGroup public var options: HistoryOptions

        @Option(
            help: ArgumentHelp(
                "List this machine's reports (fingerprint key or its first 4+ digits).", valueName: "key"))
        public var machine: String?

        @Option(help: "Only this label.")
        public var label: String?

        @Option(name: .shortAndLong, help: "text, markdown or csv.")
        public var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        public var output: String?

        public func validate() throws {
            guard [.text, .markdown, .csv].contains(format) else {
                throw ValidationError("list writes text, markdown or csv")
            }
        }

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }

    /// `history trend`.
    public struct Trend: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
            abstract: "Each case's series: first and last report median, a sparkline and the change points.",
            discussion:
                "html: one self-contained page with an SVG plot per case (points per report, segment medians as steps, change points marked)."
        )

        @OptionGroup public var options: HistoryOptions
        @OptionGroup public var series: SeriesOptions

        @Option(name: .shortAndLong, help: "text, markdown, csv or html.")
        public var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        public var output: String?

        public func validate() throws {
            guard [.text, .markdown, .csv, .html].contains(format) else {
                throw ValidationError("trend writes text, markdown, csv or html")
            }
        }

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }

    /// `history check`.
    public struct Check: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
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

        @OptionGroup public var options: HistoryOptions
        @OptionGroup public var series: SeriesOptions

        @Option(help: "The smallest change reported, percent of the median before.")
        public var threshold = 5.0

        @Option(help: "The newest this many reports decide the exit code.")
        public var window = 5

        @Option(help: "The permutation test's level across all the cases judged (Benjamini–Hochberg).")
        public var pValue = 0.05

        @Option(help: "Permutations per test, at least (more where a case's level needs them).")
        public var permutations = 199

        @Option(help: "The false discovery rate of the newest report's tests across the cases.")
        public var alpha = 0.05

        @Option(help: "Seed of the permutations.")
        public var seed: UInt64 = 0x6e65_7374_7072_6f62

        @Option(name: .shortAndLong, help: "text, markdown, csv, junit or json.")
        public var format: HistoryFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        public var output: String?

        public func validate() throws {
            guard threshold >= 0, threshold.isFinite else { throw ValidationError("--threshold must be ≥ 0") }
            guard window >= 1 else { throw ValidationError("--window must be at least 1") }
            guard pValue > 0, pValue < 1 else { throw ValidationError("--p-value must lie between 0 and 1") }
            guard alpha > 0, alpha < 1 else { throw ValidationError("--alpha must lie between 0 and 1") }
            guard (19...100_000).contains(permutations) else {
                throw ValidationError("--permutations must lie between 19 and 100000")
            }
            guard format != .html else { throw ValidationError("check writes text, markdown, csv, junit or json") }
        }

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }

    /// `history baseline`.
    public struct Baseline: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
            abstract: "The files of the last stable segment's reports, one a line, as a baseline for compare.",
            discussion: """
                The reports after the latest change point of any judged case, up to (not including) the newest \
                report; when the newest report is itself a change point, the segment before it. For example: \
                nestprobe compare $(nestprobe history baseline --machine KEY) -- new.bench.json
                """)

        @OptionGroup public var options: HistoryOptions
        @OptionGroup public var series: SeriesOptions

        @Option(help: "At most this many reports (the newest of the segment).")
        public var limit = 10

        @Option(help: "The smallest change that ends a segment, percent.")
        public var threshold = 5.0

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }

    /// `history export`.
    public struct Export: ParsableCommand {
        /// For ArgumentParser.
        public init() {}

        public static let configuration = CommandConfiguration(
            abstract: "Every stored run as CSV: machine, label, report, case, run, gross and net cycles per exit.")

        @OptionGroup public var options: HistoryOptions

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        public var output: String?

        /// Done by nestprobe-history: `nestprobe` hands the whole command line to it.
        public func run() throws { try HistoryCommand.perform(self) }
    }
}
