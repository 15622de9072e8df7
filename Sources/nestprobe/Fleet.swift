// `nestprobe fleet`: one matrix over many hosts' bench, diagnosis and qualification reports, grouped by
// machine fingerprint, with outliers flagged (Report's Fleet*.swift). The reports are read one at a time
// and each is let go once its FleetEntry is made, so memory grows with the hosts, not the reports.
//
// Where the host and label come from (the reports themselves name neither):
// - a folder argument DIR: a report at DIR/<host>/…/file.json belongs to <host>; its label is, first,
//   DIR/fleet-labels.json's entry for <host> ({"host": "label", …}); else the label of DIR/<host>/host.json
//   (fleet-host-v1, written by the Ansible playbook and the Kubernetes Job); else the first line of
//   DIR/<host>/label; else, for DIR/<host>/<label>/…/file.json, the folder below the host. A report
//   directly in DIR is its own host, named by its file name without ".json". Only *.json files are read
//   in folders (fleet-labels.json excepted), recursively, in name order.
// - a file argument: its folder's name is the host (the file name without ".json" when it has no folder),
//   and a `label` file beside it gives the label.

import ArgumentParser
import Dispatch
import NestprobeCLI
import Bench
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Probe
import Report
import Synchronization

extension Nestprobe {
    /// One report for a fleet.
    struct Fleet: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One matrix over many hosts' bench, diagnosis and qualification reports, with outliers flagged.",
            discussion: """
                Reads every report named, and every *.json under each folder named (recursively), and prints one \
                row per host and label: level, hypervisor, KVM module, verdict (the qualifications' outcome, \
                else diagnose's can-host and nested verdicts) and the net medians of four key exits, grouped by \
                machine fingerprint (the key `nestprobe history` uses). A host is an outlier when one of its \
                exits departs from its group's median by more than 3.5 scaled MADs of the group's log figures \
                and by a ratio of at least --min-ratio (1.6: 60 % slower or 1.6 times faster; one cloud VM's \
                own runs drift by up to 1.57×), in groups of 5 hosts or more. Hosts come from the paths: DIR/<host>/…, with \
                the label from DIR/fleet-labels.json, DIR/<host>/host.json (the Ansible playbook's), a DIR/<host>/label \
                file, or DIR/<host>/<label>/…. \
                Snapshots, comparisons and other nestprobe documents are left out; any other file that is not a \
                valid report is listed with its reason.

                Exit codes: 0 every file read and no host not qualified (outliers are flagged, they do not \
                change the code); 3 a host's qualification failed; 65 a file could not be read as a report \
                (the matrix is still written) or fleet-labels.json is malformed; 66 a path is missing or no \
                report was found; 73 the output file cannot be written.
                """)

        @Argument(
            help: ArgumentHelp("Reports, or folders to search for them.", valueName: "report-or-dir"),
            completion: .file())
        var paths: [String]

        @Option(name: .shortAndLong, help: "Output format: text, markdown, csv, html, junit or json.")
        var format: FleetFormat = .text

        @Option(
            help: ArgumentHelp(
                "The smallest departure from the group's median that makes an outlier, as a ratio (> 1).",
                valueName: "ratio"))
        var minRatio: Double = FleetOutlierRule.standard.minimumRatio

        @Flag(help: "The same as --format json (schema Reports/schema/fleet-v1.schema.json).")
        var json = false

        @Option(
            name: .shortAndLong, help: "Write the output to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func validate() throws {
            guard !paths.isEmpty else { throw ValidationError("expected at least one report or folder") }
            guard minRatio > 1, minRatio.isFinite else {
                throw ValidationError("--min-ratio: expected a ratio above 1, got \(minRatio)")
            }
        }

        func run() throws {
            // Before the reports are read (10,000 take seconds): a bad output path fails at once.
            try FileOutput.preflight(output)
            var accumulator = FleetAccumulator()
            do {
                for path in paths { try FleetReader.read(path, into: &accumulator) }
            } catch { throw ExitStatus.fail(error) }
            guard accumulator.reportCount > 0 || !accumulator.errors.isEmpty else {
                throw ExitStatus.fail(
                    InputError(
                        .noInput, "no bench, diagnosis or qualification report in \(paths.joined(separator: ", "))"))
            }
            var rule = FleetOutlierRule.standard
            rule.minimumRatio = minRatio
            let matrix = FleetMatrix(accumulator, rule: rule)
            let text: String
            do { text = try (json ? .json : format).render(matrix) } catch {
                throw ExitStatus.fail(InputError(.badData, "the fleet matrix cannot be written as JSON: \(error)"))
            }
            do { try FileOutput.emit(Data(text.utf8), to: output) } catch {
                throw ExitStatus.fail(error, writing: true)
            }
            if !matrix.errors.isEmpty {
                let n = matrix.errors.count
                printError("\(n) file\(n == 1 ? "" : "s") could not be read as a report (listed in the output)")
                throw ExitCode(ExitStatus.badInput)
            }
            if matrix.notQualifiedCount > 0 { throw ExitCode(ExitStatus.notQualified) }
        }
    }
}

