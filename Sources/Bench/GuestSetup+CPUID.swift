// The CPUID canary: the guests' CPUID table is KVM's supported table with leaf 0x4000_0000's signature
// replaced by one no hypervisor uses. A guest that reads the canary back was answered by this level's KVM
// (KVM_SET_CPUID2 took effect); one that reads the signature this process sees itself was answered by the
// hypervisor below, as kvm_pvm lets happen for CPUID at CPL3.

import KVM
import Probe

/// The canary signature and who answered it.
enum CPUIDCanary {
    /// The 12 bytes put in EBX, ECX, EDX of leaf 0x4000_0000.
    static let signature = "NestprobeCan"

    /// The hypervisor leaf the canary replaces.
    static let leaf: UInt32 = 0x4000_0000

    /// `signature` as EBX, ECX, EDX (little-endian, four bytes each).
    static let registers: [UInt32] = {
        let bytes = Array(signature.utf8)
        return (0..<3).map { word in
            (0..<4).reduce(UInt32(0)) { value, byte in value | UInt32(bytes[word * 4 + byte]) << (8 * byte) }
        }
    }()

    /// `entries` with leaf 0x4000_0000 carrying the canary; the leaf is added (EAX = 0x4000_0000, no further
    /// hypervisor leaves) when KVM did not offer it.
    static func install(in entries: [KVMCPUIDEntry]) -> [KVMCPUIDEntry] {
        var result = entries
        let canary = registers
        if let at = result.firstIndex(where: { $0.function == leaf }) {
            result[at].ebx = canary[0]
            result[at].ecx = canary[1]
            result[at].edx = canary[2]
        } else {
            result.append(KVMCPUIDEntry(function: leaf, eax: leaf, ebx: canary[0], ecx: canary[1], edx: canary[2]))
        }
        return result
    }

    /// The guests' CPUID table: KVM's `supported` table with the canary installed, and RDTSCP (CPUID
    /// 0x8000_0001 EDX[27]) set exactly when the loops end with it, so the two never disagree.
    static func guestTable(from supported: [KVMCPUIDEntry], rdtscp: Bool) -> [KVMCPUIDEntry] {
        var table = install(in: supported)
        if let at = table.firstIndex(where: { $0.function == 0x8000_0001 }) {
            table[at].edx = rdtscp ? table[at].edx | rdtscpBit : table[at].edx & ~rdtscpBit
        }
        return table
    }

    /// `table` with x2APIC (leaf 1 ECX[21]) and, where KVM emulates it, the TSC-deadline timer (ECX[24]): KVM
    /// offers the first in its supported table and leaves the second to user space, and its APIC accepts
    /// neither mode unless the guest's CPUID has the bit.
    static func withLocalAPIC(_ table: [KVMCPUIDEntry], tscDeadline: Bool) -> [KVMCPUIDEntry] {
        var result = table
        if let at = result.firstIndex(where: { $0.function == 1 }) {
            result[at].ecx |= x2APICBit
            if tscDeadline { result[at].ecx |= tscDeadlineBit }
        }
        return result
    }

    /// x2APIC and the TSC-deadline timer in CPUID 1 ECX.
    static let x2APICBit: UInt32 = 1 << 21
    static let tscDeadlineBit: UInt32 = 1 << 24

    /// RDTSCP in CPUID 0x8000_0001 EDX.
    static let rdtscpBit: UInt32 = 1 << 27

    /// Who answered a CPUID 0x4000_0000 that returned `seen` (EBX, ECX, EDX), given what this process reads
    /// for the same leaf (`host`, EBX, ECX, EDX). Neither the canary nor the host's: not applicable.
    static func attribute(seen: [UInt32], host: [UInt32]) -> Attribution {
        if seen == registers { return .thisLevel }
        if seen == host { return .levelBelow }
        return .notApplicable
    }

    /// Registers as text, the way the probe prints hypervisor signatures.
    static func text(_ registers: [UInt32]) -> String {
        CPUIDLeaf.text(registers)
    }
}
