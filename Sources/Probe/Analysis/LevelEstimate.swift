// LevelEstimate: at which level of the hypervisor stack this OS runs, with the evidence behind it.
//
// Three hypotheses: L0 (bare metal, or a hypervisor's root partition), L1 (a VM on bare metal) and
// L2+ (a VM inside a VM, or deeper: nothing observable tells L2 from L3). Each piece of evidence adds
// a weight (a log-likelihood ratio in nats, chosen from published figures and the vendors' documented
// behaviour) to each hypothesis; the estimate is the hypothesis with the highest total and its
// confidence is the softmax share of that total among the levels the lower bound leaves. The lower bound is
// what definitive evidence proves; a tie between levels is reported as undetermined, not as the first of them.

/// One observation and how much it moves each hypothesis.
public struct Evidence: Codable, Sendable, Equatable {
    /// A stable identifier ("cpuid.hypervisor-bit", "timing.host-cpuid", ...).
    public var id: String
    /// Where it was read.
    public var source: String
    /// What was seen.
    public var observation: String
    /// Weights added to L0, L1 and L2+ (nats; 0 = no information).
    public var weights: [String: Double]
    /// Why it weighs what it weighs, or why it was discounted.
    public var note: String

    init(_ id: String, source: String, observation: String, l0: Double, l1: Double, l2: Double, note: String) {
        self.id = id
        self.source = source
        self.observation = observation
        self.weights = ["L0": l0, "L1": l1, "L2+": l2]
        self.note = note
    }

    /// Whether the evidence was discounted (all weights zero).
    public var discounted: Bool { weights.values.allSatisfy { $0 == 0 } }
}

/// The estimate.
public struct LevelEstimate: Codable, Sendable, Equatable {
    /// The most likely level at or above the lower bound.
    public var level: Level
    /// The evidence ties `level` with another level (within `LevelAnalysis.tieMargin`): no level is claimed.
    public var undetermined: Bool
    /// The share of `level` among the levels the lower bound leaves, 0…1 (capped at 0.5 under gVisor).
    public var confidence: Double
    /// Each hypothesis's share, given the lower bound (levels below it are 0).
    public var probabilities: [String: Double]
    /// What definitive evidence proves at least.
    public var lowerBound: Level
    public var lowerBoundReason: String
    public var evidence: [Evidence]
}

/// Builds the estimate from everything the analysis found.
public enum LevelAnalysis {
    /// Two levels whose shares differ by less than this are a tie: the estimate is then undetermined.
    public static let tieMargin = 0.02

    public static func estimate(
        hypervisors: HypervisorFindings, platform: PlatformFindings, cost: HostExitCost?, timing: Fact<HostTiming>,
        cpuidCaptured: Bool, emulation: EmulationFinding? = nil, machine: MachineEvidence = MachineEvidence()
    ) -> LevelEstimate {
        var evidence: [Evidence]
        if let emulation {
            evidence = emulatedCPUIDEvidence(emulation, hypervisors: hypervisors, platform: platform)
        } else {
            evidence = cpuidEvidence(hypervisors: hypervisors, platform: platform, cpuidCaptured: cpuidCaptured)
        }
        evidence += timingEvidence(
            hypervisors: hypervisors, platform: platform, cost: cost, timing: timing, emulation: emulation)
        evidence += secondClockEvidence(hypervisors: hypervisors, platform: platform, cost: cost, emulation: emulation)
        evidence += platformEvidence(platform)
        evidence += machineEvidence(machine, root: isRootDomain(hypervisors, platform))
        evidence.append(
            Evidence(
                "prior.nesting", source: "prior", observation: "nested VMs are the exception",
                l0: 0, l1: 0, l2: -0.25,
                note: "a VM inside a VM needs a host that offers nesting and someone who asked for it, so L2+ starts a "
                    + "little behind: enough to break a tie, never to outweigh an observation"))

        // Summed in the evidence's order and the levels' order, never in a dictionary's: floating-point sums
        // depend on their order, and a dictionary's follows the per-process hash seed.
        var totals: [Level: Double] = [.l0: 0, .l1: 0, .l2OrDeeper: 0]
        for item in evidence {
            for level in Level.allCases { totals[level, default: 0] += item.weights[level.rawValue] ?? 0 }
        }
        // The lower bound is proven, so the levels below it are out: the shares are the model's, conditioned
        // on the bound, and the verdict is the largest of them. The confidence is then that same share.
        let bound = lowerBound(hypervisors: hypervisors, platform: platform, emulation: emulation, machine: machine)
        let boundIndex = Level.allCases.firstIndex(of: bound.level) ?? 0
        let allowed = Array(Level.allCases[boundIndex...])
        let top = allowed.map { totals[$0] ?? 0 }.max() ?? 0
        let exps = allowed.map { exp((totals[$0] ?? 0) - top) }
        let sum = exps.reduce(0, +)
        var probabilities: [String: Double] = [:]
        for level in Level.allCases { probabilities[level.rawValue] = 0 }
        for (level, e) in zip(allowed, exps) { probabilities[level.rawValue] = sum > 0 ? e / sum : 0 }
        let ranked = allowed.sorted { (probabilities[$0.rawValue] ?? 0) > (probabilities[$1.rawValue] ?? 0) }
        let level = ranked.first ?? bound.level
        var confidence = probabilities[level.rawValue] ?? 0
        let runnerUp = ranked.dropFirst().first.map { probabilities[$0.rawValue] ?? 0 } ?? 0
        let undetermined = ranked.count > 1 && confidence - runnerUp < tieMargin
        if platform.sandbox == "gVisor" {
            confidence = min(confidence, 0.5)  // gVisor answers CPUID itself and hides what is below it
        }
        confidence = min(max(confidence, 0), 0.99)
        return LevelEstimate(
            level: level, undetermined: undetermined, confidence: confidence, probabilities: probabilities,
            lowerBound: bound.level, lowerBoundReason: bound.reason, evidence: evidence)
    }