extension FleetFormat: ExpressibleByArgument {}

/// Walks the paths, decodes each report with its own decoder and folds it into the accumulator.
enum FleetReader {
    /// The sidecar that maps host names to labels, in a folder argument.
    static let labelsFile = "fleet-labels.json"

    /// One file to read, with the host and label its path gives it.
    struct Job: Sendable {
        var path: String
        var host: String
        var label: String
    }

    /// What reading one file gave.
    enum Outcome: Sendable {
        case entry(FleetEntry)
        case error(FleetFileError)
        case ignored
    }

    /// How many files are decoded at once: the decoders run on every core, and at most one report per
    /// core is alive at a time (each is let go once its entry is made); the entries of a batch are folded
    /// in in path order, so the output does not depend on the scheduling.
    static let batchSize = 256

    /// Reads `path` (a report or a folder); throws only for a missing path or a malformed labels file.
    static func read(_ path: String, into accumulator: inout FleetAccumulator) throws(InputError) {
        let found = try jobs(path)
        var start = 0
        while start < found.count {
            let batch = Array(found[start..<min(start + batchSize, found.count)])
            let outcomes = Mutex<[Outcome]>(Array(repeating: .ignored, count: batch.count))
            DispatchQueue.concurrentPerform(iterations: batch.count) { index in
                let outcome = readReport(batch[index])
                outcomes.withLock { $0[index] = outcome }
            }
            for outcome in outcomes.withLock({ $0 }) {
                switch outcome {
                case .entry(let entry): accumulator.add(entry)
                case .error(let error): accumulator.add(error)
                case .ignored: accumulator.ignore()
                }
            }
            start += batchSize
        }
    }

