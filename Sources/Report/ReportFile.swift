// ReportFile: reading a `nestprobe bench` report from a file with every check an input gets — a regular,
// non-empty file under the size limit, JSON of the right schema and version, fields of the right types —
// and the few promises the schema makes that JSON decoding alone cannot keep (unique ids, samples
// behind every "ok"). Every failure is one InputError line naming the file and the field.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Documents

/// Loads bench reports.
public enum ReportFile {
    /// The bench report at `path`, checked; `.noInput` (exit 66) when it cannot be read, `.badData`
    /// (exit 65) when it is not a valid nestprobe.bench version 1 document.
    public static func load(_ path: String) throws(InputError) -> BenchReport {
        // Handed over, not kept: parse blanks the samples in place, without a copy.
        try parse(DocumentFile.readInput(path), name: path)
    }

    /// Decodes and checks report bytes; `name` is used in messages.
    public static func parse(_ bytes: consuming [UInt8], name: String) throws(InputError) -> BenchReport {
        // The samples are read apart from the rest (ReportFile+Samples.swift): most of a large report.
        // Blanking them changes only arrays of plain digits, which misfitNumber below never names.
        let samples = ReportSamples.extract(bytes)
        samples?.blank(&bytes)
        var report: BenchReport
        do {
            report = try DocumentFile.decodeJSON(
                BenchReport.self, bytes, name: name, schema: BenchReport.schemaID,
                version: BenchReport.currentVersion)
        } catch {
            // Foundation's JSONDecoder reports a number that does not fit its integer type (a negative
            // sample, 2.5 cycles) as invalid JSON at the top level; find the field ourselves.
            if error.message.hasPrefix("\(name): top level:"), let field = misfitNumber(bytes) {
                throw InputError(.badData, "\(name): \(field)")
            }
            throw error
        }
        samples?.restore(into: &report)
        try check(report, name: name)
        try checkBounds(report, name: name)
        return report
    }

    /// The checks beyond types: ids unique within hostLevel and within cases; every case with status ok
    /// (and every host-level case) carries samples and statistics; the medians subtracted from samples
    /// are numbers of cycles ≥ 0.
    public static func check(_ report: BenchReport, name: String) throws(InputError) {
        var seen: Set<String> = []
        for (index, host) in report.hostLevel.enumerated() {
            let field = "hostLevel[\(index)]"
            guard seen.insert(host.id).inserted else {
                throw InputError(.badData, "\(name): \(field).id: \"\(host.id)\" appears twice")
            }
            guard !host.samplesCycles.isEmpty else {
                throw InputError(.badData, "\(name): \(field).samplesCycles: no samples kept")
            }
            try cycles(host.netMedianCycles, "\(field).netMedianCycles", name)
            try cycles(host.statistics.cycles.p50, "\(field).statistics.cycles.p50", name)
        }
        seen = []
        for (index, entry) in report.cases.enumerated() {
            let field = "cases[\(index)]"
            guard seen.insert(entry.id).inserted else {
                throw InputError(.badData, "\(name): \(field).id: \"\(entry.id)\" appears twice")
            }
            guard entry.status == .ok else { continue }
            guard !entry.samplesCycles.isEmpty else {
                throw InputError(.badData, "\(name): \(field).samplesCycles: status is ok but no samples are kept")
            }
            guard entry.statistics != nil else {
                throw InputError(.badData, "\(name): \(field).statistics: status is ok but statistics are missing")
            }
            guard entry.exitsPerSample >= 1 else {
                throw InputError(
                    .badData, "\(name): \(field).exitsPerSample: \(entry.exitsPerSample), expected at least 1")
            }
            if let baseline = entry.baselineMedianCycles { try cycles(baseline, "\(field).baselineMedianCycles", name) }
        }
    }

    /// A figure in cycles that compare subtracts from samples must be a finite number ≥ 0.
    private static func cycles(_ value: Double, _ field: String, _ name: String) throws(InputError) {
        guard value.isFinite, value >= 0 else {
            throw InputError(.badData, "\(name): \(field): \(value) is not a number of cycles ≥ 0")
        }
    }

    /// The report's integer fields, and whether each is unsigned.
    static let integerFields: [String: Bool] = [
        "samplesCycles": true, "guestTSCkHz": true, "guestRIP": true, "version": false, "sampleCount": false,
        "exitsPerSample": false, "warmupDiscarded": false, "runs": false, "cpl": false, "pinnedCPU": false,
        "count": false,
    ]

    /// "path: what is wrong" for the first number in an integer field that is not a whole number in
    /// range, or nil.
    static func misfitNumber(_ bytes: [UInt8]) -> String? {
        guard let root = try? JSONDecoder().decode(JSONTree.self, from: Data(bytes)) else { return nil }
        func visit(_ value: JSONTree, _ path: String, _ field: String?) -> String? {
            switch value {
            case .object(let object):
                for key in object.keys.sorted() {
                    if let found = visit(object[key]!, path.isEmpty ? key : "\(path).\(key)", key) { return found }
                }
            case .array(let array):
                for (index, item) in array.enumerated() {
                    if let found = visit(item, "\(path)[\(index)]", field) { return found }
                }
            case .number(let x):
                guard let field, let unsigned = integerFields[field] else { return nil }
                let whole = x.isFinite && x == x.rounded()
                let inRange = unsigned ? x >= 0 && x < 0x1p64 : x >= -0x1p63 && x < 0x1p63
                if !whole || !inRange {
                    // Whole numbers as integers ("-5"), others as Swift writes a Double ("1.5", "2e+19").
                    let number = whole && abs(x) < 0x1p63 ? String(Int64(x)) : "\(x)"
                    return "\(path): \(number) is not " + (unsigned ? "a whole number ≥ 0" : "a whole number")
                        + (field == "samplesCycles" ? " of cycles" : "")
                }
            case .other:
                break
            }
            return nil
        }
        return visit(root, "", nil)
    }
}

/// Any JSON value, as far as the integer-field check needs it: objects, arrays and numbers; strings, booleans
/// and null are `.other`.
indirect enum JSONTree: Decodable {
    case object([String: JSONTree])
    case array([JSONTree])
    case number(Double)
    case other

    init(from decoder: any Decoder) throws {
        if let object = try? [String: JSONTree](from: decoder) {
            self = .object(object)
        } else if let array = try? [JSONTree](from: decoder) {
            self = .array(array)
        } else {
            let single = try decoder.singleValueContainer()
            // A boolean is not a number, though a Double decoder might take one.
            if (try? single.decode(Bool.self)) != nil {
                self = .other
            } else if let number = try? single.decode(Double.self) {
                self = .number(number)
            } else {
                self = .other
            }
        }
    }
}
