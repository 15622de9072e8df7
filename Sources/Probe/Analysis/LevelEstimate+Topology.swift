// LevelEstimate+Topology: the CPU topology's consistency, the temperature sensors and the second clock as
// evidence (issue 16). All three are weak: they only shift the shares, never the lower bound.

extension LevelAnalysis {
    /// Evidence from the topology's consistency and from the sensors.
    static func topologyEvidence(_ machine: MachineEvidence) -> [Evidence] {
        var evidence: [Evidence] = []
        if let t = machine.topology {
            let cpuidSide =
                t.x2apicLeaf.map {
                    "leaf \($0): \(t.threadsPerCore ?? 0) thread(s)/core, \(t.logicalPerPackage ?? 0) per package"
                }
                ?? (t.x2apicUnknown ?? "x2APIC topology unknown")
            let leaf1Side =
                t.htt.map { "leaf 1: HTT \($0 ? "set" : "clear"), \(t.leaf1Logical ?? 0) IDs" } ?? "no leaf 1"
            let kernelSide =
                t.kernelPackages.map { packages in
                    "kernel: \(t.kernelOnline.map(String.init) ?? "?") online, \(packages) package(s), "
                        + "\(t.kernelCoresPerPackage.map(String.init) ?? "?") core(s)/package, "
                        + "\(t.kernelThreadsPerCore.map(String.init) ?? "?") thread(s)/core"
                } ?? (t.kernelUnknown ?? "kernel view unknown")
            let seen = [leaf1Side, cpuidSide, kernelSide].joined(separator: "; ")
            let source = "CPUID 1, 0xB/0x1F; /sys/devices/system/cpu"
            if !t.inconsistencies.isEmpty {
                evidence.append(
                    Evidence(
                        "topology.inconsistent", source: source,
                        observation: seen + " — " + t.inconsistencies.joined(separator: "; "),
                        l0: -1, l1: 0.4, l2: 0.3,
                        note:
                            "a VMM writes the topology leaves itself and often writes an impossible one; `nosmt`, "
                            + "offline CPUs or a CPU template can look odd too, so weak"))
            } else if t.x2apicLeaf == nil && t.kernelPackages == nil {
                evidence.append(
                    Evidence(
                        "topology.unknown", source: source, observation: seen, l0: 0, l1: 0, l2: 0,
                        note: "neither CPUID's x2APIC topology nor the kernel's was read, so nothing was compared"))
            } else {
                evidence.append(
                    Evidence(
                        "topology.consistent", source: source, observation: seen, l0: 0, l1: 0, l2: 0,
                        note:
                            "discounted: a consistent topology is what real CPUs show, but also what a careful VMM "
                            + "(every cloud's) writes"))
            }
            if let apic = t.apic { evidence.append(apicEvidence(apic)) }
            if let model = t.modelThreads { evidence.append(modelThreadEvidence(model)) }
        }
        if let s = machine.sensors {
            let source = "/sys/class/thermal, /sys/class/hwmon"
            let seen =
                "thermal zones: \(s.thermalZones.map { $0.isEmpty ? "none" : $0.joined(separator: ", ") } ?? "unknown"); "
                + "hwmon: \(s.hwmon.map { $0.isEmpty ? "none" : $0.joined(separator: ", ") } ?? "unknown")"
            if !s.cpuSensors.isEmpty {
                evidence.append(
                    Evidence(
                        "sensors.cpu", source: source, observation: seen, l0: 0.7, l1: -0.3, l2: -0.3,
                        note:
                            "\(s.cpuSensors.joined(separator: ", ")) read the CPU package's thermal registers, which "
                            + "hypervisors do not emulate; a VM given those MSRs (or a passed-through host) shows them too, "
                            + "so weak"))
            } else if let zones = s.thermalZones, let monitors = s.hwmon, zones.isEmpty, monitors.isEmpty {
                evidence.append(
                    Evidence(
                        "sensors.none", source: source, observation: seen, l0: -0.5, l1: 0.2, l2: 0.2,
                        note:
                            "x86 servers and laptops show at least one temperature sensor and VMMs rarely emulate any; "
                            + "a kernel built without the drivers shows none either, so weak"))
            } else if s.thermalZones != nil || s.hwmon != nil {
                evidence.append(
                    Evidence(
                        "sensors.other", source: source, observation: seen, l0: 0, l1: 0, l2: 0,
                        note: "discounted: sensors, but none that reads the CPU package (ACPI zones and board chips "
                            + "are emulated by some VMMs)"))
            } else if let unknown = s.unknown {
                evidence.append(
                    Evidence(
                        "sensors.unknown", source: source, observation: "unknown", l0: 0, l1: 0, l2: 0, note: unknown))
            }
        }
        return evidence
    }

