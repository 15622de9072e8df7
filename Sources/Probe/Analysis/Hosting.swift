// Hosting: can this level run KVM guests, by which mechanism, and could those guests run their own?
//
// Inputs: CPU flags (VMX: CPUID.1:ECX[5]; SVM: CPUID.8000_0001:ECX[2]), the loaded KVM vendor module and
// its parameters, /dev/kvm and what it answered, KVM_GET_SUPPORTED_CPUID (what guests would be
// offered), the firmware-lock MSRs where readable, and the kernel's own complaints in its log.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How KVM runs guests here.
public enum HostingMechanism: String, Codable, Sendable {
    /// Intel VT-x through kvm_intel.
    case vmx = "VMX"
    /// AMD-V through kvm_amd.
    case svm = "SVM"
    /// PVM through kvm_pvm: a software hypervisor that needs neither VMX nor SVM.
    case pvm = "PVM"
    case none
}

/// Yes, no, or cannot tell from what was read.
public enum Verdict: String, Codable, Sendable {
    case yes, no, unknown
}

/// Something that stands in the way, and what to do about it.
public struct Blocker: Codable, Sendable, Equatable {
    public var problem: String
    public var fix: String
}

/// A KVM module parameter and what its value means for running (nested) guests.
public struct ParameterFinding: Codable, Sendable, Equatable {
    public var module: String
    public var name: String
    public var value: String
    public var meaning: String
}

/// The hosting verdict.
public struct HostingVerdict: Codable, Sendable, Equatable {
    /// CPUID.1:ECX[5] (VMX) as this OS sees it (false when unknown; see `cpuFlagsSource`).
    public var cpuVMX: Bool
    /// CPUID.8000_0001:ECX[2] (SVM) as this OS sees it (false when unknown; see `cpuFlagsSource`).
    public var cpuSVM: Bool
    /// Where cpuVMX and cpuSVM come from: "CPUID", the kernel's /proc/cpuinfo when CPUID is an emulator's,
    /// or "unknown: …" when neither was read.
    public var cpuFlagsSource: String
    /// Whether the loaded modules were examined (false: `kvmModule` nil means unknown, not none).
    public var modulesCaptured: Bool
    /// SVM features from CPUID 0x8000_000A EDX, when SVM is present.
    public var svmFeatures: [String]
    /// VMX features from the capability MSRs, when readable.
    public var vmxFeatures: [String]
    /// kvm_intel, kvm_amd or kvm_pvm, if loaded.
    public var kvmModule: String?
    /// /dev/kvm: "usable", "absent", "permission denied", ...
    public var kvmDevice: String
    public var mechanism: HostingMechanism
    /// Can this level run KVM guests?
    public var canHost: Verdict
    /// Could those guests run their own (is VMX or SVM offered to them)?
    public var guestsCanHost: Verdict
    /// Why guestsCanHost says what it says.
    public var guestsCanHostReason: String
    /// The hypervisor signature guests started here would see (KVM_GET_SUPPORTED_CPUID 0x4000_0000).
    public var guestSignature: String?
    /// The module parameters that matter, interpreted.
    public var parameters: [ParameterFinding]
    /// KVM capabilities that matter, by name (0 = not supported).
    public var capabilities: [String: Int32]
    public var blockers: [Blocker]
    /// What the KVM modules said in the kernel log (load lines, refusals), de-duplicated.
    public var kernelSays: [String]
}

/// Derives the hosting verdict from a snapshot.
public enum HostingAnalysis {
    static let vendorModules = ["kvm_intel", "kvm_amd", "kvm_pvm"]

