// DiagnosisText: the human-readable diagnosis, wrapped to 80 columns; colour only when asked for
// (the CLI asks on a terminal without NO_COLOR).

/// Renders a diagnosis as text.
public struct DiagnosisText {
    public var width = 80
    public var colour = false

    public init(width: Int = 80, colour: Bool = false) {
        self.width = width
        self.colour = colour
    }

    public func render(_ d: Diagnosis) -> String {
        var out: [String] = []
        out.append(bold("nestprobe \(d.tool.version) — where this machine stands"))
        for line in d.summary { out += wrap(line, indent: "  ") }
        out.append("")
        out.append(bold("Evidence for the level") + " (weights in nats for L0 / L1 / L2+)")
        for item in d.level.evidence {
            let w = ["L0", "L1", "L2+"].map { signed(item.weights[$0] ?? 0) }.joined(separator: " / ")
            out += wrap("\(item.source): \(item.observation) [\(item.discounted ? "discounted" : w)]", indent: "  ")
            out += wrap(item.note, indent: "      ")
        }
        let shares = ["L0", "L1", "L2+"].map { "\($0) \(CheckedNumber.percentText(d.level.probabilities[$0] ?? 0)) %" }
        out.append("  shares: " + shares.joined(separator: ", "))
        out.append("")
        out += hypervisorSection(d)
        out += hostingSection(d.hosting)
        out += exitSection(d)
        if !d.missing.isEmpty {
            out.append(bold("Could not read"))
            for item in d.missing {
                out += wrap("\(item.fact): \(item.reason.rawValue) — \(item.detail)", indent: "  ")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    func hypervisorSection(_ d: Diagnosis) -> [String] {
        var out = [bold("Hypervisors and platform")]
        let bit = !d.hypervisors.leaf1Present ? "unknown (no leaf 1)" : d.hypervisors.hypervisorBit ? "set" : "clear"
        out.append("  CPUID hypervisor bit: \(bit)")
        out += wrap("hypervisor: \(d.identity.word) — \(d.identity.name) (\(d.identity.basis))", indent: "  ")
        for range in d.hypervisors.ranges {
            out += wrap(
                "\(range.base) \"\(range.signature)\" \(range.kind.rawValue), max leaf \(range.maxLeaf)",
                indent: "  ")
            if !range.features.isEmpty { out += wrap(range.features.joined(separator: ", "), indent: "      ") }
        }
        if case .available(let cpu) = d.cpu {
            out += wrap(
                "libcpuid \(cpu.libcpuidVersion): vendor \(cpu.vendorString), hypervisor guess "
                    + "\(cpu.libcpuidHypervisor.value?.rawValue ?? "not taken (\(cpu.libcpuidHypervisor.missing?.detail ?? "?"))"), codename \"\(cpu.libcpuidCodename)\"",
                indent: "  ")
        }
        if let microcode = d.microcode { out.append("  microcode: \(microcode)") }
        let dmi = d.platform.dmi
        if dmi.fields.isEmpty {
            out += wrap("DMI: \(dmi.missing ?? "none")", indent: "  ")
        } else {
            let keys = ["sys_vendor", "product_name", "bios_vendor"].compactMap { k in
                dmi.fields[k].map { "\(k)=\($0)" }
            }
            out += wrap("DMI: " + keys.joined(separator: ", "), indent: "  ")
        }
        out += firmwareLines(d)
        if let type = d.platform.sysHypervisorType { out.append("  /sys/hypervisor/type: \(type)") }
        if let xen = d.platform.xen {
            out += wrap(
                "Xen: \(xen.role.rawValue)\(xen.guestType.map { ", \($0)" } ?? "") — "
                    + xen.evidence.joined(separator: "; "), indent: "  ")
        }
        if let name = d.platform.kernelHypervisor { out.append("  kernel: Hypervisor detected: \(name)") }
        if let source = d.platform.clocksource { out.append("  clock source: \(source)") }
        if let release = d.platform.kernelRelease { out.append("  kernel: \(release)") }
        out.append("")
        return out
    }

    /// ACPI headers, the SMBIOS bit, fw_cfg, PCI, network cards and confidential computing, when captured.
    func firmwareLines(_ d: Diagnosis) -> [String] {
        var out: [String] = []
        if let firmware = d.firmware {
            if firmware.acpiTables.isEmpty {
                if let missing = firmware.acpiMissing { out += wrap("ACPI: \(missing)", indent: "  ") }
            } else {
                let headers = firmware.acpiTables.sorted { $0.key < $1.key }.map { name, h in
                    "\(name) \(h.oemID)/\(h.oemTableID)/\(h.creatorID)"
                }
                out += wrap(
                    "ACPI (OEM/table/creator): " + headers.joined(separator: ", ")
                        + (firmware.acpiVMM.map { " — \($0)" } ?? firmware.acpiCloud.map { " — \($0)" } ?? ""),
                    indent: "  ")
            }
            if let detail = firmware.smbiosDetail { out += wrap("SMBIOS VM bit: \(detail)", indent: "  ") }
            if let fwCfg = firmware.fwCfg {
                out.append("  QEMU fw_cfg: " + (fwCfg ? "present" : "absent (or its driver is not loaded)"))
            }
        }
        if let devices = d.devices {
            if let pci = devices.pci {
                let virtual = devices.virtualFunctions.map {
                    "\($0.address) \(DeviceAnalysis.ids($0)) \($0.platform ?? "")"
                }
                out += wrap(
                    "PCI: \(pci.count) functions"
                        + (virtual.isEmpty
                            ? ", none virtual"
                            : "; virtual: "
                                + virtual.joined(separator: ", ")),
                    indent: "  ")
            } else if let missing = devices.pciMissing {
                out += wrap("PCI: \(missing)", indent: "  ")
            }
            if devices.nicsCaptured {
                let named = devices.nics.map { "\($0.interface) \($0.oui) \($0.platform)" }
                out += wrap(
                    "NIC OUIs: " + (named.isEmpty ? "none a virtual platform's" : named.joined(separator: ", "))
                        + (devices.locallyAdministered.isEmpty
                            ? ""
                            : " (locally administered, not counted: "
                                + devices.locallyAdministered.joined(separator: ", ") + ")"),
                    indent: "  ")
            }
        }
        if let confidential = d.confidential {
            if let guest = confidential.guest {
                out += wrap(
                    "confidential guest: \(guest) — " + confidential.proof.joined(separator: "; "), indent: "  ")
            }
            if !confidential.capability.isEmpty {
                out += wrap(
                    "confidential computing capability: " + confidential.capability.joined(separator: "; "),
                    indent: "  ")
            }
        }
        return out
    }

    func hostingSection(_ h: HostingVerdict) -> [String] {
        var out = [bold("Hosting")]
        if h.cpuFlagsSource.hasPrefix("unknown") {
            out += wrap("CPU flags: VMX unknown, SVM unknown (\(h.cpuFlagsSource))", indent: "  ")
        } else {
            out.append(
                "  CPU flags: VMX \(h.cpuVMX ? "yes" : "no"), SVM \(h.cpuSVM ? "yes" : "no") (from \(h.cpuFlagsSource))"
            )
        }
        if !h.svmFeatures.isEmpty { out += wrap("SVM: " + h.svmFeatures.joined(separator: ", "), indent: "  ") }
        if !h.vmxFeatures.isEmpty { out += wrap("VMX: " + h.vmxFeatures.joined(separator: ", "), indent: "  ") }
        let module = h.kvmModule ?? (h.modulesCaptured ? "none loaded" : "unknown (modules not captured)")
        out.append("  KVM module: \(module); /dev/kvm: \(h.kvmDevice)")
        if let signature = h.guestSignature { out.append("  guests would see hypervisor \"\(signature)\"") }
        let present = h.capabilities.filter { $0.value != 0 }.keys.sorted()
        if !h.capabilities.isEmpty {
            out += wrap(
                "capabilities (\(present.count) of \(h.capabilities.count)): "
                    + present.map { $0.replacingPrefix("KVM_CAP_") }.joined(separator: " "), indent: "  ")
        }
        for p in h.parameters where !p.meaning.isEmpty {
            out += wrap("\(p.module).\(p.name)=\(p.value): \(p.meaning)", indent: "  ")
        }
        for line in h.kernelSays { out += wrap("kernel: " + line, indent: "  ") }
        for blocker in h.blockers {
            out += wrap(warn("blocked: ") + blocker.problem, indent: "  ")
            out += wrap("fix: " + blocker.fix, indent: "      ")
        }
        out.append("")
        return out
    }

    func exitSection(_ d: Diagnosis) -> [String] {
        guard case .available(let c) = d.hostExitCost else { return [] }
        var out = [bold("Own CPUID exit cost") + " (leaf 0, fenced RDTSC/RDTSCP, cycles)"]
        let r = c.rawCycles
        out.append(
            "  samples \(r.count) after \(c.warmupDiscarded) warm-up, pinned to CPU \(c.pinnedCPU.map(String.init) ?? "none")"
        )
        out.append("  raw: min \(g(r.min)) p50 \(g(r.p50)) p90 \(g(r.p90)) p99 \(g(r.p99)) max \(g(r.max))")
        out.append(
            "       mean \(g(r.mean)) sd \(g(r.stddev)) MAD \(g(r.mad)) median 95% CI \(g(r.medianCI95[0]))–\(g(r.medianCI95[1]))"
        )
        out.append(
            "  timing overhead p50 \(g(c.overheadCycles.p50)); net median \(g(c.netMedianCycles)) cycles = "
                + "\(String(format3: c.netMedianNanoseconds)) ns")
        if let ratio = c.cpuidPerLFENCE, let fence = c.lfenceCycles {
            out.append(
                "  second clock: one LFENCE \(String(format3: fence)) cycles (an LFENCE chain on the same counter); "
                    + "CPUID = \(g(ratio)) LFENCEs")
        }
        out += wrap(
            "TSC \(String(format3: c.tsc.hz / 1e6)) MHz from \(c.tsc.source.rawValue): \(c.tsc.detail)", indent: "  ")
        out.append("")
        return out
    }

    func g(_ value: Double) -> String { Summary.grouped(value) }

    func signed(_ value: Double) -> String {
        value == 0 ? "0" : (value > 0 ? "+" : "") + String(format3: value)
    }

    func bold(_ text: String) -> String { colour ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    func warn(_ text: String) -> String { colour ? "\u{1B}[33m\(text)\u{1B}[0m" : text }

    /// Wraps at word boundaries to `width`, continuation lines indented two more spaces.
    func wrap(_ text: String, indent: String) -> [String] {
        var lines: [String] = []
        var current = indent
        let limit = max(width, indent.count + 20)
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            let visible = current.count + (current == indent || current.hasSuffix(" ") ? 0 : 1) + word.count
            if visible > limit && current.trimmed.count > 0 {
                lines.append(current)
                current = indent + "  " + word
            } else {
                current += (current == indent ? "" : " ") + word
            }
        }
        lines.append(current)
        return lines
    }
}

extension String {
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