    /// CPUID's cost over an LFENCE's on the same counter: above this, CPUID left the CPU (a VM exit or a trap).
    public static let trappingRatio = 100.0
    /// Below this, CPUID ran on the CPU: bare-metal CPUID is ~100–300 cycles, an LFENCE ~5–30.
    public static let nativeRatio = 40.0

    /// The second clock: CPUID's cost as a ratio to a chain of LFENCEs timed on the same counter.
    static func secondClockEvidence(
        hypervisors: HypervisorFindings, platform: PlatformFindings, cost: HostExitCost?, emulation: EmulationFinding?
    ) -> [Evidence] {
        guard let cost, let ratio = cost.cpuidPerLFENCE, let fence = cost.lfenceCycles else { return [] }
        let seen =
            "CPUID = \(CheckedNumber.wholeText(ratio)) × one LFENCE (\(String(format3: fence)) cycles each, "
            + "chain median net of the overhead)"
        func item(_ l0: Double, _ l1: Double, _ l2: Double, _ note: String) -> [Evidence] {
            [
                Evidence(
                    "timing.second-clock", source: "timed CPUID and LFENCE chain, same counter", observation: seen,
                    l0: l0, l1: l1, l2: l2, note: note)
            ]
        }
        if cpuidTimingDiscounted(hypervisors: hypervisors, platform: platform, emulation: emulation) {
            return item(0, 0, 0, "discounted for the reason the CPUID timing is: CPUID here is not a VM exit's cost")
        }
        if ratio >= trappingRatio {
            return item(
                -1.5, 0.3, 0.3,
                "CPUID costs hundreds of non-trapping fences: it traps. A ratio on one counter does not move when a "
                    + "hypervisor offsets or scales the TSC, so this backs the cycle figure")
        }
        if ratio < nativeRatio {
            if hypervisors.hypervisorBit {
                return item(0, 0, 0, "discounted: a hypervisor is present but CPUID did not trap by this ratio either")
            }
            return item(1, -0.5, -0.5, "CPUID costs a few fences: it ran on the CPU, whatever the TSC's rate")
        }
        return item(
            0, 0, 0,
            "between the native (< \(Int(nativeRatio))) and trapping (≥ \(Int(trappingRatio))) ratios: not judged")
    }

    /// Whether CPUID's cost here is not a VM exit's (gVisor, a user-mode emulator, a Xen PV domain, QEMU TCG), so
    /// neither clock says anything about the level.
    static func cpuidTimingDiscounted(
        hypervisors: HypervisorFindings, platform: PlatformFindings, emulation: EmulationFinding?
    ) -> Bool {
        platform.sandbox == "gVisor" || emulation != nil || platform.xen?.isPV == true
            || hypervisors.kinds.contains(.qemuTCG)
    }

    /// Where the cycle figure and the second clock disagree: a TSC scaled, offset or trapped to hide an exit.
    static func clockDisagreement(_ cost: HostExitCost?) -> String? {
        guard let cost, let ratio = cost.cpuidPerLFENCE else { return nil }
        if cost.netMedianCycles < CPUIDCostBands.noTrap, ratio >= trappingRatio {
            return "the TSC says CPUID costs \(CheckedNumber.wholeText(cost.netMedianCycles)) cycles (no trap), but it "
                + "costs \(CheckedNumber.wholeText(ratio)) LFENCEs on the same counter: the TSC is scaled or "
                + "trapped, so trust the ratio"
        }
        if cost.netMedianCycles >= CPUIDCostBands.singleLevel, ratio < nativeRatio {
            return "the TSC says CPUID costs \(CheckedNumber.wholeText(cost.netMedianCycles)) cycles, but only "
                + "\(CheckedNumber.wholeText(ratio)) LFENCEs on the same counter: LFENCE itself is slow here "
                + "(trapped or emulated), so neither figure is a clean exit cost"
        }
        return nil
    }

