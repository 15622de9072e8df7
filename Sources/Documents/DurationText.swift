// DurationText: durations written by people on the command line (`--budget 4s`, `--budget 4000ms`,
// `2us`). Decimal only: no sign, no exponent, no hexadecimal (Swift's `Double("0x10")` is 16), no NaN or
// infinity; the value is computed in whole nanoseconds with checked integer arithmetic, so no input traps.

/// Parsing of a duration such as `4`, `4s`, `1.5s`, `4000ms`, `500us`, `500µs` or `250ns`.
public enum DurationText {
    /// The units, longest suffix first, with their size in nanoseconds.
    static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ns", 1), ("us", 1_000), ("µs", 1_000), ("μs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
    ]

    /// What the parser accepts, for usage messages.
    public static let acceptedForms =
        "a decimal number with an optional unit ns, us (µs), ms or s, a plain number being seconds "
        + "(such as 4, 4s, 1.5s, 4000ms or 500us)"

    /// Why a duration text was refused.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not a decimal number with a known unit.
        case notADuration
        /// Zero, or below the smallest value the caller allows.
        case tooSmall(minimum: Duration)
        /// Over the largest value the caller allows.
        case tooLarge(maximum: Duration)
        /// A fraction of a nanosecond (`1.5ns`).
        case finerThanNanoseconds

        /// What was wrong, without the input (the caller names the option and quotes the input).
        public var description: String {
            switch self {
            case .notADuration: return "not a duration"
            case .tooSmall(let minimum): return "must be at least \(DurationText.describe(minimum))"
            case .tooLarge(let maximum): return "must be at most \(DurationText.describe(maximum))"
            case .finerThanNanoseconds: return "a duration is counted in whole nanoseconds"
            }
        }
    }

    /// Parses `text` into a duration in `minimum...maximum` (by default: more than zero, at most one hour).
    public static func parse(
        _ text: String, minimum: Duration = .nanoseconds(1), maximum: Duration = .seconds(3600)
    ) throws(Failure) -> Duration {
        guard let nanoseconds = try nanoseconds(text) else { throw .notADuration }
        let value = Duration.nanoseconds(nanoseconds)
        guard value >= minimum else { throw .tooSmall(minimum: minimum) }
        guard value <= maximum else { throw .tooLarge(maximum: maximum) }
        return value
    }

    /// The whole number of nanoseconds `text` names, nil when it is not a duration (or overflows Int64).
    /// Throws only for a fraction of a nanosecond.
    static func nanoseconds(_ text: String) throws(Failure) -> Int64? {
        guard text.utf8.count <= 40 else { return nil }
        var number = Substring(text.lowercased())
        var scale: Int64 = 1_000_000_000
        for unit in units where number.hasSuffix(unit.suffix) {
            number = number.dropLast(unit.suffix.count)
            scale = unit.nanoseconds
            break
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !whole.isEmpty || !fraction.isEmpty, parts.count == 1 || !fraction.isEmpty,
            (whole + fraction).allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var total: Int64 = 0
        for digit in whole {
            let (shifted, o1) = total.multipliedReportingOverflow(by: 10)
            let (sum, o2) = shifted.addingReportingOverflow(Int64(digit.asciiValue! - 0x30))
            guard !o1, !o2 else { return nil }
            total = sum
        }
        let (scaled, overflow) = total.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        // The fraction in units of `scale`: digits beyond the nanosecond must all be zero.
        var remainder: Int64 = 0
        var place = scale
        for digit in fraction {
            let value = Int64(digit.asciiValue! - 0x30)
            if place < 10 {
                guard value == 0 else { throw .finerThanNanoseconds }
                continue
            }
            place /= 10
            remainder += value * place
        }
        let (result, overflowed) = scaled.addingReportingOverflow(remainder)
        return overflowed ? nil : result
    }

    /// `d` in seconds, as a Double.
    public static func seconds(_ d: Duration) -> Double {
        let (seconds, attoseconds) = d.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// `d` in the largest unit that shows it whole: `1h` is written `3600s`, 2 µs `2us`.
    public static func describe(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        guard seconds < 1_000_000_000 else { return "\(seconds)s" }
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        for (suffix, size) in units.reversed() where suffix != "µs" && suffix != "μs" {
            if nanoseconds % size == 0 { return "\(nanoseconds / size)\(suffix)" }
        }
        return "\(nanoseconds)ns"
    }
}
