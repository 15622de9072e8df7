// nestprobe-history: the history store's half of nestprobe. `nestprobe history …` runs this program with the
// same arguments (HistoryForwarding in NestprobeCLI); it links the store (GRDB with SQLite, postgres-nio) and
// full Foundation, which the core nestprobe leaves out. The commands' arguments and help are NestprobeCLI's
// HistoryCommand; the work of each is here, in StoreActions.

import ArgumentParser
import Documents
import Foundation
import History
import NestprobeCLI
import Probe

@main
struct NestprobeHistory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nestprobe",
        abstract: "The history store of nestprobe: run as `nestprobe history …`.",
        version: "nestprobe \(NestprobeVersionText.value)",
        subcommands: [HistoryCommand.self])

    /// Installs the store's actions, then parses and runs like `nestprobe`, errors as one line.
    static func main() {
        HistoryCommand.install(StoreActions())
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let text = message(for: error)
            guard code != .success, !text.isEmpty else { exit(withError: error) }
            let brief = text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text
            printError("\(brief) (see nestprobe --help)")
            Foundation.exit(code.rawValue)
        }
    }
}

/// The history subcommands' work, over the store.
struct StoreActions: HistoryActions {
    func run(_ command: any ParsableCommand) throws {
        switch command {
        case let command as HistoryCommand.Add: try add(command)
        case let command as HistoryCommand.List: try list(command)
        case let command as HistoryCommand.Trend: try trend(command)
        case let command as HistoryCommand.Check: try check(command)
        case let command as HistoryCommand.Baseline: try baseline(command)
        case let command as HistoryCommand.Export: try export(command)
        default: throw ValidationError("not a history command")
        }
    }

    /// `history add`.
    func add(_ command: HistoryCommand.Add) throws {
        let options = command.options
        let label = command.label
        let reports = command.reports
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

    /// `history list`.
    func list(_ command: HistoryCommand.List) throws {
        try FileOutput.preflight(command.output)
        let options = command.options
        let machine = command.machine
        let label = command.label
        let format = command.format
        let output = command.output
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

    /// `history trend`.
    func trend(_ command: HistoryCommand.Trend) throws {
        try FileOutput.preflight(command.output)
        let options = command.options
        let series = command.series
        let format = command.format
        let output = command.output
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

    /// `history check`.
    func check(_ command: HistoryCommand.Check) throws {
        try FileOutput.preflight(command.output)
        let options = command.options
        let series = command.series
        let threshold = command.threshold
        let window = command.window
        let pValue = command.pValue
        let permutations = command.permutations
        let alpha = command.alpha
        let seed = command.seed
        let format = command.format
        let output = command.output
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

    /// `history baseline`.
    func baseline(_ command: HistoryCommand.Baseline) throws {
        let options = command.options
        let series = command.series
        let limit = command.limit
        let threshold = command.threshold
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

    /// `history export`.
    func export(_ command: HistoryCommand.Export) throws {
        try FileOutput.preflight(command.output)
        let options = command.options
        let output = command.output
        let store = try options.open()
        defer { store.close() }
        do {
            try historyEmit(try HistoryExport.csv(store), to: output)
        } catch let error as HistoryError {
            throw historyFail(error)
        }
    }
}

extension HistoryOptions {
    /// Opens the store, or exits with the error's code.
    func open() throws -> any HistoryStore {
        do { return try HistoryDatabase.open(db, connectTimeout: connectTimeout) } catch { throw historyFail(error) }
    }
}

extension SeriesOptions {
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
