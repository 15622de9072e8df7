// APICConsistency: each CPU's APIC ID as CPUID gives it on that CPU (leaf 1 EBX[31:24], leaf 0xB / 0x1F EDX) and
// as the kernel gives it (/proc/cpuinfo "apicid" and "initial apicid"), and where they disagree (issue 16).
//
// On real hardware the IDs agree by construction: leaf 1's 8-bit initial APIC ID is the low byte of the x2APIC
// ID that leaves 0xB and 0x1F return (SDM vol. 2A, CPUID leaf 01H EBX[31:24] and leaf 0BH EDX; vol. 3A §10.12.8,
// "the initial APIC ID ... lower 8 bits of the x2APIC ID"), leaves 0xB and 0x1F give the same x2APIC ID, every
// logical processor has its own, the kernel's "initial apicid" is what CPUID said on that CPU at boot, and its
// "apicid" (the local APIC's ID register, as the firmware's MADT lists it) is the same number. A VMM writes the
// CPUID leaves and the local APIC separately: one that copies a CPU template to every vCPU without fixing the IDs
// up, a user-mode emulator or sandbox that answers CPUID itself, or a hand-masked topology shows here. Linux checks
// one of these pairs itself and logs "[Firmware Bug]: CPU n: APIC ID mismatch".

/// What the per-CPU APIC IDs say.
public struct APICFindings: Codable, Sendable, Equatable {
    /// Online CPUs listed in the snapshot.
    public var cpusListed: Int
    /// CPUs whose CPUID was executed on that CPU.
    public var cpusRead: Int
    /// How CPUID reached them ("sched_setaffinity", "/dev/cpu/N/cpuid").
    public var via: [String]
    /// The x2APIC leaf compared ("0x1F" or "0xB"); nil when no CPU enumerates one.
    public var x2apicLeaf: String?
    /// CPUs whose /proc/cpuinfo stanza gave an "apicid".
    public var cpuinfoRead: Int
    /// Why some or all CPUs could not be compared, when so.
    public var unknown: String?
    /// Each disagreement, one sentence; empty when everything read agrees.
    public var disagreements: [String]
}

/// Compares the APIC IDs of each CPU.
public enum APICAnalysis {
    /// At most this many CPUs are named in one sentence.
    static let namedCPUs = 4

    /// One CPU's IDs, decoded.
    struct Row {
        var cpu: Int
        var initial: Int?
        var x2apic: Int?
        var x2apic1F: Int?
        var leafB: Bool
        var apicID: Int?
        var kernelInitial: Int?
    }

    /// The findings; nil when the snapshot carries no per-CPU APIC IDs.
    public static func analyse(_ snapshot: Snapshot) -> APICFindings? {
        guard let fact = snapshot.apicIDs else { return nil }
        guard let cpus = fact.value else {
            let missing = fact.missing.map { "unknown (\($0.reason.rawValue)): \($0.detail)" } ?? "unknown"
            return APICFindings(
                cpusListed: 0, cpusRead: 0, via: [], x2apicLeaf: nil, cpuinfoRead: 0, unknown: missing,
                disagreements: [])
        }
        let rows = cpus.map(row)
        let read = cpus.filter { $0.cpuid.value != nil }
        let unread = cpus.filter { $0.cpuid.value == nil }
        var unknown: String?
        if let first = unread.first, let missing = first.cpuid.missing {
            let which = unread.count == cpus.count ? "every CPU" : "CPU(s) \(list(unread.map(\.cpu)))"
            unknown =
                "unknown for \(which): CPUID could not be executed there (\(missing.reason.rawValue): \(missing.detail))"
        }
        let leaf = rows.contains { $0.x2apic1F != nil } ? "0x1F" : rows.contains { $0.x2apic != nil } ? "0xB" : nil
        return APICFindings(
            cpusListed: cpus.count, cpusRead: read.count, via: Array(Set(read.compactMap(\.via))).sorted(),
            x2apicLeaf: leaf, cpuinfoRead: cpus.filter { $0.cpuinfoAPICID != nil }.count, unknown: unknown,
            disagreements: disagreements(rows))
    }

