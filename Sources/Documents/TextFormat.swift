// TextFormat: the few text helpers every human-readable output shares (diagnose, bench, compare, qualify,
// render): thousands grouping, column padding and word wrapping to 80 columns.

/// Shared text formatting for tables and wrapped notes.
public enum TextFormat {
    /// 12345.6 → "12,346" (rounded to a whole number, grouped by thousands).
    public static func grouped(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e18 else { return String(describing: value) }
        let whole = Int(value.rounded())
        var digits = String(abs(whole))
        var out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return (whole < 0 ? "-" : "") + digits + out
    }

    /// `text` left-aligned in `width` columns; cut (with one space kept) when longer.
    public static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width
            ? String(text.prefix(width - 1)) + " " : text + String(repeating: " ", count: width - text.count)
    }

    /// `text` right-aligned in `width` columns; a space before it when it does not fit.
    public static func lpad(_ text: String, _ width: Int) -> String {
        text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
    }

    /// The words of `text` in lines of at most `width` columns, each starting with `indent`; continuation
    /// lines are indented two more.
    public static func wrap(_ text: String, indent: String, width: Int = 80) -> [String] {
        var lines: [String] = []
        // Lengths are kept as counts, not recounted per word: a note may be megabytes long.
        let margin = indent.count
        var current = indent
        var length = margin
        forEachWord(text) { word in
            let size = word.count
            if length + size + 1 > width && length > margin {
                lines.append(current)
                current = indent + "  " + word
                length = margin + 2 + size
            } else {
                if length > margin {
                    current += " "
                    length += 1
                }
                current += word
                length += size
            }
        }
        lines.append(current)
        return lines
    }

    /// Calls `body` with each run of non-space characters of `text`, in order, without building a list of
    /// them first.
    static func forEachWord(_ text: String, _ body: (Substring) -> Void) {
        let utf8 = text.utf8
        var start: String.Index?
        var index = utf8.startIndex
        while index < utf8.endIndex {
            if utf8[index] == UInt8(ascii: " ") {
                if let first = start { body(text[first..<index]) }
                start = nil
            } else if start == nil {
                start = index
            }
            utf8.formIndex(after: &index)
        }
        if let first = start { body(text[first...]) }
    }
}

extension String {
    /// A number with up to three decimals, without Foundation's formatter.
    public init(format3 value: Double) {
        guard value.isFinite, abs(value) < 1e15 else {
            self = value.isNaN ? "nan" : value.isFinite ? String(describing: value) : (value < 0 ? "-inf" : "inf")
            return
        }
        let scaled = (value * 1000).rounded()
        let whole = Int(scaled / 1000)
        var fraction = Int(abs(scaled).truncatingRemainder(dividingBy: 1000))
        var digits = 3
        while digits > 0 && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let sign = value < 0 && whole == 0 && fraction > 0 ? "-" : ""
        if digits == 0 {
            self = sign + String(whole)
        } else {
            let text = String(fraction)
            self = sign + String(whole) + "." + String(repeating: "0", count: digits - text.count) + text
        }
    }
}
