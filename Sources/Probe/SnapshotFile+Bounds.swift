// The snapshot schema's bounds that its Swift types do not keep (DocumentBounds does the checking).

extension SnapshotFile {
    /// The snapshot schema's bounds that its Swift types do not keep: the timing's warm-up count and
    /// TSC frequency, the CPU of each MSR reading, the CPU and kernel APIC IDs of each per-CPU reading.
    public static func checkBounds(_ snapshot: Snapshot, name: String) throws(InputError) {
        let bounds = DocumentBounds(name: name)
        if let timing = snapshot.hostTiming.value {
            try bounds.atLeast(timing.warmup, 0, "hostTiming.value.warmup")
            try bounds.atLeast(timing.tsc.hz, 0, "hostTiming.value.tsc.hz")
            if let length = timing.lfenceChainLength {
                try bounds.atLeast(length, 1, "hostTiming.value.lfenceChainLength")
            }
        }
        for (index, reading) in (snapshot.msrs.value ?? []).enumerated() {
            try bounds.atLeast(reading.cpu, 0, "msrs.value[\(index)].cpu")
        }
        for (index, ids) in (snapshot.apicIDs?.value ?? []).enumerated() {
            try bounds.atLeast(ids.cpu, 0, "apicIDs.value[\(index)].cpu")
            if let apic = ids.cpuinfoAPICID { try bounds.atLeast(apic, 0, "apicIDs.value[\(index)].cpuinfoAPICID") }
            if let initial = ids.cpuinfoInitialAPICID {
                try bounds.atLeast(initial, 0, "apicIDs.value[\(index)].cpuinfoInitialAPICID")
            }
        }
    }
}
