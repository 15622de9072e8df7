// CFormat: printf's %.Nf, %.Ne and %.Pg for a Double, without full Foundation's String(format:) and without
// calling the C library through a buffer pointer. Like glibc, each works on the double's exact binary value
// (expanded to all its decimal digits) and rounds half to even, so the text is the same as printf's.

/// printf-style fixed, scientific and general notation of a Double.
public enum CFormat {
    /// `%.{decimals}f`: 2.675 → "2.67" (the double lies below 2.675), 0.125 with 2 decimals → "0.12".
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return special(value) }
        let decimals = max(0, decimals)
        var digits = ExactDecimal(value.magnitude).rounded(at: -decimals)
        if digits.count <= decimals { digits = [UInt8](repeating: 0, count: decimals + 1 - digits.count) + digits }
        var text = sign(value) + String(decoding: digits.prefix(digits.count - decimals).map { $0 + 48 }, as: UTF8.self)
        if decimals > 0 { text += "." + String(decoding: digits.suffix(decimals).map { $0 + 48 }, as: UTF8.self) }
        return text
    }

    /// `%.{decimals}e`: 1234567.0 with 3 decimals → "1.235e+06".
    public static func scientific(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return special(value) }
        let (digits, exponent) = significant(value.magnitude, count: max(0, decimals) + 1)
        return sign(value) + mantissa(digits) + exponentText(exponent)
    }

    /// `%.{precision}g`: the shorter of fixed and scientific for `precision` significant digits, trailing
    /// zeros removed: 0.34125 with 3 → "0.341", 0.0000123 → "1.23e-05".
    public static func general(_ value: Double, precision: Int) -> String {
        guard value.isFinite else { return special(value) }
        let precision = max(1, precision)
        let (digits, exponent) = significant(value.magnitude, count: precision)
        if exponent < -4 || exponent >= precision {
            return sign(value) + trimmed(mantissa(digits)) + exponentText(exponent)
        }
        return sign(value) + trimmed(fixed(value.magnitude, decimals: precision - 1 - exponent))
    }

    /// `count` significant digits of `magnitude`, rounded, and the power of ten of the first.
    private static func significant(_ magnitude: Double, count: Int) -> (digits: [UInt8], exponent: Int) {
        let exact = ExactDecimal(magnitude)
        guard exact.digits != [0] else { return ([UInt8](repeating: 0, count: count), 0) }
        var exponent = exact.exponent + exact.digits.count - 1
        var digits = exact.rounded(at: exponent - count + 1)
        if digits.count > count {
            // Rounded up to the next power of ten (9.9996 → 10.00): one more digit, a zero at the end.
            exponent += 1
            digits.removeLast(digits.count - count)
        }
        return (digits, exponent)
    }

    private static func mantissa(_ digits: [UInt8]) -> String {
        let text = String(decoding: digits.map { $0 + 48 }, as: UTF8.self)
        return digits.count == 1 ? text : String(text.prefix(1)) + "." + String(text.dropFirst())
    }

    private static func exponentText(_ exponent: Int) -> String {
        let magnitude = String(abs(exponent))
        return (exponent < 0 ? "e-" : "e+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    /// Without trailing zeros after the point, and without the point when nothing follows it.
    private static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var text = Substring(text)
        while text.hasSuffix("0") { text = text.dropLast() }
        if text.hasSuffix(".") { text = text.dropLast() }
        return String(text)
    }

    private static func sign(_ value: Double) -> String { value.sign == .minus ? "-" : "" }

    private static func special(_ value: Double) -> String {
        value.isNaN ? (value.sign == .minus ? "-nan" : "nan") : (value < 0 ? "-inf" : "inf")
    }
}

/// A finite, non-negative double's exact value as decimal digits: `digits` × 10^`exponent`.
struct ExactDecimal {
    /// Most significant first, no leading zeros; [0] for zero.
    var digits: [UInt8]
    /// The power of ten of the last digit.
    var exponent: Int

    init(_ magnitude: Double) {
        let exponentBits = Int(magnitude.exponentBitPattern)
        var significand = magnitude.significandBitPattern
        if exponentBits != 0 { significand |= 1 << 52 }
        // The value is significand × 2^power, exactly.
        let power = (exponentBits == 0 ? 1 : exponentBits) - 1075
        guard significand != 0 else {
            digits = [0]
            exponent = 0
            return
        }
        // Base 10^9 limbs, least significant first.
        var limbs: [UInt64] = []
        var rest = significand
        while rest > 0 {
            limbs.append(rest % 1_000_000_000)
            rest /= 1_000_000_000
        }
        if power >= 0 {
            // × 2^power, up to 2^29 at a time (a limb times 2^29 plus a carry stays below 2^64).
            var left = power
            while left > 0 {
                let step = min(left, 29)
                Self.multiply(&limbs, by: 1 << UInt64(step))
                left -= step
            }
            exponent = 0
        } else {
            // significand / 2^k = significand × 5^k / 10^k: × 5^k, up to 5^13 at a time.
            var left = -power
            while left > 0 {
                let step = min(left, 13)
                var factor: UInt64 = 1
                for _ in 0..<step { factor *= 5 }
                Self.multiply(&limbs, by: factor)
                left -= step
            }
            exponent = power
        }
        var text: [UInt8] = []
        for (index, limb) in limbs.reversed().enumerated() {
            let part = Array(String(limb).utf8).map { $0 - 48 }
            if index > 0 { text += [UInt8](repeating: 0, count: 9 - part.count) }
            text += part
        }
        digits = text
    }

    private static func multiply(_ limbs: inout [UInt64], by factor: UInt64) {
        var carry: UInt64 = 0
        for index in limbs.indices {
            let product = limbs[index] * factor + carry
            limbs[index] = product % 1_000_000_000
            carry = product / 1_000_000_000
        }
        while carry > 0 {
            limbs.append(carry % 1_000_000_000)
            carry /= 1_000_000_000
        }
    }

    /// The value rounded to a multiple of 10^`power`, half to even, as the digits of that multiple (no
    /// leading zeros; [0] for zero).
    func rounded(at power: Int) -> [UInt8] {
        let cut = power - exponent
        guard cut > 0 else { return digits + [UInt8](repeating: 0, count: -cut) }
        guard cut <= digits.count else { return [0] }
        var kept = Array(digits.prefix(digits.count - cut))
        let dropped = digits.suffix(cut)
        let first = dropped.first!
        let beyondHalf = first > 5 || (first == 5 && dropped.dropFirst().contains { $0 != 0 })
        let tie = first == 5 && !beyondHalf
        if beyondHalf || (tie && (kept.last ?? 0) % 2 == 1) {
            var index = kept.count - 1
            while index >= 0 && kept[index] == 9 {
                kept[index] = 0
                index -= 1
            }
            if index >= 0 { kept[index] += 1 } else { kept.insert(1, at: 0) }
        }
        while kept.count > 1 && kept.first == 0 { kept.removeFirst() }
        return kept.isEmpty ? [0] : kept
    }
}
