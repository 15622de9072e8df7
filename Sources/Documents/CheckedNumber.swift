// CheckedNumber: turning decoded or measured numbers into integers and text without ever trapping.
//
// Swift's Int(Double) stops the program when the value is not finite or lies outside Int's range, and
// a report or snapshot may hold any finite number its schema allows (a median of 1e19 cycles, a
// multiplier of 1.7e308). Every conversion of such a number in analysis and rendering goes through
// here, so the rule for the out-of-range case is written once: an index or a pixel is clamped, a
// number shown to a person falls back to Swift's shortest round-trip spelling ("1e+19").

/// Conversions from Double that cannot trap.
public enum CheckedNumber {
    /// `value` rounded by `rule` as an Int; nil when it is not finite or outside Int's range.
    public static func int(
        _ value: Double, rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero
    ) -> Int? {
        Int(exactly: value.rounded(rule))
    }

    /// `value` rounded by `rule` and clamped into `range`; NaN gives the range's lower bound. For array
    /// indices, bins and ranks computed from numbers.
    public static func clamped(
        _ value: Double, to range: ClosedRange<Int>,
        rounding rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero
    ) -> Int {
        guard !value.isNaN else { return range.lowerBound }
        let rounded = value.rounded(rule)
        if rounded <= Double(range.lowerBound) { return range.lowerBound }
        // Double(Int.max) rounds up to 2^63, so compare with ≥ and never convert at the top.
        if rounded >= Double(range.upperBound) { return range.upperBound }
        return Int(rounded)
    }

    /// `value` rounded to a whole number, as text: "2115" while it fits an Int, else the shortest
    /// round-trip form ("1e+19", "inf", "nan").
    public static func wholeText(_ value: Double) -> String {
        if let whole = int(value) { return String(whole) }
        return value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(describing: value)
    }

    /// A rounded percentage of a ratio that should lie in [0, 1] ("67"), whatever the ratio holds:
    /// out-of-range ratios are shown as they are rather than clamped, so a wrong input stays visible.
    public static func percentText(_ ratio: Double) -> String {
        wholeText(ratio * 100)
    }

    /// The mean of two numbers without overflow: a/2 + b/2 equals (a + b)/2 exactly for every pair
    /// whose sum is finite and not subnormal, and stays finite for two finite numbers of any size.
    public static func midpoint(_ a: Double, _ b: Double) -> Double {
        a / 2 + b / 2
    }
}