    /// The per-CPU APIC IDs: CPUID's leaves on each CPU against each other and against the kernel's IDs.
    static func apicEvidence(_ apic: APICFindings) -> Evidence {
        let source = "CPUID 1, 0xB/0x1F on each CPU; /proc/cpuinfo apicid"
        let via = apic.via.isEmpty ? "" : " via \(apic.via.joined(separator: ", "))"
        let seen =
            "\(apic.cpusRead) of \(apic.cpusListed) CPU(s) read\(via), x2APIC leaf \(apic.x2apicLeaf ?? "none"), "
            + "\(apic.cpuinfoRead) apicid(s) from /proc/cpuinfo"
        if !apic.disagreements.isEmpty {
            return Evidence(
                "apic.inconsistent", source: source,
                observation: seen + " — \(apic.disagreements.count) disagreement(s), each under \"Sources disagree\"",
                l0: -1, l1: 0.4, l2: 0.3,
                note:
                    "real CPUs give each logical processor one APIC ID that every leaf and the local APIC agree on; a "
                    + "disagreement is a masked or synthetic topology (a VMM's template, an emulator answering CPUID); "
                    + "a firmware bug can cause it too, so weak")
        }
        if apic.cpusRead == 0 {
            return Evidence(
                "apic.unknown", source: source, observation: seen, l0: 0, l1: 0, l2: 0,
                note: apic.unknown ?? "unknown: no CPU's CPUID was read on that CPU")
        }
        return Evidence(
            "apic.consistent", source: source, observation: seen + (apic.unknown.map { "; \($0)" } ?? ""),
            l0: 0, l1: 0, l2: 0,
            note: "discounted: agreeing IDs are what real CPUs show, and what KVM, Hyper-V and VMware write as well")
    }

    /// The CPU model's documented thread count against what the OS and the topology leaves count.
    static func modelThreadEvidence(_ model: ModelThreadFindings) -> Evidence {
        let source = "CPU model table (brand string, family/model); /sys/devices/system/cpu; CPUID 0xB/0x1F"
        switch model.verdict {
        case .more:
            return Evidence(
                "model-threads.more", source: source, observation: model.detail, l0: -1.5, l1: 0.5, l2: 0.3,
                note:
                    "more logical processors per package than this model has cannot happen on its bare metal: a VMM "
                    + "gave its guest more vCPUs per socket than the part has threads, or the brand is a template's; "
                    + "weak, since a table can miss a variant")
        case .fewer, .between:
            return Evidence(
                "model-threads.mismatch", source: source, observation: model.detail, l0: -0.5, l1: 0.3, l2: 0.2,
                note:
                    "a count this model does not ship with: what a VM with fewer vCPUs than its host's CPU looks like "
                    + "(VMAware's THREAD_MISMATCH calls it a VM); bare metal with cores disabled in firmware or "
                    + "`maxcpus=` looks the same, and a VM of any level does, so weak and no level of its own")
        case .matches:
            return Evidence(
                "model-threads.matches", source: source, observation: model.detail, l0: 0, l1: 0, l2: 0,
                note:
                    "discounted: the model's own count, as on bare metal, but also in a VM given whole sockets "
                    + "(metal-sized cloud instances, pinned VMs)")
        case .withinMaximum:
            return Evidence(
                "model-threads.within-maximum", source: source, observation: model.detail, l0: 0, l1: 0, l2: 0,
                note: "discounted: within the die's largest SKU, and the SKU itself is not in the table")
        case .unknown:
            return Evidence(
                "model-threads.unknown", source: source, observation: model.detail, l0: 0, l1: 0, l2: 0,
                note: model.model == nil
                    ? "unknown: model not in table, so nothing was compared"
                    : "unknown: the OS's count per package was not read")
        }
    }
}
