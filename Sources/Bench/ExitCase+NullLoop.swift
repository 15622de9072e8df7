// Emulation detection from the null case: its samples time a batch of empty-loop iterations (`dec ecx;
// jnz`, two instructions), so cycles per iteration say how the guest executes at all — about 1 natively,
// thousands where every instruction goes through a software emulator (kvm_pvm at CPL0 and in real mode).

extension CaseOutcome {
    /// The instructions in one iteration of the null loop.
    public static let nullLoopInstructions = 2

    /// For a `null` outcome: its median sample less `overhead`'s median (the `rdtsc` case of the same mode
    /// and CPL, when given), divided by the loop iterations per sample. Nil without samples.
    public func cyclesPerLoopIteration(overhead: CaseOutcome? = nil) -> Double? {
        guard case .success(let samples) = result, let median = Self.median(samples.cycles) else { return nil }
        var net = median
        if let overhead, case .success(let timing) = overhead.result, let cost = Self.median(timing.cycles) {
            net = max(0, median - cost)
        }
        return net / Double(max(1, samples.exitsPerSample))
    }

    /// `cyclesPerLoopIteration` per instruction of the loop.
    public func cyclesPerLoopInstruction(overhead: CaseOutcome? = nil) -> Double? {
        cyclesPerLoopIteration(overhead: overhead).map { $0 / Double(Self.nullLoopInstructions) }
    }

    /// The median of `values` (the mean of the middle two for an even count); nil when empty.
    static func median(_ values: [UInt64]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1
            ? Double(sorted[middle]) : (Double(sorted[middle - 1]) + Double(sorted[middle])) / 2
    }
}
