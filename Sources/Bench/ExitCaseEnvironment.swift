// ExitCaseEnvironment: the facts about the host that decide which exit cases can run and how — the CPU
// vendor (vmcall or vmmcall), the KVM vendor module (kvm_pvm cannot run every case), KVM's capabilities,
// whether guests get RDTSCP, and the hypervisor signature this process itself reads (to tell a guest
// CPUID answered by the level below). ExitCase.Requirement turns them into skip reasons.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import KVM
import Probe

/// What the exit cases' gates and the runner need to know about the host.
public struct ExitCaseEnvironment: Sendable, Equatable {
    /// The CPU vendor, as far as the hypercall instruction goes.
    public enum Vendor: String, Sendable, Equatable {
        /// GenuineIntel: `vmcall`.
        case intel
        /// AuthenticAMD or HygonGenuine: `vmmcall`.
        case amd
        /// Anything else: no hypercall case.
        case other
    }

    /// The KVM vendor module behind /dev/kvm.
    public enum Module: String, Sendable, Equatable {
        /// VMX: every mode runs natively at any CPL; exits go to this level's KVM.
        case kvmIntel = "kvm_intel"
        /// SVM: as kvm_intel.
        case kvmAMD = "kvm_amd"
        /// PVM: software virtualization; a long-mode guest at CPL0 (and real mode) is emulated instruction by
        /// instruction, CPL3 runs natively but its CPUID is answered by the hypervisor below.
        case kvmPVM = "kvm_pvm"
        /// None of the three found under /sys/module.
        case unknown
    }

    /// The CPU vendor (CPUID leaf 0).
    public var vendor: Vendor
    /// The KVM vendor module.
    public var module: Module
    /// The capabilities KVM_CHECK_EXTENSION reported as nonzero.
    public var capabilities: Set<KVMCapability>
    /// Whether KVM_GET_SUPPORTED_CPUID offers RDTSCP (CPUID 0x8000_0001 EDX[27]): then the guests get it in
    /// their CPUID and end each timed region with `rdtscp; lfence`.
    public var guestHasRDTSCP: Bool
    /// EBX, ECX, EDX of CPUID 0x4000_0000 executed by this process (the level below's signature).
    public var hostHypervisorRegisters: [UInt32]
    /// Whether KVM_GET_SUPPORTED_CPUID offers SVM (CPUID 0x8000_0001 ECX[2]): then a guest can be a hypervisor
    /// itself, and the three-level cases run.
    public var guestHasSVM: Bool
    /// The CPU features KVM_GET_SUPPORTED_CPUID offers guests that some cases need (an MSR exists only where
    /// its feature bit says so).
    public var guestFeatures: Set<GuestFeature>

    /// An environment from its parts (tests, replays); without `guestFeatures`, guests are taken to have
    /// every one.
    public init(
        vendor: Vendor, module: Module, capabilities: Set<KVMCapability>, guestHasRDTSCP: Bool,
        hostHypervisorRegisters: [UInt32], guestHasSVM: Bool = false,
        guestFeatures: Set<GuestFeature> = Set(GuestFeature.allCases)
    ) {
        self.vendor = vendor
        self.module = module
        self.capabilities = capabilities
        self.guestHasRDTSCP = guestHasRDTSCP
        self.hostHypervisorRegisters = hostHypervisorRegisters
        self.guestHasSVM = guestHasSVM
        self.guestFeatures = guestFeatures
    }

