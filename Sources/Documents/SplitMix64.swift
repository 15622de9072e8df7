// SplitMix64: the one seeded generator of the package. The bench's run order, the seeding of compare's
// bootstrap generator and the tests' seeded fixtures all draw from it, so a seed means one sequence
// everywhere and the algorithm is written once.

/// SplitMix64 (Steele, Lea and Flood 2014; Vigna's splitmix64.c): small, fast, and fully specified, so a
/// seed means one sequence on every machine and in every version.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose whole sequence `seed` fixes.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 bits of the sequence.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound (bound > 0) by the high half of a 128-bit product (Lemire's method, without
    /// its rejection step: the bias is below 2^-50 for the bounds a case list has).
    public mutating func next(below bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }
}
