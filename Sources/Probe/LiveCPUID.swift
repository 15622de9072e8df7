// LiveCPUID: reads this CPU's CPUID leaves, including the ones libcpuid does not collect.
//
// libcpuid identifies the CPU from these leaves (CPUIdentity); the hypervisor range 0x4000_0000 +
// n·0x100, SVM's 0x8000_000A and the subleaf sets are read here with the raw instruction.

import CKVM

/// Reads CPUID leaves from the CPU this thread runs on.
public enum LiveCPUID {
    /// Leaves with subleaves, and how many subleaves to read at most (the SDM/APM subleaf layouts).
    static let subleafCounts: [UInt32: UInt32] = [
        0x4: 8, 0x7: 3, 0xB: 4, 0xD: 20, 0xF: 2, 0x10: 4, 0x12: 4, 0x14: 2, 0x17: 4, 0x18: 8, 0x1D: 2,
        0x1F: 6, 0x24: 2, 0x8000_001D: 8, 0x8000_0020: 4, 0x8000_0026: 4,
    ]

    /// Hypervisor leaf ranges scanned: 0x4000_0000 + n·0x100 for n below this (0x4000_0000–0x4000_FF00).
    static let hypervisorRanges: UInt32 = 256
    /// Ranges whose head leaf is kept even when it names no range (what the CPU echoes there is evidence
    /// too); above them only heads whose max-leaf word points into their own range are kept.
    static let keptHeads: UInt32 = 16
    /// Intel TDX's leaf: a TD guest reads "IntelTDX    " in EBX, EDX, ECX (the TDX module answers it, Intel
    /// TDX Module spec §CPUID virtualization); read even when the maximum basic leaf is below it.
    static let tdxLeaf: UInt32 = 0x21

    /// One leaf, executed on this CPU.
    public static func read(_ leaf: UInt32, _ subleaf: UInt32 = 0) -> CPUIDLeaf {
        let r = ckvm_cpuid(leaf, subleaf)
        return CPUIDLeaf(leaf: leaf, subleaf: subleaf, eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx)
    }

    /// Every standard, extended and hypervisor leaf this CPU reports.
    public static func readAll() -> [CPUIDLeaf] {
        var leaves: [CPUIDLeaf] = []
        let maxBasic = min(read(0).eax, 0x3F)
        appendRange(0, maxBasic, to: &leaves)
        if maxBasic < tdxLeaf { leaves.append(read(tdxLeaf)) }
        let maxExtended = read(0x8000_0000).eax
        if maxExtended >= 0x8000_0000 {
            appendRange(0x8000_0000, min(maxExtended, 0x8000_003F), to: &leaves)
        }
        // Hypervisor leaves answer whatever the hypervisor chooses; on bare metal Intel returns the data
        // of the highest basic leaf for them, so only ranges whose max-leaf word points into the range
        // are kept (SDM vol. 2A, CPUID: "if EAX is higher than the maximum input value ...").
        for n in 0..<hypervisorRanges {
            let base = 0x4000_0000 + n * 0x100
            let head = read(base)
            let inRange = head.eax > base && head.eax < base + 0x100
            if n < keptHeads || inRange { leaves.append(head) }
            guard inRange else { continue }
            appendRange(base + 1, min(head.eax, base + 0x20), to: &leaves)
        }
        return leaves
    }

    private static func appendRange(_ first: UInt32, _ last: UInt32, to leaves: inout [CPUIDLeaf]) {
        guard first <= last else { return }
        for leaf in first...last {
            let count = subleafCounts[leaf] ?? 1
            for subleaf in 0..<count {
                let value = read(leaf, subleaf)
                // Subleaf sets end at the first all-zero entry after the first (cache and topology leaves).
                if subleaf > 0 && value.eax == 0 && value.ebx == 0 && value.ecx == 0 && value.edx == 0
                    && leaf != 0x7 && leaf != 0xD
                {
                    break
                }
                leaves.append(value)
            }
        }
    }
}
