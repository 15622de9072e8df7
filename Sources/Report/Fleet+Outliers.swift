// Fleet+Outliers: the matrix — hosts grouped by machine fingerprint — and the rule that flags a host whose
// exits sit far from its group's. Hosts of one fingerprint run the same CPU, kernel, KVM module and
// parameters at the same level, so their exits should agree within run-to-run noise; one that does not
// has something the fingerprint cannot see (microcode, firmware settings, a noisy neighbour, thermal limits).
//
// The rule, per group and per key exit, on the hosts' net medians in cycles: take x = ln(median); the
// group's centre is the median of x and its spread the MAD of x scaled by 1.4826 (the normal-consistent
// factor). A host is an outlier on that exit when |x − centre| exceeds both k × spread (k = 3.5, Iglewicz
// and Hoaglin's cut for the modified z-score) and ln(minimumRatio) (by default 1.6: 60 % slower or 1.6
// times faster, so that a tight group's tiny spread does not flag noise). The floor comes from A/A data:
// the 30 real reports of one cloud VM in Reports/history/series, taken as 30 hosts, drift by up to 1.57×
// between runs (a faster spell from r13 to r25); with a floor of 1.2 the rule flagged 10 of them, with
// 1.6 none. On bare metal, where runs agree closely, `--min-ratio` can be lowered. Groups with fewer than minimumGroup (5) hosts that
// measured the exit are not judged: their median and MAD say too little. Logs make the rule symmetric in
// ratio (twice as slow and twice as fast are as far) and unit-free.

import Documents
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The outlier rule's parameters.
public struct FleetOutlierRule: Codable, Sendable, Equatable {
    /// The cut in scaled MADs.
    public var k: Double
    /// The smallest departure from the group's median that counts, as a ratio (1.6: 60 % slower, or 1.6
    /// times faster).
    public var minimumRatio: Double
    /// The fewest hosts with a figure for an exit for their group to be judged on it.
    public var minimumGroup: Int

    /// The rule nestprobe fleet applies.
    public static let standard = FleetOutlierRule(k: 3.5, minimumRatio: 1.6, minimumGroup: 5)

    /// A rule with these parameters.
    public init(k: Double, minimumRatio: Double, minimumGroup: Int) {
        self.k = k
        self.minimumRatio = minimumRatio
        self.minimumGroup = minimumGroup
    }

    /// One host's standing on one exit.
    public struct Judgement: Codable, Sendable, Equatable {
        /// ln(host / group median).
        public var logRatio: Double
        /// logRatio in scaled MADs; nil when the group's spread is zero.
        public var score: Double?
        public var outlier: Bool
    }

    /// Judges `values` (each host's figure, > 0) as one group: one judgement per value, in order; nil
    /// when the group is too small (fewer than minimumGroup values) or a value is not a positive number.
    public func judge(_ values: [Double]) -> [Judgement]? {
        guard values.count >= minimumGroup, values.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        let logs = values.map { log($0) }
        let centre = SampleStatistics.median(logs.sorted())
        let spread = 1.4826 * SampleStatistics.median(logs.map { abs($0 - centre) }.sorted())
        let floor = log(minimumRatio)
        return logs.map { x in
            let d = x - centre
            let score: Double? = spread > 0 ? d / spread : nil
            let far = spread > 0 ? abs(d) > k * spread : d != 0
            return Judgement(logRatio: d, score: score, outlier: far && abs(d) > floor)
        }
    }
}

/// One host's row in the matrix.
public struct FleetRow: Sendable {
    public var host: FleetHost
    /// Per key exit, the host's median over its bench reports.
    public var figures: [String: FleetFigure]
    /// Per key exit its group judged, the host's standing.
    public var judgements: [String: FleetOutlierRule.Judgement]

    /// True when the host is an outlier on any key exit.
    public var outlier: Bool { judgements.values.contains { $0.outlier } }

    /// The exits the host is an outlier on, in column order.
    public var outlierExits: [String] { FleetExits.ids.filter { judgements[$0]?.outlier == true } }
}

/// The hosts of one machine fingerprint.
public struct FleetGroup: Sendable {
    public var fingerprint: MachineFingerprint
    /// The fingerprint's key (MachineFingerprint.key): the name `nestprobe history` gives the same machine.
    public var key: String
    /// The group's median of its hosts' figures per key exit (cycles and nanoseconds each).
    public var medians: [String: FleetFigure]
    /// The key exits the group was judged on (enough hosts measured them).
    public var judged: [String]
    /// The hosts, by host name and label.
    public var rows: [FleetRow]
}

/// The fleet matrix: the groups, the files that could not be read, and the counts.
public struct FleetMatrix: Sendable {
    public var rule: FleetOutlierRule
    /// Groups in fingerprint-key order.
    public var groups: [FleetGroup]
    public var errors: [FleetFileError]
    /// Reports read, and files of another nestprobe schema left out.
    public var reportCount: Int
    public var ignored: Int

    /// Groups the accumulated hosts and judges each group.
    public init(_ accumulator: FleetAccumulator, rule: FleetOutlierRule = .standard) {
        self.rule = rule
        errors = accumulator.errors
        reportCount = accumulator.reportCount
        ignored = accumulator.ignored
        var byFingerprint: [MachineFingerprint: [FleetHost]] = [:]
        for key in accumulator.hosts.keys.sorted() {
            let host = accumulator.hosts[key]!
            byFingerprint[host.fingerprint, default: []].append(host)
        }
        groups = byFingerprint.map { fingerprint, hosts in Self.group(fingerprint, hosts, rule) }
            .sorted { ($0.key, $0.fingerprint.canonical) < ($1.key, $1.fingerprint.canonical) }
    }

    static func group(_ fingerprint: MachineFingerprint, _ hosts: [FleetHost], _ rule: FleetOutlierRule) -> FleetGroup {
        var rows = hosts.map { host in
            FleetRow(
                host: host,
                figures: Dictionary(
                    uniqueKeysWithValues: FleetExits.ids.compactMap { id in host.median(id).map { (id, $0) } }),
                judgements: [:])
        }
        var medians: [String: FleetFigure] = [:]
        var judged: [String] = []
        for id in FleetExits.ids {
            let measured = rows.indices.filter { rows[$0].figures[id] != nil }
            guard !measured.isEmpty else { continue }
            let cycles = measured.map { rows[$0].figures[id]!.cycles }
            let nanoseconds = measured.map { rows[$0].figures[id]!.nanoseconds }
            medians[id] = FleetFigure(
                cycles: SampleStatistics.median(cycles.sorted()),
                nanoseconds: SampleStatistics.median(nanoseconds.sorted()))
            guard let judgements = rule.judge(cycles) else { continue }
            judged.append(id)
            for (index, judgement) in zip(measured, judgements) { rows[index].judgements[id] = judgement }
        }
        return FleetGroup(fingerprint: fingerprint, key: fingerprint.key, medians: medians, judged: judged, rows: rows)
    }

    /// Every host row, group by group.
    public var rows: [FleetRow] { groups.flatMap(\.rows) }

    /// How many hosts are outliers.
    public var outlierCount: Int { rows.count { $0.outlier } }

    /// How many hosts failed a qualification.
    public var notQualifiedCount: Int { rows.count { $0.host.qualificationFailed } }
}
