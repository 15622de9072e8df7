// RenderMarkup: escaping for every format that embeds report strings. Report strings are data — a case
// id, a CPU brand, a kernel release or a reason can hold any character — so each one goes through the
// escape of the format it lands in, and nothing from a report is ever written raw.

/// Escapes for HTML, XML, Markdown and Prometheus text.
enum Markup {
    /// Text for HTML or XML content and quoted attribute values: the five markup characters become
    /// entities, and the control characters XML 1.0 forbids become U+FFFD, so the result is well-formed
    /// in both. Tab, line feed and carriage return are kept in content and written as character
    /// references in attributes (where a parser would otherwise fold them into spaces).
    static func xml(_ text: String, attribute: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r":
                out += attribute ? "&#\(scalar.value);" : String(scalar)
            default:
                // XML 1.0 §2.2: no C0 controls but the three above, no surrogates (Swift has none),
                // no U+FFFE or U+FFFF.
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Text for HTML: the same as XML, so the page is also well-formed XML.
    static func html(_ text: String) -> String {
        xml(text)
    }

    /// Text for a Markdown paragraph or table cell: line breaks become spaces and every ASCII punctuation
    /// character that CommonMark or GFM could read as syntax is backslash-escaped (CommonMark §2.4), so
    /// a case id cannot open a link, a table cell or an HTML tag.
    static func markdown(_ text: String) -> String {
        // By UTF-8 byte: every character escaped here is ASCII, and no byte of a longer UTF-8 sequence is.
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var afterCR = false
        for byte in text.utf8 {
            defer { afterCR = byte == UInt8(ascii: "\r") }
            switch byte {
            case UInt8(ascii: "\n") where afterCR: continue  // CR LF is one line break, one space
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): out.append(UInt8(ascii: " "))
            case UInt8(ascii: "\\"), UInt8(ascii: "`"), UInt8(ascii: "*"), UInt8(ascii: "_"), UInt8(ascii: "["),
                UInt8(ascii: "]"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "|"), UInt8(ascii: "#"),
                UInt8(ascii: "&"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "{"), UInt8(ascii: "}"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A Prometheus label value: backslash, double quote and line feed escaped (the text format's only
    /// three escapes), everything else as UTF-8.
    static func labelValue(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A slug for an HTML id: lower-case letters, digits and hyphens only, never empty.
    static func slug(_ text: String) -> String {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            let ok = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
            if ok {
                out.unicodeScalars.append(scalar)
            } else if !out.hasSuffix("-") {
                out += "-"
            }
        }
        let trimmed = out.trimmingHyphens
        return trimmed.isEmpty ? "x" : trimmed
    }
}

extension String {
    fileprivate var trimmingHyphens: String {
        String(drop { $0 == "-" }.reversed().drop { $0 == "-" }.reversed())
    }
}
