// What one CPUID costs at each depth of the hypervisor stack, from published figures: the bands the level
// estimate weighs a timing with and the bench table reads this level's own figure by.

/// Published thresholds for the cost of one CPUID at this level, in cycles.
public enum CPUIDCostBands {
    /// Below this, CPUID did not leave the CPU (bare metal ~100–300 cycles; Turtles OSDI'10: ~100).
    public static let noTrap = 500.0
    /// Up to this, one hardware exit (kvm-unit-tests 2024: 1,018–1,110; Turtles: ~2,600; PVM SOSP'23: 0.54 µs).
    public static let singleLevel = 3_000.0
    /// From here, the published nested range (Hyper-V eVMCS L2: 8,304; kvm-unit-tests nested 13,100–14,900;
    /// Turtles L2: ~58,000; PVM SOSP'23 nested KVM: 7.10 µs).
    public static let nested = 8_000.0
    /// Beyond this, no hardware exit path: software emulation or a trapping sandbox.
    public static let software = 150_000.0
}
