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
    case unknown
}