    /// Whether this OS is a root domain that owns the machine under its own hypervisor: the Hyper-V root
    /// partition, or Xen's dom0.
    static func isRootDomain(_ hypervisors: HypervisorFindings, _ platform: PlatformFindings) -> Bool {
        hypervisors.hyperVRootPartition || platform.xen?.role == .dom0
    }

    /// The hypervisor bit, the signatures and the Hyper-V and PVM leaves, as this process read them.
    static func cpuidEvidence(hypervisors: HypervisorFindings, platform: PlatformFindings, cpuidCaptured: Bool)
        -> [Evidence]
    {
        var evidence: [Evidence] = []
        let root = isRootDomain(hypervisors, platform)
        let kernelSees = platform.kernelCPU?.seesHypervisor
        if !cpuidCaptured {
            evidence.append(
                Evidence(
                    "cpuid.missing", source: "CPUID", observation: "no CPUID leaves in the snapshot",
                    l0: 0, l1: 0, l2: 0, note: "unknown: without CPUID the estimate rests on the platform alone"))
        } else if !hypervisors.leaf1Present {
            evidence.append(
                Evidence(
                    "cpuid.leaf1-missing", source: "CPUID.1:ECX[31]", observation: "unknown (no leaf 1)",
                    l0: 0, l1: 0, l2: 0,
                    note: "the snapshot holds no CPUID leaf 1, so the hypervisor bit was not seen either way"))
        } else if hypervisors.hypervisorBit {
            evidence.append(
                Evidence(
                    "cpuid.hypervisor-bit", source: "CPUID.1:ECX[31]", observation: "set",
                    l0: root ? 0 : -8, l1: 0, l2: 0,
                    note: root
                        ? "set in a root domain (Hyper-V root partition, Xen dom0) too, so it does not rule out bare metal here"
                        : "a hypervisor runs below this OS"))
        } else if platform.xen?.isPV == true || (platform.xen != nil && kernelSees != false) {
            evidence.append(
                Evidence(
                    "cpuid.hypervisor-bit", source: "CPUID.1:ECX[31]", observation: "clear",
                    l0: 0, l1: 0, l2: 0,
                    note:
                        "discounted: in a Xen PV domain CPUID is not trapped (no CPUID faulting), so the bit is the hardware's"
                ))
        } else if kernelSees == true {
            evidence.append(
                Evidence(
                    "cpuid.hypervisor-bit", source: "CPUID.1:ECX[31]", observation: "clear",
                    l0: 0, l1: 0, l2: 0,
                    note:
                        "discounted: the kernel's own CPUID (its \"hypervisor\" flag in /proc/cpuinfo) shows the bit that this process's does not"
                ))
        } else {
            evidence.append(
                Evidence(
                    "cpuid.hypervisor-bit", source: "CPUID.1:ECX[31]", observation: "clear",
                    l0: 3, l1: -2, l2: -3,
                    note: "no hypervisor announces itself (bare metal, or a hypervisor hiding the bit)"))
        }
        if cpuidCaptured, !hypervisors.hypervisorBit, kernelSees == true {
            evidence.append(
                Evidence(
                    "kernel.hypervisor-flag", source: "/proc/cpuinfo flags", observation: "hypervisor",
                    l0: root ? 0 : -6, l1: 0, l2: 0,
                    note:
                        "the kernel's CPUID shows a hypervisor below (a Xen PV kernel asks Xen through the forced-emulation prefix)"
                ))
        }
        for range in hypervisors.ranges {
            evidence.append(
                Evidence(
                    "cpuid.signature", source: "CPUID \(range.base)",
                    observation: "\"\(range.signature)\" (\(range.kind.rawValue))", l0: root ? 0 : -2, l1: 0.3, l2: 0,
                    note: hypervisors.ranges.count > 1
                        ? "several ranges are one hypervisor offering several interfaces, not nesting"
                        : "names the hypervisor this OS runs on"))
        }
        if hypervisors.intelKGTLeaf3 == true {
            evidence.append(
                Evidence(
                    "cpuid.kgt-leaf3", source: "CPUID 0x00000003 ECX, EDX",
                    observation: "\"EVMM\" \"INTC\" (Intel KGT's evmm)", l0: root ? 0 : -2, l1: 0.3, l2: 0,
                    note: "Intel KGT's evmm signs the reserved leaf 3; no CPU writes that text there"))
        }
        if hypervisors.hyperVRootPartition {
            evidence.append(
                Evidence(
                    "hyperv.root-partition", source: "CPUID 0x40000003 EBX[0]",
                    observation: "CreatePartitions privilege", l0: 10, l1: -4, l2: -6,
                    note: "only the Hyper-V root partition, which owns the physical machine, may create partitions"))
        }
        if hypervisors.hyperVNested {
            evidence.append(
                Evidence(
                    "hyperv.nested", source: "CPUID 0x40000004 EAX[12]",
                    observation: "running nested", l0: -8, l1: -6, l2: 6,
                    note: "Hyper-V tells this partition that it runs inside another Hyper-V partition"))
        }
        if hypervisors.pvmGuest {
            evidence.append(
                Evidence(
                    "pvm.guest", source: "CPUID PVM leaves", observation: "this kernel is a PVM guest",
                    l0: -6, l1: -1, l2: 1.5,
                    note:
                        "PVM (SOSP'23) exists to host guests inside cloud VMs without nested VMX/SVM, so its guests are usually L2"
                ))
        }
        return evidence
    }