    public static func analyse(
        _ snapshot: Snapshot, cpuid: CPUIDTable, container: ContainerFinding?, platform: PlatformFindings? = nil,
        emulation: EmulationFinding? = nil
    ) -> HostingVerdict {
        let vendor = CPUVendor(cpuid)
        var vmx = (cpuid[1]?.ecx ?? 0) & (1 << 5) != 0
        var svm = (cpuid[0x8000_0001]?.ecx ?? 0) & (1 << 2) != 0
        var flagsSource = cpuid.hasLeaf1 ? "CPUID" : "unknown: no CPUID leaf 1 in the snapshot"
        if emulation != nil {
            if let kernel = platform?.kernelCPU, kernel.flagsRead {
                vmx = kernel.virtualizationFlags.contains("vmx")
                svm = kernel.virtualizationFlags.contains("svm")
                flagsSource = "/proc/cpuinfo (the kernel's view: this process's CPUID is an emulator's)"
            } else {
                vmx = false
                svm = false
                flagsSource = "unknown: this process's CPUID is an emulator's and /proc/cpuinfo has no flags"
            }
        }
        let modulesCaptured =
            snapshot.directory("/sys/module").isCaptured
            || vendorModules.contains { snapshot.directory("/sys/module/\($0)/parameters").isCaptured }
        let module =
            vendorModules.first { snapshot.directory("/sys/module/\($0)/parameters").value != nil }
            ?? vendorModules.first { (snapshot.directory("/sys/module").value ?? []).contains($0) }
        let parameters = interpretParameters(snapshot)
        let msrs = MSRFindings(snapshot.msrs.value ?? [])
        let log = snapshot.kernelLog.value ?? []
        var blockers: [Blocker] = []

        let device = snapshot.devices["/dev/kvm"] ?? .notCaptured
        let deviceState: String
        var canHost: Verdict
        switch device {
        case .available(let node) where node.openError == nil:
            deviceState = "usable (mode \(node.mode), group \(node.groupName ?? String(node.groupGID)))"
            canHost = snapshot.kvm.value != nil || !snapshot.kvm.isCaptured ? .yes : .unknown
            if let emulation, case .unavailable(let reason, let detail) = snapshot.kvm, reason != .notCaptured {
                // The emulator, not the kernel, refused: whether the machine can host was not seen.
                canHost = .unknown
                blockers.append(
                    Blocker(
                        problem:
                            "under \(emulation.emulator) KVM did not answer (\(detail)): the emulator does not pass "
                            + "KVM's ioctls through, so this says nothing of the machine",
                        fix: "run nestprobe natively, not under the emulator"))
            } else if case .unavailable(let reason, let detail) = snapshot.kvm, reason != .notCaptured {
                canHost = .no
                blockers.append(
                    Blocker(
                        problem: "/dev/kvm opened but KVM did not answer: \(detail)",
                        fix: "check the kernel log for KVM errors"))
            }
        case .available(let node):
            deviceState = "present but not usable: \(node.openErrorDetail ?? node.openError?.rawValue ?? "?")"
            canHost = .no
            if node.openError == .permissionDenied {
                let group = node.groupName ?? "gid \(node.groupGID)"
                blockers.append(
                    Blocker(
                        problem: "/dev/kvm exists (mode \(node.mode), group \(group)) but this user cannot open it",
                        fix: node.groupGID == 0
                            ? "run as root, or give /dev/kvm to a kvm group (udev rule) and add the user to it"
                            : "add the user to the \(group) group (`sudo usermod -aG \(group) $USER`, then log in again)"
                    ))
            }
        case .unavailable(.notCaptured, _):
            deviceState = "not in this snapshot"
            canHost = .unknown
        case .unavailable(let reason, let detail):
            deviceState = reason == .absent ? "absent" : "\(reason.rawValue): \(detail)"
            canHost = .no
            if let xen = platform?.xen, xen.role == .dom0 || xen.isPV {
                blockers.append(xenBlocker(xen))
            } else {
                blockers += missingDeviceBlockers(
                    vendor: vendor, vmx: vmx, svm: svm, module: module,
                    hypervisorBit: (cpuid[1]?.ecx ?? 0) >> 31 == 1, msrs: msrs, log: log, container: container)
            }
        }

        let mechanism: HostingMechanism
        switch module {
        case "kvm_intel": mechanism = .vmx
        case "kvm_amd": mechanism = .svm
        case "kvm_pvm": mechanism = .pvm
        default: mechanism = canHost == .yes ? (vmx ? .vmx : svm ? .svm : .none) : .none
        }

        let nesting = guestNesting(snapshot, mechanism: mechanism, canHost: canHost, parameters: parameters)
        blockers += nesting.blockers
        let supported = snapshot.kvm.value?.supportedCPUID.value.map(CPUIDTable.init)
        let signature = supported?[0x4000_0000].map { $0.signatureEBXECXEDX }
        return HostingVerdict(
            cpuVMX: vmx, cpuSVM: svm, cpuFlagsSource: flagsSource, modulesCaptured: modulesCaptured,
            svmFeatures: svm ? svmFeatures(cpuid) : [], vmxFeatures: msrs.vmxFeatures,
            kvmModule: module, kvmDevice: deviceState, mechanism: mechanism, canHost: canHost,
            guestsCanHost: nesting.verdict, guestsCanHostReason: nesting.reason,
            guestSignature: signature.flatMap { $0.isEmpty ? nil : $0 }, parameters: parameters,
            capabilities: snapshot.kvm.value?.capabilities ?? [:], blockers: blockers, kernelSays: kvmLogLines(log))
    }

