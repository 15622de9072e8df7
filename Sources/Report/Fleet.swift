// Fleet: one matrix over many hosts' reports — bench, diagnosis and qualification — for qualifying a
// fleet. Each report becomes a small FleetEntry as soon as it is read (the report itself is let go), and
// entries fold into one FleetHost per host and label, so memory grows with the hosts, not with the reports.
// FleetMatrix groups the hosts by machine fingerprint and flags the outliers (Fleet+Outliers.swift); the
// renderers are in Fleet+Text.swift and Fleet+Markup.swift, the JSON document in FleetDocument.swift.

import Documents

/// The exits the fleet matrix shows and judges: this level's own CPUID exit, and three guest exits of the
/// default suite in 64-bit CPL0 — one handled in the kernel (CPUID), one handled in the kernel's I/O bus
/// (a port KVM answers itself), one that reaches the user-space VMM (a port write). Their net medians per
/// exit are what a fleet differs in: exit mitigations, microcode, the hypervisor below.
public enum FleetExits {
    /// The case ids, in column order.
    public static let ids = [
        "cpuid-0/host", "cpuid-0/long64-cpl0", "pio-kernel/long64-cpl0", "pio-out-user/long64-cpl0",
    ]
}

/// One exit's net median per exit, in both units.
public struct FleetFigure: Codable, Sendable, Equatable {
    /// Net cycles per exit.
    public var cycles: Double
    /// Net nanoseconds per exit.
    public var nanoseconds: Double

    /// A figure in both units.
    public init(cycles: Double, nanoseconds: Double) {
        self.cycles = cycles
        self.nanoseconds = nanoseconds
    }
}

/// What one report contributes to the fleet matrix: who it is from, the machine, the verdict and the key
/// exits. Small and self-contained, so the report can be let go once this is made.
public struct FleetEntry: Sendable {
    /// Which kind of document the entry came from.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// `host` is the playbook's or the Job's host.json (fleet-host-v1): the host's outcome, no figures.
        case bench, diagnosis, qualification, host
    }

    /// The host, as the path names it (see FleetSource).
    public var host: String
    /// The host's label (instance type, pool); "" for none.
    public var label: String
    public var kind: Kind
    /// The machine, with the facts this kind of document holds ("unknown" for the others).
    public var fingerprint: MachineFingerprint
    /// Whether this level can run KVM guests: yes, no or unknown; nil when the document does not say.
    public var canHost: String?
    /// Whether those guests could run their own: yes, no or unknown; nil when the document does not say.
    public var guestsCanHost: String?
    /// A qualification's policy name and verdict.
    public var policy: String?
    public var qualified: Bool?
    /// A bench report's key exits (FleetExits.ids) that it measured.
    public var exits: [String: FleetFigure]
    /// host.json's outcome (qualified, not-qualified, no-kvm, down, failed) and why.
    public var status: String? = nil
    public var detail: String? = nil

    /// An entry from its parts (a diagnosis's entry is made this way by the CLI, which can decode one).
    public init(
        host: String, label: String, kind: Kind, fingerprint: MachineFingerprint, canHost: String? = nil,
        guestsCanHost: String? = nil, policy: String? = nil, qualified: Bool? = nil,
        exits: [String: FleetFigure] = [:]
    ) {
        self.host = host
        self.label = label
        self.kind = kind
        self.fingerprint = fingerprint
        self.canHost = canHost
        self.guestsCanHost = guestsCanHost
        self.policy = policy
        self.qualified = qualified
        self.exits = exits
    }

    /// The entry of a bench report: its context's fingerprint and verdicts, and the net medians of the key
    /// exits it measured (cases that were skipped or failed, or have no net figure, are left out).
    public init(bench report: BenchReport, host: String, label: String) {
        var exits: [String: FleetFigure] = [:]
        for entry in report.hostLevel where FleetExits.ids.contains(entry.id) {
            exits[entry.id] = FleetFigure(cycles: entry.netMedianCycles, nanoseconds: entry.netMedianNanoseconds)
        }
        for entry in report.cases where entry.status == .ok && FleetExits.ids.contains(entry.id) {
            if let cycles = entry.netMedianCycles, let nanoseconds = entry.netMedianNanoseconds {
                exits[entry.id] = FleetFigure(cycles: cycles, nanoseconds: nanoseconds)
            }
        }
        let c = report.context
        self.init(
            host: host, label: label, kind: .bench, fingerprint: MachineFingerprint(c), canHost: c.canHost,
            guestsCanHost: c.guestsCanHost, exits: exits)
    }

    /// The entry of a qualification: the policy's verdict, and the machine as far as the report reference
    /// names it (kernel and KVM parameters unknown).
    public init(qualification: Qualification, host: String, label: String) {
        let r = qualification.report
        let fingerprint = MachineFingerprint(
            cpu: r.cpu, kernel: nil, kvmModule: r.kvmModule, kvmParameters: nil, level: r.level,
            guestLevel: r.guestLevel, hypervisors: r.hypervisors, emulatedHost: r.hypervisors.contains("QEMU TCG"))
        self.init(
            host: host, label: label, kind: .qualification, fingerprint: fingerprint,
            policy: qualification.policy.name, qualified: qualification.qualified)
    }
}

/// One policy's verdict on a host.
public struct FleetPolicyVerdict: Codable, Sendable, Equatable {
    /// The policy's name.
    public var policy: String
    /// True when every qualification of the host under this policy qualified.
    public var qualified: Bool
}