    /// Under a user-mode emulator CPUID is the emulator's: none of it counts, and the kernel's own flags
    /// stand in for the hypervisor bit.
    static func emulatedCPUIDEvidence(
        _ emulation: EmulationFinding, hypervisors: HypervisorFindings, platform: PlatformFindings
    ) -> [Evidence] {
        let seen = hypervisors.ranges.map { "\"\($0.signature)\"" }.joined(separator: ", ")
        var evidence = [
            Evidence(
                "cpuid.emulated", source: "CPUID against /proc/cpuinfo",
                observation: "answered by \(emulation.emulator)" + (seen.isEmpty ? "" : "; signatures \(seen)"),
                l0: 0, l1: 0, l2: 0,
                note: "discounted: " + emulation.conflicts.joined(separator: "; ")
                    + ". An emulator adds no hypervisor level; the kernel's view is used instead")
        ]
        let root = isRootDomain(hypervisors, platform)
        switch platform.kernelCPU?.seesHypervisor {
        case true?:
            evidence.append(
                Evidence(
                    "kernel.hypervisor-flag", source: "/proc/cpuinfo flags", observation: "hypervisor",
                    l0: root ? 0 : -8, l1: 0, l2: 0, note: "the kernel's CPUID at boot: a hypervisor runs below this OS"
                ))
        case false?:
            evidence.append(
                Evidence(
                    "kernel.hypervisor-flag", source: "/proc/cpuinfo flags", observation: "no hypervisor flag",
                    l0: 3, l1: -2, l2: -3, note: "the kernel's CPUID at boot showed no hypervisor"))
        case nil:
            evidence.append(
                Evidence(
                    "kernel.hypervisor-flag", source: "/proc/cpuinfo flags", observation: "unknown",
                    l0: 0, l1: 0, l2: 0, note: "no flags line: the kernel's hypervisor bit is unknown"))
        }
        return evidence
    }

