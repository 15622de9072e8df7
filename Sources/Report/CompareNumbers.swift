// CompareNumbers: how compare writes its figures in every format — signed percents, p-values, cycles per
// exit, plain numbers — and how it splits a row id into the case and the mode heading its group.

import Documents

/// Compare's figures as text.
enum CompareNumbers {
    /// "name" and "suffix" from "name/suffix".
    static func split(_ id: String) -> (String, String) {
        guard let slash = id.lastIndex(of: "/") else { return (id, "") }
        return (String(id[..<slash]), String(id[id.index(after: slash)...]))
    }

    /// Signed percent: one decimal below 100, whole above.
    static func percent(_ value: Double) -> String {
        let sign = value >= 0 ? "+" : "-"
        let size = abs(value)
        guard size.isFinite else { return sign + "∞" }
        return sign + (size < 100 ? fixed(size, 1) : CheckedNumber.wholeText(size))
    }

    /// Three decimals, or "<0.001".
    static func pValue(_ p: Double) -> String { p < 0.001 ? "<0.001" : fixed(p, 3) }

    /// Cycles grouped by thousands; one decimal below 100.
    static func cycles(_ value: Double) -> String {
        abs(value) >= 100 ? TextFormat.grouped(value) : fixed(value, 1)
    }

    /// A whole number without decimals, anything else as Swift writes it.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : "\(value)"
    }

    /// `value` with exactly `digits` decimals (rounded half away from zero).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-∞" : "∞" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        guard let scaled = CheckedNumber.int(abs(value) * Double(scale)) else { return "\(value)" }
        let fraction = String(scaled % scale)
        let text =
            digits == 0
            ? "\(scaled)" : "\(scaled / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + text
    }
}