    /// The files `path` names, with their hosts and labels (see the top of this file).
    static func jobs(_ path: String) throws(InputError) -> [Job] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(.noInput, "\(path): no such file or folder")
        }
        // A link to a folder is a folder (fileExists follows links; attributesOfItem does not).
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let type = (try? FileManager.default.attributesOfItem(atPath: resolved))?[.type] as? FileAttributeType
        guard type == .typeDirectory else {
            let url = URL(fileURLWithPath: path)
            let parent = FleetPath.parent(path)
            let host = parent.isEmpty ? stem(url.lastPathComponent) : FleetPath.last(parent)
            return [Job(path: path, host: host, label: labelFile(parent.isEmpty ? "." : parent) ?? "")]
        }
        let labels = try labelMap(FleetPath.join(path, labelsFile))
        var folderLabels: [String: String?] = [:]
        var found: [Job] = []
        for relative in files(under: path) {
            let parts = relative.split(separator: "/").map(String.init)
            let file = FleetPath.join(path, relative)
            guard parts.count > 1 else {
                let host = stem(parts[0])
                found.append(Job(path: file, host: host, label: labels[host] ?? ""))
                continue
            }
            let host = parts[0]
            if folderLabels[host] == nil {
                folderLabels[host] = .some(labelFile(FleetPath.join(path, host)))
            }
            let label = labels[host] ?? folderLabels[host]! ?? (parts.count > 2 ? parts[1] : "")
            found.append(Job(path: file, host: host, label: label))
        }
        return found
    }

    /// Every *.json file under `folder` but the labels file, relative to it, in name order.
    static func files(under folder: String) -> [String] {
        guard let walked = try? FileManager.default.subpathsOfDirectory(atPath: folder) else { return [] }
        var found: [String] = []
        for relative in walked {
            guard relative.hasSuffix(".json"), relative != labelsFile else { continue }
            // Files and links (the reader refuses a link to anything but a regular file, as an error row);
            // a folder named *.json is walked into. The attributes are lstat(2)'s: a link is a link.
            let attributes = try? FileManager.default.attributesOfItem(atPath: FleetPath.join(folder, relative))
            let type = attributes?[.type] as? FileAttributeType
            if type == .typeRegular || type == .typeSymbolicLink { found.append(relative) }
        }
        return found.sorted()
    }

    /// The file name without ".json".
    static func stem(_ name: String) -> String {
        name.hasSuffix(".json") ? String(name.dropLast(5)) : name
    }

    /// The host's label from its folder: `host.json`'s label (the Ansible playbook and the Kubernetes Job
    /// write it, schema fleet-host-v1), else the first line of a `label` file, trimmed; nil when neither
    /// holds one.
    static func labelFile(_ folder: String) -> String? {
        let hostFile = FleetPath.join(folder, "host.json")
        if FileManager.default.fileExists(atPath: hostFile), let bytes = try? DocumentFile.readInput(hostFile),
            let host = try? JSONDecoder().decode(HostFile.self, from: Data(bytes)),
            host.schema == hostSchema,
            let label = host.label, !label.isEmpty
        {
            return label
        }
        let path = FleetPath.join(folder, "label")
        guard FileManager.default.fileExists(atPath: path), let bytes = try? DocumentFile.readInput(path) else {
            return nil
        }
        let first = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).first
        let label = first.map { FleetPath.trimmed($0) } ?? ""
        return label.isEmpty ? nil : label
    }

    /// The labels file's host → label map; empty when there is none, bad input when it is not one.
    static func labelMap(_ path: String) throws(InputError) -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let bytes = try DocumentFile.readInput(path)
        do {
            try DocumentFile.refuseDuplicateKeys(bytes, name: path)
            return try JSONDecoder().decode([String: String].self, from: Data(bytes))
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(
                .badData, "\(path): expected one JSON object of host names to labels: \(DocumentFile.describe(error))")
        }
    }

    /// Decodes one report by its schema; a file that is not one becomes an error row.
    static func readReport(_ job: Job) -> Outcome {
        let (path, host, label) = (job.path, job.host, job.label)
        do throws(InputError) {
            let bytes = try DocumentFile.readInput(path)
            switch try schema(bytes, name: path) {
            case BenchReport.schemaID:
                let report = try ReportFile.parse(bytes, name: path)
                if let delay = report.context.injectedExitDelay {
                    throw InputError(
                        .badData,
                        "\(path): made with --inject-exit-delay \(delay.requested): not a measurement of the machine")
                }
                return .entry(FleetEntry(bench: report, host: host, label: label))
            case Qualification.schemaID:
                let qualification = try DocumentFile.decodeJSON(
                    Qualification.self, bytes, name: path, schema: Qualification.schemaID,
                    version: Qualification.currentVersion)
                return .entry(FleetEntry(qualification: qualification, host: host, label: label))
            case Diagnosis.schemaID:
                let diagnosis = try DocumentFile.decodeJSON(
                    Diagnosis.self, bytes, name: path, schema: Diagnosis.schemaID, version: Diagnosis.currentVersion)
                return .entry(entry(diagnosis, host: host, label: label))
            case hostSchema:
                // The playbook's or the Job's host.json: the host's outcome (down, no-kvm, …), no machine facts.
                let file: HostFile
                do { file = try JSONDecoder().decode(HostFile.self, from: Data(bytes)) } catch {
                    throw InputError(.badData, "\(path): \(DocumentFile.describe(error))")
                }
                let unknown = MachineFingerprint(
                    cpu: "unknown", kernel: nil, kvmModule: nil, kvmParameters: nil, level: "unknown",
                    guestLevel: "unknown", hypervisors: [], emulatedHost: false)
                var entry = FleetEntry(host: host, label: label, kind: .host, fingerprint: unknown)
                entry.status = file.status
                entry.detail = file.detail
                return .entry(entry)
            case let schema? where schema.hasPrefix("nestprobe."):
                return .ignored
            case let schema:
                throw InputError(
                    .badData,
                    "\(path): schema is \(schema.map { "\"\($0)\"" } ?? "missing"), "
                        + "expected a nestprobe bench, diagnosis or qualification report")
            }
        } catch {
            // The row names the file; the reason is the message without its "path: " prefix.
            let reason =
                error.message.hasPrefix("\(path): ") ? String(error.message.dropFirst(path.count + 2)) : error.message
            return .error(FleetFileError(file: path, message: MessageText.oneLine(reason)))
        }
    }

    /// The document's schema: read from its first `"schema": "nestprobe.…"` pair when that names a report
    /// fleet reads (the report's own decoder checks the header again, so a nested key that misleads this
    /// costs a clear error, never a wrong row), else from the whole document's top level.
    static func schema(_ bytes: [UInt8], name: String) throws(InputError) -> String? {
        if let quick = sniffSchema(bytes),
            quick == hostSchema || [BenchReport.schemaID, Qualification.schemaID, Diagnosis.schemaID].contains(quick)
        {
            return quick
        }
        do { return try JSONDecoder().decode(Header.self, from: Data(bytes)).schema } catch {
            throw InputError(.badData, "\(name): not valid JSON: \(DocumentFile.describe(error))")
        }
    }

    /// The string after the first `"schema"` key, without decoding the document; nil when there is none
    /// or it holds an escape. Inside a JSON string a quote is escaped, so `"schema"` followed by a colon
    /// is always a key.
    static func sniffSchema(_ bytes: [UInt8]) -> String? {
        let key = Array(#""schema""#.utf8)
        let quote = UInt8(ascii: "\""), colon = UInt8(ascii: ":"), backslash = UInt8(ascii: "\\")
        var index = 0
        while index + key.count <= bytes.count {
            guard bytes[index] == quote, bytes[index..<index + key.count].elementsEqual(key) else {
                index += 1
                continue
            }
            var cursor = index + key.count
            func skipSpace() {
                while cursor < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[cursor]) { cursor += 1 }
            }
            skipSpace()
            guard cursor < bytes.count, bytes[cursor] == colon else { return nil }
            cursor += 1
            skipSpace()
            guard cursor < bytes.count, bytes[cursor] == quote else { return nil }
            let start = cursor + 1
            guard let end = bytes[start...].firstIndex(of: quote), !bytes[start..<end].contains(backslash) else {
                return nil
            }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        return nil
    }

    /// A diagnosis's entry: the machine as a bench report on it would name it, and the hosting verdicts.
    static func entry(_ diagnosis: Diagnosis, host: String, label: String) -> FleetEntry {
        let kinds = diagnosis.hypervisors.kinds
        let fingerprint = MachineFingerprint(
            cpu: BenchContext.cpuName(diagnosis), kernel: diagnosis.platform.kernelRelease,
            kvmModule: diagnosis.hosting.kvmModule, kvmParameters: BenchContext.kvmParameters(diagnosis),
            level: diagnosis.level.level.rawValue, guestLevel: BenchContext.guestLevel(diagnosis.level.level),
            hypervisors: kinds.map(\.rawValue), emulatedHost: kinds.contains(.qemuTCG))
        return FleetEntry(
            host: host, label: label, kind: .diagnosis, fingerprint: fingerprint,
            canHost: diagnosis.hosting.canHost.rawValue, guestsCanHost: diagnosis.hosting.guestsCanHost.rawValue)
    }

    /// The schema of host.json (Reports/schema/fleet-host-v1.schema.json).
    static let hostSchema = "nestprobe.fleet-host"

    /// The fields of a host.json that fleet reads.
    struct HostFile: Decodable {
        var schema: String?
        var label: String?
        var status: String?
        var detail: String?
    }

    /// The two fields every nestprobe document starts with.
    struct Header: Decodable {
        var schema: String?
    }
}

