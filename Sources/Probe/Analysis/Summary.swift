// Summary: the few lines at the top of `nestprobe diagnose`, built from the diagnosis alone.

/// The headline lines of a diagnosis.
public enum Summary {
    public static func lines(_ d: Diagnosis) -> [String] {
        var lines: [String] = []
        lines.append(levelLine(d))
        lines.append("Runs on: " + runsOn(d))
        if let emulation = d.emulation {
            lines.append(
                "Emulated CPU: this process's CPUID is \(emulation.emulator)'s, not the machine's ("
                    + emulation.conflicts.joined(separator: "; ")
                    + "); an emulator adds no level, so the kernel's view is used")
        }
        if let reconciliation = d.identity.reconciliation { lines.append("Reconciled: " + reconciliation) }
        for disagreement in d.disagreements ?? [] { lines.append("Sources disagree: " + disagreement) }
        if let guest = d.confidential?.guest {
            lines.append("Confidential guest: \(guest) (" + (d.confidential?.proof ?? []).joined(separator: "; ") + ")")
        }
        if let container = d.platform.container {
            lines.append(
                "Container: \(container.kind) (\(container.evidence.joined(separator: ", "))); "
                    + "a container adds no hypervisor level")
        }
        lines.append("CPU: " + cpuLine(d))
        for caveat in d.cpuCaveats { lines.append("CPU caveat: " + caveat) }
        lines.append("Own CPUID exit: " + exitLine(d))
        lines.append("Can host VMs: " + hostingLine(d.hosting))
        lines.append("Its guests can host VMs: \(d.hosting.guestsCanHost.rawValue) — \(d.hosting.guestsCanHostReason)")
        switch d.msrs {
        case .available(let decoded): lines.append("MSRs: \(decoded.count) read")
        case .unavailable(let reason, let detail): lines.append("MSRs: unavailable (\(reason.rawValue)): \(detail)")
        }
        return lines
    }

    static func levelLine(_ d: Diagnosis) -> String {
        let estimate = d.level
        let percent = CheckedNumber.percentText(estimate.confidence)
        if estimate.undetermined {
            let shares = Level.allCases.filter { (estimate.probabilities[$0.rawValue] ?? 0) > 0 }
                .map { "\($0.rawValue) \(CheckedNumber.percentText(estimate.probabilities[$0.rawValue] ?? 0)) %" }
            return "Level: undetermined — the evidence ties (\(shares.joined(separator: ", "))); at least "
                + "\(estimate.lowerBound.rawValue): \(estimate.lowerBoundReason)"
        }
        if estimate.level == estimate.lowerBound {
            return "Level: \(estimate.level.words), confidence \(percent) % — \(estimate.lowerBoundReason)"
        }
        return "Level: at least \(estimate.lowerBound.rawValue) (\(estimate.lowerBoundReason)); "
            + "most likely \(estimate.level.words), confidence \(percent) %"
    }

    static func runsOn(_ d: Diagnosis) -> String {
        var parts: [String] = []
        if d.emulation != nil {
            parts.append("\(d.identity.name) (\(d.identity.basis))")
        } else if d.hypervisors.ranges.isEmpty {
            if d.identity.word != "none" && d.identity.word != "unknown" {
                parts.append("\(d.identity.name) (\(d.identity.basis))")
            } else if d.hypervisors.hypervisorBit {
                parts.append("an unnamed hypervisor")
            } else if !d.hypervisors.leaf1Present {
                parts.append("unknown: \(d.identity.basis)")
            } else {
                parts.append("no hypervisor seen in CPUID")
            }
        } else {
            let names = d.hypervisors.ranges.map { "\($0.kind.rawValue) (\"\($0.signature)\" at \($0.base))" }
            parts.append(names.joined(separator: " + "))
        }
        if d.hypervisors.hyperVRootPartition { parts.append("Hyper-V root partition") }
        if d.hypervisors.hyperVNested { parts.append("Hyper-V says nested") }
        if let platform = d.platform.dmi.virtualPlatform { parts.append("DMI: \(platform)") }
        if let cloud = d.platform.dmi.cloud {
            parts.append("DMI: \(cloud)" + (d.platform.dmi.bareMetalInstance ? ", a bare-metal instance" : ""))
        }
        if let xen = d.platform.xen, d.emulation == nil, !d.hypervisors.ranges.isEmpty {
            parts.append("Xen \(xen.role.rawValue)" + (xen.guestType.map { " \($0)" } ?? ""))
        }
        if let microVM = d.platform.microVM {
            parts.append(microVM)
        } else if let vmm = MachineEvidence(firmware: d.firmware, devices: d.devices).vmmNamed {
            parts.append("VMM \(vmm.name) (\(vmm.basis.joined(separator: "; ")))")
        }
        if let sandbox = d.platform.sandbox { parts.append("sandbox: \(sandbox)") }
        if d.platform.wsl2 { parts.append("WSL 2") }
        return parts.joined(separator: "; ")
    }