    /// Why KVM cannot run in a Xen PV domain or in dom0, whatever CPUID shows.
    static func xenBlocker(_ xen: XenFindings) -> Blocker {
        if xen.role == .dom0 {
            return Blocker(
                problem: "this is Xen's dom0: Xen owns VMX/SVM on this machine, so KVM cannot run beside it",
                fix: "host guests through Xen's toolstack (`xl create`), or boot the machine without Xen to use KVM")
        }
        return Blocker(
            problem: "this is a Xen PV domain: its kernel runs deprivileged without VMX/SVM root mode, so KVM "
                + "cannot load, whatever CPUID shows (PV CPUID is not trapped and reports the host's VMX)",
            fix: "run the workload in an HVM or PVH domain with nested virtualization (xl.cfg: `nested_hvm=1`, "
                + "`type=\"hvm\"`), or on a host without Xen; loading kvm_intel here cannot work")
    }

    /// Why there is no /dev/kvm, most specific cause first.
    static func missingDeviceBlockers(
        vendor: CPUVendor, vmx: Bool, svm: Bool, module: String?, hypervisorBit: Bool, msrs: MSRFindings,
        log: [String], container: ContainerFinding?
    ) -> [Blocker] {
        if let locked = msrs.firmwareLock {
            return [
                Blocker(
                    problem: locked,
                    fix: vendor == .amd
                        ? "enable \"SVM Mode\" in the firmware (BIOS/UEFI) setup and power-cycle"
                        : "enable \"Intel Virtualization Technology\" (VT-x) in the firmware (BIOS/UEFI) setup and power-cycle"
                )
            ]
        }
        if let line = log.first(where: {
            $0.contains("disabled by bios") || $0.contains("SVM disabled (by BIOS)")
                || $0.contains("VMX not enabled")
        }) {
            return [
                Blocker(
                    problem: "the kernel says: \(line)",
                    fix: "enable virtualization (VT-x / SVM Mode) in the firmware setup and power-cycle")
            ]
        }
        if vmx || svm {
            let wanted = vmx ? "kvm_intel" : "kvm_amd"
            if let container {
                return [
                    Blocker(
                        problem: "no /dev/kvm inside this \(container.kind) container",
                        fix:
                            "start the container with the device (`--device /dev/kvm`) after loading \(wanted) on the host"
                    )
                ]
            }
            if module == nil {
                return [
                    Blocker(
                        problem: "the CPU offers \(vmx ? "VMX" : "SVM") but \(wanted) is not loaded",
                        fix: "`sudo modprobe \(wanted)` (nestprobe never loads modules itself)")
                ]
            }
            return [
                Blocker(
                    problem: "\(wanted) is loaded but /dev/kvm is missing",
                    fix: "check the kernel log for \(wanted) errors and that udev created /dev/kvm")
            ]
        }
        if module == "kvm_pvm" {
            return [
                Blocker(
                    problem: "kvm_pvm is loaded but /dev/kvm is missing",
                    fix: container.map { "pass the device into the \($0.kind) container (`--device /dev/kvm`)" }
                        ?? "check the kernel log for kvm_pvm errors")
            ]
        }
        if hypervisorBit {
            return [
                Blocker(
                    problem:
                        "this VM's CPU offers neither VMX nor SVM: the hypervisor below does not expose nested virtualization",
                    fix:
                        "enable nested virtualization for this VM on its host (QEMU/KVM: nested=1 there and +vmx or +svm "
                        + "in -cpu, or -cpu host; "
                        + "GCE: --enable-nested-virtualization; Azure: a Dv3/Ev3 or later size; AWS: a .metal or "
                        + "C8i/M8i/R8i instance with NestedVirtualization), or load kvm_pvm where the kernel has it")
            ]
        }
        return [
            Blocker(
                problem: "this CPU offers neither VMX nor SVM",
                fix: "use a CPU with Intel VT-x or AMD-V, or a kernel with kvm_pvm")
        ]
    }