    /// Reads this host: opens `devicePath`, asks KVM, looks for the vendor module under `sysModulePath`, and
    /// executes CPUID. Throws when the device cannot be opened.
    public static func detect(
        devicePath: String = KVMDevice.defaultPath, sysModulePath: String = "/sys/module"
    ) throws(KVMError) -> ExitCaseEnvironment {
        let device = try KVMDevice(verifying: devicePath)
        let capabilities = Set(KVMCapability.reported.filter { device.checkExtension($0) > 0 })
        let supported = (try? device.supportedCPUID()) ?? []
        let extended = supported.first { $0.function == 0x8000_0001 }
        let host = LiveCPUID.read(CPUIDCanary.leaf)
        return ExitCaseEnvironment(
            vendor: Vendor(vendorString: LiveCPUID.read(0).signatureEBXEDXECX),
            module: Module.detect(sysModulePath: sysModulePath),
            capabilities: capabilities,
            guestHasRDTSCP: (extended?.edx ?? 0) & CPUIDCanary.rdtscpBit != 0,
            hostHypervisorRegisters: [host.ebx, host.ecx, host.edx],
            guestHasSVM: NestedSVM.offersSVM(supported),
            guestFeatures: GuestFeature.offered(in: supported))
    }

    /// Whether `capability` is offered.
    public func has(_ capability: KVMCapability) -> Bool { capabilities.contains(capability) }

    /// The level below's hypervisor signature as text ("KVMKVMKVM"), empty on bare metal.
    public var hostHypervisorSignature: String { CPUIDCanary.text(hostHypervisorRegisters) }

    /// Whether the guest executes every instruction of `mode` at `cpl` in software (kvm_pvm's emulator):
    /// real mode and long mode at CPL0 under kvm_pvm.
    public func isEmulated(_ mode: GuestMode, cpl: Int) -> Bool {
        module == .kvmPVM && (mode == .real || cpl == 0)
    }
}

/// A CPU feature a case needs in the guest's CPUID, read from KVM_GET_SUPPORTED_CPUID (the table the guests get).
public enum GuestFeature: String, CaseIterable, Sendable {
    /// XSAVE (CPUID 1 ECX[26]): XSETBV and CR4.OSXSAVE.
    case xsave
    /// Long mode (CPUID 0x8000_0001 EDX[29]): IA32_KERNEL_GS_BASE (0xC000_0102) exists.
    case longMode
    /// TSC_ADJUST (CPUID 7.0 EBX[1]): IA32_TSC_ADJUST (0x3B) exists.
    case tscAdjust
    /// IA32_SPEC_CTRL (0x48) exists: CPUID 7.0 EDX[26] (IBRS/IBPB), or AMD's 0x8000_0008 EBX[14] (IBRS),
    /// [15] (STIBP) or [24] (SSBD), as KVM's guest_has_spec_ctrl_msr reads them.
    case specCtrl
    /// IA32_PRED_CMD (0x49) exists: CPUID 7.0 EDX[26], or AMD's 0x8000_0008 EBX[12] (IBPB).
    case predCmd

    /// The features `supported` (KVM_GET_SUPPORTED_CPUID) offers.
    static func offered(in supported: [KVMCPUIDEntry]) -> Set<GuestFeature> {
        func leaf(_ function: UInt32, _ index: UInt32 = 0) -> KVMCPUIDEntry? {
            supported.first { $0.function == function && $0.index == index }
                ?? supported.first { $0.function == function }
        }
        let basic = leaf(1)
        let extended = leaf(0x8000_0001)
        let structured = leaf(7, 0)
        let amd = leaf(0x8000_0008)
        let intelSpec = (structured?.edx ?? 0) & (1 << 26) != 0
        let amdSpec = (amd?.ebx ?? 0) & (1 << 14 | 1 << 15 | 1 << 24) != 0
        var features = Set<GuestFeature>()
        if (basic?.ecx ?? 0) & (1 << 26) != 0 { features.insert(.xsave) }
        if (extended?.edx ?? 0) & (1 << 29) != 0 { features.insert(.longMode) }
        if (structured?.ebx ?? 0) & (1 << 1) != 0 { features.insert(.tscAdjust) }
        if intelSpec || amdSpec { features.insert(.specCtrl) }
        if intelSpec || (amd?.ebx ?? 0) & (1 << 12) != 0 { features.insert(.predCmd) }
        return features
    }