    static func lowerBound(
        hypervisors: HypervisorFindings, platform: PlatformFindings, emulation: EmulationFinding?,
        machine: MachineEvidence = MachineEvidence()
    ) -> (level: Level, reason: String) {
        let trusted = emulation == nil
        if (trusted && hypervisors.hyperVNested) || platform.kernelSaysNested {
            return (.l2OrDeeper, "Hyper-V reports that this partition runs nested")
        }
        if trusted && hypervisors.hyperVRootPartition {
            return (.l0, "Hyper-V root partition: the physical machine, under its own hypervisor")
        }
        if platform.xen?.role == .dom0 {
            return (.l0, "Xen dom0 (/proc/xen/capabilities: control_d): the domain that manages the physical machine")
        }
        if trusted && hypervisors.hypervisorBit { return (.l1, "the CPUID hypervisor bit is set") }
        if trusted, let first = hypervisors.ranges.first {
            return (.l1, "CPUID names a hypervisor (\(first.signature))")
        }
        if platform.kernelCPU?.seesHypervisor == true {
            return (.l1, "the kernel's /proc/cpuinfo has the hypervisor flag")
        }
        if let proven = machineLowerBound(machine) { return proven }
        if let platform = platform.dmi.virtualPlatform { return (.l1, "DMI names a virtual platform (\(platform))") }
        if let signed = acpiLowerBound(machine) { return signed }
        if platform.xen != nil { return (.l1, "Xen shows itself (\(platform.xen?.evidence.first ?? "xen"))") }
        if platform.sysHypervisorType != nil { return (.l1, "/sys/hypervisor reports a hypervisor") }
        if platform.wsl2 { return (.l1, "the kernel is WSL 2's, which runs in a Hyper-V VM") }
        return (.l0, "nothing proves a hypervisor below")
    }

    static func timingEvidence(
        hypervisors: HypervisorFindings, platform: PlatformFindings, cost: HostExitCost?, timing: Fact<HostTiming>,
        emulation: EmulationFinding? = nil
    ) -> [Evidence] {
        guard let cost else {
            let why = timing.missing.map { "\($0.reason.rawValue): \($0.detail)" } ?? "no samples"
            return [
                Evidence(
                    "timing.host-cpuid", source: "timed CPUID in this process", observation: "not measured",
                    l0: 0, l1: 0, l2: 0, note: why)
            ]
        }
        let cycles = cost.netMedianCycles
        let seen =
            "median \(CheckedNumber.wholeText(cycles)) cycles (\(String(format3: cost.netMedianNanoseconds / 1000)) µs) "
            + "over \(cost.rawCycles.count) samples"
        func item(_ l0: Double, _ l1: Double, _ l2: Double, _ note: String) -> [Evidence] {
            [
                Evidence(
                    "timing.host-cpuid", source: "timed CPUID leaf 0 in this process", observation: seen,
                    l0: l0, l1: l1, l2: l2, note: note)
            ]
        }
        if platform.sandbox == "gVisor" {
            return item(
                0, 0, 0,
                "discounted: gVisor answers CPUID itself (CPUID faulting), so the cost is gVisor's, not a VM exit's")
        }
        if let emulation {
            return item(
                0, 0, 0, "discounted: CPUID was answered by \(emulation.emulator), so its cost is the emulator's code")
        }
        if platform.xen?.isPV == true {
            return item(
                0, 0, 0,
                "discounted: in a Xen PV domain CPUID from user space does not trap, so its cost says nothing about the level"
            )
        }
        if hypervisors.kinds.contains(.qemuTCG) {
            return item(
                0, 0, 0,
                "discounted: under QEMU TCG CPUID is emulated inline and never traps, so its cost says nothing about the level"
            )
        }
        if cycles < CPUIDCostBands.noTrap {
            if hypervisors.hypervisorBit {
                return item(
                    0, 0, 0,
                    "discounted: a hypervisor is present but CPUID did not trap (software emulation or a hypervisor that does not intercept CPUID)"
                )
            }
            return item(2, -1, -2, "no trap: CPUID ran on the CPU (bare metal: ~100–300 cycles)")
        }
        if cycles < CPUIDCostBands.singleLevel {
            return item(-3, 2.5, -1.5, "one hardware exit (published L1: 1,018–2,600 cycles)")
        }
        if cycles < CPUIDCostBands.nested {
            return item(-3, 0.5, 0.5, "between the published single-level (≤ 2,600) and nested (≥ 8,304) figures")
        }
        if cycles < CPUIDCostBands.software {
            return item(
                -3, -0.3, 0.7,
                "inside the published nested range (8,304 with eVMCS; 13–58 k), so nesting below is likely; "
                    + "a single level with costly exit mitigations (IBPB on VM exit, SRSO) can also reach it, "
                    + "so it counts for less than a documented bit")
        }
        return item(-3, 0, 0.3, "far beyond any hardware exit path: software emulation or a trapping sandbox below")
    }

