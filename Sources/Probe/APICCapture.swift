// APICCapture: each online CPU's APIC IDs as CPUID answers them on that CPU, beside the IDs /proc/cpuinfo gives
// for it, read into the snapshot so that `--snapshot` replays them (issue 16).
//
// CPUID answers for the CPU it executes on, so reading another CPU's IDs means running there: this thread is
// moved to each CPU in turn with sched_setaffinity (no privilege needed within the process's cpuset) and given its
// affinity back; where the kernel refuses (a CPU outside the cpuset), the cpuid driver's /dev/cpu/N/cpuid, which
// executes CPUID on CPU N (a pread at offset subleaf << 32 | leaf returns EAX, EBX, ECX, EDX), is tried; it is
// root's (mode 0400) on most systems. Neither spawns a process.

extension LiveCapture {
    /// How CPUID reached a CPU.
    static let viaAffinity = "sched_setaffinity"
    static let viaDriver = "/dev/cpu/N/cpuid"

    /// Reads the APIC IDs of the online CPUs among `cpus` (cpuN names) into `snapshot`, with `cpuinfo`'s per
    /// processor "apicid" and "initial apicid".
    func captureAPICIDs(into snapshot: inout Snapshot, cpus: Fact<[String]>, cpuinfo: Fact<String>) {
        guard let names = cpus.value else {
            snapshot.apicIDs = cpus.missingOr(.unavailable(.failed, "no CPU list"))
            return
        }
        let online = snapshot.text("\(Self.cpuFolder)/online").flatMap(Self.cpuList)
        let numbers = names.compactMap(Self.cpuNumber).filter { online?.contains($0) ?? true }
        let kernelIDs = cpuinfo.value.map(Self.cpuinfoAPICIDs) ?? [:]
        let maxBasic = CPUIDTable(snapshot.cpuid.value ?? [])[0]?.eax ?? 0
        let leaves = [UInt32(1)] + [UInt32(0xB), 0x1F].filter { maxBasic >= $0 }
        snapshot.apicIDs = .available(
            numbers.map { cpu in
                let (fact, via) = readAPICLeaves(leaves, on: cpu)
                return CPUAPICIDs(
                    cpu: cpu, cpuid: fact, via: via, cpuinfoAPICID: kernelIDs[cpu]?.apicID,
                    cpuinfoInitialAPICID: kernelIDs[cpu]?.initial)
            })
    }

    /// `leaves` (subleaf 0) executed on `cpu`, and how; the reasons when neither way reached it.
    func readAPICLeaves(_ leaves: [UInt32], on cpu: Int) -> (Fact<[CPUIDLeaf]>, String?) {
        guard reader.root.isEmpty else {
            // Under a fixture root the CPUs are that tree's, not the ones this thread could run on.
            return (.unavailable(.notCaptured, "per-CPU CPUID runs on the live machine only (reader root set)"), nil)
        }
        let refusal: String
        switch CPUAffinity.run(on: cpu, { leaves.map { LiveCPUID.read($0) } }) {
        case .success(let read): return (.available(read), Self.viaAffinity)
        case .failure(let errno): refusal = "sched_setaffinity to CPU \(cpu): \(errno)"
        }
        let device = "/dev/cpu/\(cpu)/cpuid"
        var read: [CPUIDLeaf] = []
        for leaf in leaves {
            switch reader.readBytes(device, at: Int64(leaf), count: 16) {
            case .available(let bytes):
                let words = (0..<4).map { (i: Int) -> UInt32 in
                    (0..<4).reduce(UInt32(0)) { (word: UInt32, byte: Int) -> UInt32 in
                        word | UInt32(bytes[4 * i + byte]) << UInt32(8 * byte)
                    }
                }
                read.append(CPUIDLeaf(leaf: leaf, eax: words[0], ebx: words[1], ecx: words[2], edx: words[3]))
            case .unavailable(let reason, let detail):
                let hint = reason == .permissionDenied ? " (root only)" : ""
                return (.unavailable(reason, "\(refusal); \(detail)\(hint)"), nil)
            }
        }
        return (.available(read), Self.viaDriver)
    }

    /// The CPUs a kernel CPU list names ("0-3,6" → 0, 1, 2, 3, 6); nil when it is not one.
    static func cpuList(_ text: String) -> Set<Int>? {
        var cpus: Set<Int> = []
        for part in text.trimmed.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let cpu = Int(bounds[0]) {
                cpus.insert(cpu)
            } else if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high,
                high - low < 65536
            {
                cpus.formUnion(low...high)
            } else {
                return nil
            }
        }
        return cpus.isEmpty ? nil : cpus
    }

    /// Each processor's "apicid" and "initial apicid" in a whole /proc/cpuinfo, by its "processor" number.
    static func cpuinfoAPICIDs(_ text: String) -> [Int: (apicID: Int?, initial: Int?)] {
        var ids: [Int: (apicID: Int?, initial: Int?)] = [:]
        for stanza in text.components(separatedBy: "\n\n") {
            var fields: [String: Int] = [:]
            for line in stanza.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmed
                if ["processor", "apicid", "initial apicid"].contains(key), let value = Int(parts[1].trimmed) {
                    fields[key] = value
                }
            }
            guard let processor = fields["processor"] else { continue }
            ids[processor] = (fields["apicid"], fields["initial apicid"])
        }
        return ids
    }
}
