// CaseList: what `nestprobe bench --list` prints — one line per case with where its exits go on this machine's
// KVM module (the same choice a bench run makes, ExitCase.exitsTo(under:)), and one last line saying which
// module that is, or why the static value is shown. The module is read from /sys/module (or /proc/modules)
// only: the list opens no device and boots no guest.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The lines of `nestprobe bench --list`.
public enum CaseList {
    /// The KVM module the list attributes exits by, and why it is unknown where it is.
    public struct Attribution: Sendable, Equatable {
        /// This machine's module, or `.unknown`.
        public var module: ExitCaseEnvironment.Module
        /// Why the module is unknown (nil where it is known).
        public var unknownReason: String?

        /// An attribution from its parts (tests).
        public init(module: ExitCaseEnvironment.Module, unknownReason: String? = nil) {
            self.module = module
            self.unknownReason = unknownReason
        }
    }

    /// This machine's module, as a bench on `devicePath` would see it, without opening the device: unknown
    /// where the device does not exist, or where no KVM vendor module is loaded.
    public static func attribution(
        devicePath: String, sysModulePath: String = "/sys/module", procModulesPath: String = "/proc/modules"
    ) -> Attribution {
        guard FileManager.default.fileExists(atPath: devicePath) else {
            return Attribution(module: .unknown, unknownReason: "no \(devicePath)")
        }
        let module = ExitCaseEnvironment.Module.detect(sysModulePath: sysModulePath, procModulesPath: procModulesPath)
        guard module != .unknown else {
            return Attribution(
                module: .unknown,
                unknownReason: "none of kvm_intel, kvm_amd and kvm_pvm under \(sysModulePath) or in \(procModulesPath)")
        }
        return Attribution(module: module)
    }

    /// One line per case of `catalogue` — "+" where it is outside the default suite, its id, where its exits go
    /// under `attribution`'s module, its mechanism and its opt-in set — then the line that names the module.
    public static func lines(_ catalogue: [ExitCase], attribution: Attribution) -> [String] {
        let rows = catalogue.map { exitCase in
            // A case outside the default suite is marked "+": it runs when named, or with --cases all.
            let mark = exitCase.inDefaultSuite && exitCase.optInSet == nil ? " " : "+"
            let optIn = exitCase.optInSet.map { " [opt-in: --cases \($0)]" } ?? ""
            let exitsTo = exitCase.exitsTo(under: attribution.module).rawValue
            return "\(mark) \(padded(exitCase.id, 34)) \(padded(exitsTo, 11)) \(exitCase.mechanism)\(optIn)"
        }
        return rows + [footer(catalogue, attribution: attribution)]
    }

    /// The last line: the module the third column follows, and the cases whose target depends on it.
    static func footer(_ catalogue: [ExitCase], attribution: Attribution) -> String {
        let differing = catalogue.filter(differs).map(\.id)
        let which = differing.isEmpty ? "" : " (by module: \(differing.joined(separator: ", ")))"
        if let reason = attribution.unknownReason {
            return "exits to: as under kvm_intel and kvm_amd, the KVM module being unknown (\(reason))\(which)"
        }
        return "exits to: as under this machine's KVM module, \(attribution.module.rawValue)\(which)"
    }

    /// Whether `exitCase` exits elsewhere under kvm_pvm than under kvm_intel and kvm_amd.
    static func differs(_ exitCase: ExitCase) -> Bool {
        exitCase.exitsTo(under: .kvmPVM) != exitCase.exitsTo(under: .kvmIntel)
    }

    /// `text` padded with spaces to `width` (longer text as it is).
    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