    /// Why a case that needs this feature cannot run when guests lack it.
    var missingReason: String {
        switch self {
        case .xsave: "KVM offers guests no XSAVE (CPUID 1 ECX[26]): no CR4.OSXSAVE, no XSETBV"
        case .longMode: "KVM offers guests no long mode (CPUID 0x80000001 EDX[29]): no IA32_KERNEL_GS_BASE"
        case .tscAdjust: "KVM offers guests no TSC_ADJUST (CPUID 7.0 EBX[1]): no IA32_TSC_ADJUST"
        case .specCtrl:
            "KVM offers guests no IBRS, STIBP or SSBD (CPUID 7.0 EDX[26], 0x80000008 EBX[14,15,24]): no "
                + "IA32_SPEC_CTRL"
        case .predCmd: "KVM offers guests no IBPB (CPUID 7.0 EDX[26], 0x80000008 EBX[12]): no IA32_PRED_CMD"
        }
    }
}

extension ExitCaseEnvironment.Vendor {
    /// The vendor named by CPUID leaf 0's 12-byte string.
    public init(vendorString: String) {
        switch vendorString {
        case "GenuineIntel": self = .intel
        case "AuthenticAMD", "HygonGenuine": self = .amd
        default: self = .other
        }
    }
}

extension ExitCaseEnvironment.Module {
    /// The loaded vendor module: the first of kvm_pvm, kvm_intel and kvm_amd with an entry under
    /// `sysModulePath` (the three cannot be loaded together), else the first that `procModulesPath` lists
    /// (a container may hide /sys/module and not /proc/modules). It only sizes the default sampling: no case
    /// is gated on it (the hypercalls are probed instead).
    public static func detect(sysModulePath: String = "/sys/module", procModulesPath: String = "/proc/modules")
        -> Self
    {
        let modules = [Self.kvmPVM, .kvmIntel, .kvmAMD]
        for module in modules {
            if FileManager.default.fileExists(atPath: "\(sysModulePath)/\(module.rawValue)") { return module }
        }
        let listed = Set(
            ((try? String(contentsOfFile: procModulesPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                $0.split(separator: " ").first.map(String.init)
            })
        return modules.first { listed.contains($0.rawValue) } ?? .unknown
    }
}

extension CPUIDLeaf {
    /// Leaf 0's vendor string: EBX, EDX, ECX.
    var signatureEBXEDXECX: String { CPUIDLeaf.text([ebx, edx, ecx]) }
}

extension ExitCase {
    /// One thing a case needs from the host.
    enum Requirement: Sendable, Hashable {
        /// KVM offers the capability.
        case capability(KVMCapability)
        /// The CPU vendor is Intel or AMD (it picks the hypercall instruction).
        case knownVendor
        /// Known to hang inside KVM_RUN on some hosts (the note says where): the runner first runs it briefly
        /// under a short watchdog and skips it where that probe does not end (CaseRunner+HangProbe.swift).
        /// No static gate: what KVM does decides, not which module a sysfs path names.
        case probedForHang(String)
        /// KVM offers SVM to guests, so the guest can run a guest of its own (the three-level cases).
        case svmOfferedToGuests
        /// The case has no meaning in its mode or privilege level, for the reason given: a row that says why.
        case notInThisMode(String)
        /// KVM offers guests the CPU feature (the MSR or instruction the case uses exists only with it).
        case guestFeature(GuestFeature)

        /// Why `exitCase` cannot run in `environment`, or nil.
        func unmet(in environment: ExitCaseEnvironment, by exitCase: ExitCase) -> String? {
            switch self {
            case .capability(let capability):
                return environment.has(capability) ? nil : "KVM does not offer \(capability.name) here"
            case .knownVendor:
                return environment.vendor == .other
                    ? "neither an Intel nor an AMD CPU: no hypercall instruction to use" : nil
            case .probedForHang:
                return nil
            case .svmOfferedToGuests:
                return environment.guestHasSVM ? nil : NestedSVM.notOfferedReason
            case .notInThisMode(let reason):
                return reason
            case .guestFeature(let feature):
                return environment.guestFeatures.contains(feature) ? nil : feature.missingReason
            }
        }
    }
}
