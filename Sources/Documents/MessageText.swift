// MessageText: making text that came from outside (file names, option values, excerpts of input) safe to
// put in a one-line message on a terminal. A newline in a file name would split the line; an escape
// sequence would reach the terminal and could rewrite what the user sees.

/// Escaping of control characters for one-line messages.
public enum MessageText {
    /// `text` with every control character replaced by a visible escape: `\n`, `\r`, `\t`, and `\u{XX}`
    /// for the other C0 controls, DEL, the C1 controls (U+0080–U+009F) and the Unicode line and paragraph
    /// separators. Everything else, backslashes included, is left as it is.
    public static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return result
    }

    /// Whether `scalar` is a control character or a line break that `oneLine` escapes.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
