// The hypervisor families a diagnosis recognises by their CPUID signature and a policy may name; Probe's
// Hypervisors.swift holds the signatures.

/// A hypervisor family recognised by its CPUID signature.
public enum HypervisorKind: String, Codable, Sendable, CaseIterable {
    case kvm = "KVM"
    case kvmHyperVInterface = "KVM (Hyper-V interface)"
    case hyperV = "Hyper-V"
    case vmware = "VMware"
    case xen = "Xen"
    case qemuTCG = "QEMU TCG"
    case bhyve
    case acrn = "ACRN"
    case qnx = "QNX"
    case virtualBox = "VirtualBox"
    case parallels = "Parallels"
    case kvmtool
    case openBSD = "OpenBSD vmm"
    case pvm = "PVM"
    /// Intel's evmm (the Kernel-Guard Technology hypervisor), signature "EVMMEVMMEVMM".
    case intelEVMM = "Intel evmm"
    /// Intel HAXM, signature "HAXMHAXMHAXM".
    case haxm = "HAXM"
    /// NetBSD's NVMM, signature "___ NVMM ___".
    case nvmm = "NVMM"
    /// The Jailhouse partitioning hypervisor, signature "Jailhouse".
    case jailhouse = "Jailhouse"
    /// Lockheed Martin's Hardened Security for Intel Processors, signature "SRESRESRESRE".
    case sre = "SRE"
    /// Apple's Virtualization framework, signature "Apple VZ".
    case appleVZ = "Apple Virtualization"
    case unknown
}