/// The few path operations `fleet` needs, as NSString did them: no trailing slash but the root's.
enum FleetPath {
    /// `path` without trailing slashes ("/" stays).
    static func trimmedSlashes(_ path: String) -> Substring {
        var text = Substring(path)
        while text.count > 1 && text.hasSuffix("/") { text = text.dropLast() }
        return text
    }

    /// The folder part: "a/b.json" → "a", "b.json" → "", "/b.json" → "/".
    static func parent(_ path: String) -> String {
        let text = trimmedSlashes(path)
        guard let slash = text.lastIndex(of: "/") else { return "" }
        let head = trimmedSlashes(String(text[..<slash]))
        return head.isEmpty ? "/" : String(head)
    }

    /// The last component: "a/host" → "host", "/" → "/".
    static func last(_ path: String) -> String {
        let text = trimmedSlashes(path)
        guard text != "/", let slash = text.lastIndex(of: "/") else { return String(text) }
        return String(text[text.index(after: slash)...])
    }

    /// `folder` and `name` with one slash between them.
    static func join(_ folder: String, _ name: String) -> String {
        let head = trimmedSlashes(folder)
        if head.isEmpty { return name }
        return head == "/" ? "/" + name : head + "/" + name
    }

    /// `text` without leading and trailing blanks (spaces, tabs and the other Unicode spaces).
    static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