    static func platformEvidence(_ platform: PlatformFindings) -> [Evidence] {
        var evidence: [Evidence] = []
        let dmi = platform.dmi
        if let name = dmi.virtualPlatform {
            evidence.append(
                Evidence(
                    "dmi.virtual", source: "/sys/class/dmi/id", observation: "names \(name)",
                    l0: -3, l1: 0.5, l2: 0, note: "the firmware tables are a virtual platform's"))
        } else if let cloud = dmi.cloud, dmi.bareMetalInstance {
            evidence.append(
                Evidence(
                    "dmi.cloud-metal", source: "/sys/class/dmi/id",
                    observation: "\(cloud), product \(dmi.fields["product_name"] ?? "?")", l0: 1.5, l1: -1, l2: -1,
                    note:
                        "a bare-metal instance type: the cloud's firmware on its own hardware, with no hypervisor below"
                ))
        } else if let cloud = dmi.cloud {
            evidence.append(
                Evidence(
                    "dmi.cloud", source: "/sys/class/dmi/id",
                    observation: "\(cloud), product \(dmi.fields["product_name"] ?? "?")", l0: -1, l1: 0.5, l2: 0,
                    note:
                        "clouds write their name on VMs and bare-metal instances alike, so it leans to a VM without proving one"
                ))
        } else if !dmi.fields.isEmpty {
            let vendor = dmi.fields["sys_vendor"] ?? dmi.fields["board_vendor"] ?? "?"
            evidence.append(
                Evidence(
                    "dmi.physical", source: "/sys/class/dmi/id", observation: "vendor \(vendor)",
                    l0: 1, l1: -0.5, l2: -0.5,
                    note: "no virtual platform named; hypervisors can pass host DMI through, so weak"))
        } else if !dmi.captured {
            evidence.append(
                Evidence(
                    "dmi.not-captured", source: "/sys/class/dmi/id", observation: "unknown (not captured)",
                    l0: 0, l1: 0, l2: 0, note: dmi.missing ?? "DMI was not in the snapshot"))
        } else if let missing = dmi.missing {
            evidence.append(
                Evidence(
                    "dmi.absent", source: "/sys/class/dmi/id", observation: "no DMI tables",
                    l0: platform.microVM != nil ? -1 : 0, l1: 0, l2: 0, note: missing))
        }
        if let xen = platform.xen, xen.role == .dom0 {
            evidence.append(
                Evidence(
                    "xen.dom0", source: "/proc/xen/capabilities", observation: "control_d (dom0)",
                    l0: 10, l1: -4, l2: -6,
                    note:
                        "dom0 is Xen's privileged domain, which manages the physical machine (as the Hyper-V root partition does)"
                ))
        }
        if let type = platform.sysHypervisorType {
            let dom0 = platform.xen?.role == .dom0
            evidence.append(
                Evidence(
                    "sys.hypervisor", source: "/sys/hypervisor/type", observation: type,
                    l0: dom0 ? 0 : -4, l1: 0.5, l2: 0,
                    note: dom0
                        ? "dom0 runs on Xen too, so it does not rule out the physical machine"
                        : "the kernel found a \(type) hypervisor"))
        }
        if let name = platform.kernelHypervisor {
            evidence.append(
                Evidence(
                    "kernel.hypervisor", source: "kernel log", observation: "Hypervisor detected: \(name)",
                    l0: platform.xen?.role == .dom0 ? 0 : -2, l1: 0, l2: 0, note: "the kernel's own detection at boot"))
        }
        if platform.kernelSaysNested {
            evidence.append(
                Evidence(
                    "kernel.nested", source: "kernel log", observation: "running on a nested hypervisor",
                    l0: -4, l1: -3, l2: 3, note: "the kernel read Hyper-V's nested hint at boot"))
        }
        if platform.wsl2 {
            evidence.append(
                Evidence(
                    "kernel.wsl2", source: "/proc/sys/kernel/osrelease", observation: "WSL 2 kernel",
                    l0: -4, l1: 0.5, l2: 0, note: "WSL 2 runs in a Hyper-V utility VM"))
        }
        if let sandbox = platform.sandbox {
            evidence.append(
                Evidence(
                    "sandbox", source: "/proc, kernel log", observation: sandbox,
                    l0: 0, l1: 0, l2: 0,
                    note: "\(sandbox) emulates the kernel interface; what it reports of the machine below is its own"))
        }
        return evidence
    }
}

#if canImport(Glibc)
    import Glibc
#endif
