// CompareContext: whether two bench reports were made where their numbers can be compared. Another CPU,
// kernel, KVM module, hypervisor below, level or emulation means the exits themselves differ, so such a
// pair is refused unless forced; another TSC source or frequency, KVM parameters or pinning changes how
// the numbers were taken, so it is compared with a warning. A report's identity (which file, made where)
// heads each side of a comparison.

import Documents

/// Which report, made where.
public struct ReportIdentity: Codable, Sendable, Equatable {
    /// The path as given on the command line.
    public var file: String
    public var createdAt: String
    public var cpu: String
    public var kernelRelease: String?
    public var kvmModule: String?
    public var level: String
    public var guestLevel: String
    public var tscHz: Double
    public var tscSource: String
}

/// One way two reports' contexts differ.
public struct ContextDifference: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable {
        /// Not compared unless forced: another CPU, kernel, hypervisor or level.
        case refuse
        /// Compared, with a warning.
        case warn
    }

    /// The field, as its JSON path in the bench report (context.cpu).
    public var field: String
    public var base: String
    public var new: String
    public var severity: Severity
}

extension ContextDifference {
    /// Every difference between `base` and `new`, those that refuse first, in a fixed order.
    public static func between(_ base: BenchContext, _ new: BenchContext) -> [ContextDifference] {
        var out: [ContextDifference] = []
        func check(_ field: String, _ a: String?, _ b: String?, _ severity: Severity) {
            if a != b {
                out.append(ContextDifference(field: field, base: a ?? "none", new: b ?? "none", severity: severity))
            }
        }
        check("context.cpu", base.cpu, new.cpu, .refuse)
        check("context.kernelRelease", base.kernelRelease, new.kernelRelease, .refuse)
        check("context.kvmModule", base.kvmModule, new.kvmModule, .refuse)
        check("context.level", base.level, new.level, .refuse)
        check("context.guestLevel", base.guestLevel, new.guestLevel, .refuse)
        check(
            "context.hypervisors", base.hypervisors.joined(separator: ", "), new.hypervisors.joined(separator: ", "),
            .refuse)
        check("context.emulatedHost", String(base.emulatedHost), String(new.emulatedHost), .refuse)
        check("context.tsc.source", base.tsc.source.rawValue, new.tsc.source.rawValue, .warn)
        // Cycles mean the same time only at the same frequency; 0.1 % is far above calibration noise.
        if base.tsc.hz > 0, new.tsc.hz > 0, abs(new.tsc.hz / base.tsc.hz - 1) > 0.001 {
            out.append(
                ContextDifference(
                    field: "context.tsc.hz", base: String(base.tsc.hz), new: String(new.tsc.hz),
                    severity: .warn))
        }
        for key in Set(base.kvmParameters.keys).union(new.kvmParameters.keys).sorted() {
            check("context.kvmParameters.\(key)", base.kvmParameters[key], new.kvmParameters[key], .warn)
        }
        check("context.pinnedCPU", base.pinnedCPU.map(String.init), new.pinnedCPU.map(String.init), .warn)
        return out.filter { $0.severity == .refuse } + out.filter { $0.severity == .warn }
    }

    /// "context.cpu: base "A", new "B"".
    public var line: String { "\(field): base \"\(base)\", new \"\(new)\"" }
}

extension ReportIdentity {
    /// The identity of `report`, read from `file`.
    public init(_ report: BenchReport, file: String) {
        let c = report.context
        self.init(
            file: file, createdAt: report.createdAt, cpu: c.cpu, kernelRelease: c.kernelRelease,
            kvmModule: c.kvmModule, level: c.level, guestLevel: c.guestLevel, tscHz: c.tsc.hz,
            tscSource: c.tsc.source.rawValue)
    }
}