    /// Whether guests started here would be offered VMX or SVM.
    static func guestNesting(
        _ snapshot: Snapshot, mechanism: HostingMechanism, canHost: Verdict, parameters: [ParameterFinding]
    ) -> (verdict: Verdict, reason: String, blockers: [Blocker]) {
        switch canHost {
        case .yes: break
        case .no: return (.no, "this level cannot host guests", [])
        case .unknown:
            return (
                .unknown,
                "whether this level can start guests was not established (/dev/kvm not "
                    + "examined, or KVM not reached), so what they would be offered was not seen either", []
            )
        }
        let nestedParameter = parameters.first {
            $0.name == "nested" && ($0.module == "kvm_intel" || $0.module == "kvm_amd")
        }
        let nestedOn = nestedParameter.map { ["Y", "1"].contains($0.value) }
        if let supported = snapshot.kvm.value?.supportedCPUID.value {
            let table = CPUIDTable(supported)
            let offersVMX = (table[1]?.ecx ?? 0) & (1 << 5) != 0
            let offersSVM = (table[0x8000_0001]?.ecx ?? 0) & (1 << 2) != 0
            if offersVMX || offersSVM {
                return (.yes, "KVM_GET_SUPPORTED_CPUID offers \(offersVMX ? "VMX" : "SVM") to guests", [])
            }
            var blockers: [Blocker] = []
            if let nestedParameter, nestedOn == false {
                let module = nestedParameter.module
                blockers.append(
                    Blocker(
                        problem:
                            "\(module) is loaded with nested=\(nestedParameter.value): guests are not offered \(module == "kvm_intel" ? "VMX" : "SVM")",
                        fix: "`sudo modprobe -r \(module) && sudo modprobe \(module) nested=1` with no VM running; "
                            + "to keep it: `options \(module) nested=1` in /etc/modprobe.d/kvm.conf"))
            }
            let why =
                mechanism == .pvm
                ? "KVM_GET_SUPPORTED_CPUID offers neither VMX nor SVM: kvm_pvm cannot give guests hardware virtualization (a guest kernel with kvm_pvm could still run PVM inside; not checked)"
                : "KVM_GET_SUPPORTED_CPUID offers neither VMX nor SVM to guests"
            return (.no, why, blockers)
        }
        if let nestedOn {
            return (
                nestedOn ? .yes : .no,
                "KVM_GET_SUPPORTED_CPUID not read; \(nestedParameter!.module) nested=\(nestedParameter!.value)", []
            )
        }
        if mechanism == .pvm {
            return (.no, "kvm_pvm offers no VMX/SVM to guests", [])
        }
        return (.unknown, "neither KVM_GET_SUPPORTED_CPUID nor the nested parameter could be read", [])
    }

    /// Kernel log lines from KVM and its vendor modules, each once, at most 20.
    static func kvmLogLines(_ log: [String]) -> [String] {
        var seen = Set<String>()
        var lines: [String] = []
        for line in log {
            let lower = line.lowercased()
            guard
                ["kvm:", "kvm-pvm:", "kvm_pvm:", "kvm_intel:", "kvm_amd:", "svm:", "vmx:"].contains(where: {
                    lower.hasPrefix($0)
                }),
                !line.contains("debugfs"), seen.insert(line).inserted
            else { continue }
            lines.append(line)
            if lines.count == 20 { break }
        }
        return lines
    }

    /// CPUID 0x8000_000A EDX (AMD APM vol. 3, appendix E.4.9).
    static func svmFeatures(_ cpuid: CPUIDTable) -> [String] {
        guard let max = cpuid[0x8000_0000]?.eax, max >= 0x8000_000A, let leaf = cpuid[0x8000_000A] else {
            return ["CPUID 0x8000000A not reported"]
        }
        let names: [(Int, String)] = [
            (0, "NPT"), (1, "LBR virtualization"), (2, "SVM lock"), (3, "NRIP save"), (4, "TSC rate MSR"),
            (5, "VMCB clean bits"), (6, "flush by ASID"), (7, "decode assists"), (10, "pause filter"),
            (12, "pause filter threshold"), (13, "AVIC"), (15, "virtual VMLOAD/VMSAVE"), (16, "vGIF"),
            (17, "GMET"), (25, "vNMI"),
        ]
        var features = ["SVM revision \(leaf.eax & 0xff)", "\(leaf.ebx) ASIDs"]
        features += names.filter { leaf.edx & (1 << UInt32($0.0)) != 0 }.map(\.1)
        return features
    }
}

extension Fact {
    /// Whether the snapshot carried this fact at all.
    public var isCaptured: Bool {
        if case .unavailable(.notCaptured, _) = self { return false }
        return true
    }
}

/// The CPU vendor from CPUID leaf 0.
public enum CPUVendor: String, Codable, Sendable {
    case intel, amd, hygon, other

    public init(_ cpuid: CPUIDTable) {
        switch cpuid[0].map({ CPUIDLeaf.text([$0.ebx, $0.edx, $0.ecx]) }) {
        case "GenuineIntel": self = .intel
        case "AuthenticAMD": self = .amd
        case "HygonGenuine": self = .hygon
        default: self = .other
        }
    }
}