    static func cpuLine(_ d: Diagnosis) -> String {
        switch d.cpu {
        case .available(let cpu):
            var text =
                "\(cpu.brand.isEmpty ? cpu.vendorString : cpu.brand), family \(hex(cpu.family))h "
                + "model \(hex(cpu.model))h stepping \(cpu.stepping)"
            if !cpu.codename.isEmpty { text += ": \(cpu.codename)" }
            if let correction = cpu.codenameCorrection { text += " [corrected: \(correction)]" }
            if d.emulation != nil {
                text += " — the emulator's model; the kernel's CPU: \(d.platform.kernelCPU?.modelName ?? "unknown")"
            }
            return text
        case .unavailable(let reason, let detail):
            return "unidentified (\(reason.rawValue)): \(detail)"
        }
    }

    static func exitLine(_ d: Diagnosis) -> String {
        switch d.hostExitCost {
        case .available(let cost):
            let note = d.level.evidence.first { $0.id == "timing.host-cpuid" }?.note ?? ""
            return
                "median \(grouped(cost.netMedianCycles)) cycles (\(String(format3: cost.netMedianNanoseconds / 1000)) µs), "
                + "p90 \(grouped(cost.rawCycles.p90 - cost.overheadCycles.p50))"
                + (cost.cpuidPerLFENCE.map { ", \(grouped($0)) LFENCEs on the same counter" } ?? "") + " — \(note)"
        case .unavailable(let reason, let detail):
            return "not measured (\(reason.rawValue)): \(detail)"
        }
    }

    static func hostingLine(_ h: HostingVerdict) -> String {
        switch h.canHost {
        case .yes:
            switch h.mechanism {
            case .pvm:
                return
                    "yes, through kvm_pvm (PVM: software, needs no VMX/SVM\(h.cpuVMX || h.cpuSVM ? "" : "; none here"))"
            case .vmx: return "yes, through kvm_intel (VT-x)"
            case .svm: return "yes, through kvm_amd (AMD-V)"
            case .none: return "yes (/dev/kvm \(h.kvmDevice))"
            }
        case .no:
            let first = h.blockers.first.map { " — \($0.problem); fix: \($0.fix)" } ?? ""
            return "no: /dev/kvm \(h.kvmDevice)\(first)"
        case .unknown:
            let cpu =
                h.cpuFlagsSource.hasPrefix("unknown")
                ? ""
                : "; the CPU offers " + (h.cpuVMX ? "VMX" : h.cpuSVM ? "SVM" : "neither VMX nor SVM")
            let first = h.blockers.first.map { " — \($0.problem); fix: \($0.fix)" } ?? ""
            return "unknown: /dev/kvm \(h.kvmDevice)\(cpu)\(first)"
        }
    }

    static func hex(_ value: Int) -> String { String(value, radix: 16, uppercase: true) }

    /// 12345.6 → "12,346".
    static func grouped(_ value: Double) -> String {
        TextFormat.grouped(value)
    }
}