    /// Decodes one CPU's leaves: leaf 1 EBX[31:24]; leaf 0xB / 0x1F EDX where the leaf enumerates a level.
    static func row(_ reading: CPUAPICIDs) -> Row {
        let table = CPUIDTable(reading.cpuid.value ?? [])
        func x2apic(_ leaf: UInt32) -> Int? {
            guard let entry = table[leaf], entry.ebx & 0xFFFF != 0, (entry.ecx >> 8) & 0xFF != 0 else { return nil }
            return Int(entry.edx)
        }
        let b = x2apic(0xB)
        return Row(
            cpu: reading.cpu, initial: table[1].map { Int($0.ebx >> 24) }, x2apic: b ?? x2apic(0x1F),
            x2apic1F: x2apic(0x1F), leafB: b != nil, apicID: reading.cpuinfoAPICID,
            kernelInitial: reading.cpuinfoInitialAPICID)
    }

    static func list(_ cpus: [Int]) -> String {
        let shown = cpus.prefix(namedCPUs).map(String.init).joined(separator: ", ")
        return cpus.count > namedCPUs ? "\(shown) and \(cpus.count - namedCPUs) more" : shown
    }

    /// Each kind of disagreement once, with the CPUs that show it.
    static func disagreements(_ rows: [Row]) -> [String] {
        var found: [String] = []
        let leafMismatch = rows.filter { r in
            guard let initial = r.initial, let x2 = r.x2apic else { return false }
            return x2 & 0xFF != initial
        }
        if let r = leafMismatch.first {
            found.append(
                "on CPU(s) \(list(leafMismatch.map(\.cpu))) leaf 1 gives APIC ID \(r.initial ?? 0) but the x2APIC leaf "
                    + "gives \(r.x2apic ?? 0) (CPU \(r.cpu)): leaf 1's ID is the low byte of the x2APIC ID on every "
                    + "real CPU, so one of the two leaves was written by hand (a masked or synthetic topology)")
        }
        let leafPair = rows.filter { r in r.leafB && r.x2apic1F != nil && r.x2apic1F != r.x2apic }
        if let r = leafPair.first {
            found.append(
                "on CPU(s) \(list(leafPair.map(\.cpu))) leaf 0xB gives x2APIC ID \(r.x2apic ?? 0) but leaf 0x1F "
                    + "gives \(r.x2apic1F ?? 0): the SDM makes them the same number, so one leaf is a VMM's or a "
                    + "CPU template's")
        }
        var byID: [Int: [Int]] = [:]
        for r in rows {
            if let id = r.x2apic ?? r.initial { byID[id, default: []].append(r.cpu) }
        }
        let shared = byID.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        if let (id, cpus) = shared.first {
            found.append(
                "CPUs \(list(cpus)) all answer APIC ID \(id)"
                    + (shared.count > 1 ? " (and \(shared.count - 1) other ID(s) are shared too)" : "")
                    + ": every logical processor has its own, so CPUID here is not answered per CPU (a user-mode "
                    + "emulator or sandbox answering it, or a VMM's template copied to every vCPU unchanged)")
        }
        let bootMismatch = rows.filter { r in
            guard let kernel = r.kernelInitial, r.initial != nil || r.x2apic != nil else { return false }
            return kernel != r.x2apic && kernel != r.initial
        }
        if let r = bootMismatch.first {
            found.append(
                "the kernel read initial APIC ID \(r.kernelInitial ?? 0) on CPU \(r.cpu) at boot but this process "
                    + "reads \(r.x2apic ?? r.initial ?? 0) there"
                    + (bootMismatch.count > 1 ? " (also CPU(s) \(list(bootMismatch.dropFirst().map(\.cpu))))" : "")
                    + ": this process's CPUID is not the one the kernel saw (a user-mode emulator, a sandbox that "
                    + "traps CPUID through CPUID faulting, or a VM moved to a host that numbers its vCPUs otherwise)")
        }
        let apicMismatch = rows.filter { r in
            guard let apic = r.apicID, let cpuid = r.x2apic ?? r.initial else { return false }
            return apic != cpuid && !(r.x2apic == nil && apic & 0xFF == cpuid)
        }
        if let r = apicMismatch.first {
            found.append(
                "the kernel's APIC ID for CPU \(r.cpu) is \(r.apicID ?? 0) (its local APIC and the MADT) but CPUID "
                    + "says \(r.x2apic ?? r.initial ?? 0)"
                    + (apicMismatch.count > 1 ? " (also CPU(s) \(list(apicMismatch.dropFirst().map(\.cpu))))" : "")
                    + ": the interrupt controller and the topology leaves describe different CPUs, so the leaves are "
                    + "a template or masked (the kernel logs this as \"APIC ID mismatch\")")
        }
        return found
    }
}