/// Everything the matrix keeps about one host and label: counts, the machine, the verdicts, and per key
/// exit the figures of each bench report (a handful of numbers per report).
public struct FleetHost: Sendable {
    public var host: String
    public var label: String
    /// Reports read, by kind.
    public var reports: [FleetEntry.Kind: Int] = [:]
    /// The machine: a bench report's fingerprint when there is one (it has every fact), else the first
    /// other document's.
    public var fingerprint: MachineFingerprint
    /// True when two bench reports of this host name different machines (the first one is kept).
    public var fingerprintsDiffer = false
    /// The hosting verdicts: a diagnosis's when there is one, else a bench report's.
    public var canHost: String?
    public var guestsCanHost: String?
    /// Per policy, whether every qualification under it qualified; in policy name order.
    public var policies: [FleetPolicyVerdict] = []
    /// Per key exit, the net figure of each bench report, in reading order.
    public var figures: [String: [FleetFigure]] = [:]
    /// host.json's outcome and why, when the host's folder has one.
    public var status: String?
    public var detail: String?
    private var hostingFromDiagnosis = false
    private var fingerprintFromBench = false
    /// Whether the fingerprint came from a report (host.json knows nothing of the machine).
    private var fingerprintFromReport: Bool

    /// A host seen first in `entry`.
    public init(_ entry: FleetEntry) {
        host = entry.host
        label = entry.label
        fingerprint = entry.fingerprint
        fingerprintFromReport = entry.kind != .host
    }

    /// Folds one more report of this host in.
    public mutating func add(_ entry: FleetEntry) {
        reports[entry.kind, default: 0] += 1
        if entry.kind == .host {
            status = entry.status
            detail = entry.detail
            return
        }
        if !fingerprintFromReport {
            fingerprint = entry.fingerprint
            fingerprintFromReport = true
        }
        if entry.kind == .bench {
            if !fingerprintFromBench {
                fingerprint = entry.fingerprint
                fingerprintFromBench = true
            } else if entry.fingerprint != fingerprint {
                fingerprintsDiffer = true
            }
            for (id, figure) in entry.exits { figures[id, default: []].append(figure) }
        }
        if entry.canHost != nil, entry.kind == .diagnosis || !hostingFromDiagnosis {
            canHost = entry.canHost
            guestsCanHost = entry.guestsCanHost
            hostingFromDiagnosis = entry.kind == .diagnosis
        }
        if let policy = entry.policy, let qualified = entry.qualified {
            if let index = policies.firstIndex(where: { $0.policy == policy }) {
                policies[index].qualified = policies[index].qualified && qualified
            } else {
                policies.append(FleetPolicyVerdict(policy: policy, qualified: qualified))
                policies.sort { $0.policy < $1.policy }
            }
        }
    }

    /// The host's figure for exit `id`: the median over its bench reports (cycles and nanoseconds each).
    public func median(_ id: String) -> FleetFigure? {
        guard let all = figures[id], !all.isEmpty else { return nil }
        return FleetFigure(
            cycles: SampleStatistics.median(all.map(\.cycles).sorted()),
            nanoseconds: SampleStatistics.median(all.map(\.nanoseconds).sorted()))
    }

    /// True when a qualification of this host failed, or host.json says it could not be qualified (down,
    /// failed) or did not qualify.
    public var qualificationFailed: Bool {
        policies.contains { !$0.qualified } || ["down", "failed", "not-qualified"].contains(status ?? "")
    }

    /// The verdict in a few words: the policies' outcomes, else the hosting verdict, else "unknown".
    public var verdict: String {
        if let status, ["down", "failed", "no-kvm"].contains(status) {
            return status + (detail.map { ": \($0)" } ?? "")
        }
        if !policies.isEmpty {
            return policies.map { "\($0.policy): \($0.qualified ? "qualified" : "NOT qualified")" }
                .joined(separator: "; ")
        }
        guard let canHost else { return "unknown" }
        return "can host: \(canHost); nested: \(guestsCanHost ?? "unknown")"
    }
}

/// A file that could not be read as a report: its path and the one-line reason.
public struct FleetFileError: Codable, Sendable, Equatable {
    public var file: String
    public var message: String

    /// An error row.
    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }
}

/// Folds entries into hosts as the reports are read; nothing of a report outlives its entry.
public struct FleetAccumulator: Sendable {
    /// The hosts, by host and label.
    public private(set) var hosts: [FleetHostKey: FleetHost] = [:]
    /// Files that could not be read, in reading order.
    public private(set) var errors: [FleetFileError] = []
    /// Files of another nestprobe schema (snapshots, comparisons), left out on purpose.
    public private(set) var ignored = 0
    /// Reports folded in.
    public private(set) var reportCount = 0

    /// An empty accumulator.
    public init() {}

    /// Folds one report's entry in.
    public mutating func add(_ entry: FleetEntry) {
        let key = FleetHostKey(host: entry.host, label: entry.label)
        hosts[key, default: FleetHost(entry)].add(entry)
        if entry.kind != .host { reportCount += 1 }
    }

    /// Records a file that could not be read.
    public mutating func add(_ error: FleetFileError) { errors.append(error) }

    /// Counts a file of another nestprobe schema.
    public mutating func ignore() { ignored += 1 }
}

/// A host row's identity: the host and its label.
public struct FleetHostKey: Hashable, Sendable, Comparable {
    public var host: String
    public var label: String

    public static func < (a: Self, b: Self) -> Bool { (a.host, a.label) < (b.host, b.label) }
}
