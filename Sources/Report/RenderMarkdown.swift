// RenderMarkdown: the bench table as a GitHub-flavoured Markdown table, with the context a reader needs
// to trust it (CPU, kernel, KVM module, level estimate, TSC), the notes, the cases that did not run and
// why, and how each guest mode executes.

import Documents

/// Renders a bench report as Markdown.
public enum RenderMarkdown {
    /// The whole document.
    public static func render(_ report: BenchReport) -> String {
        var out: [String] = []
        let c = report.context
        out.append(
            "# nestprobe bench: this level \(Markup.markdown(c.level)), guests at \(Markup.markdown(c.guestLevel))")
        out.append("")
        out.append(
            "Created \(Markup.markdown(report.createdAt)) by \(Markup.markdown(report.tool.name)) "
                + "\(Markup.markdown(report.tool.version)) in \(String(format3: (report.wallSeconds * 100).rounded() / 100)) s "
                + "(budget \(String(format3: c.budgetSeconds)) s).")
        out.append("")
        out += context(report).map { "- **\($0.0):** \(Markup.markdown($0.1))" }
        if !c.notes.isEmpty {
            out.append("")
            out.append("**Notes**")
            out.append("")
            out += c.notes.map { "- " + Markup.markdown($0) }
        }
        out.append("")
        out += table(report)
        let notRun = RenderTable.notRun(report)
        let skippedThree = RenderTable.threeLevelSkipped(report)
        if !notRun.isEmpty || skippedThree != nil {
            out.append("")
            out.append("## Skipped and failed")
            out.append("")
            if let skippedThree { out.append("- " + Markup.markdown(skippedThree)) }
            for entry in notRun {
                let kind = entry.failure.map { $0.kind.rawValue } ?? entry.status.rawValue
                out.append(
                    "- **\(Markup.markdown(entry.id))** (\(Markup.markdown(kind))): \(Markup.markdown(RenderWords.reason(entry)))"
                )
            }
        }
        if !report.guestExecution.isEmpty {
            out.append("")
            out.append("## How the guests execute")
            out.append("")
            for mode in report.guestExecution {
                out.append(
                    "- \(Markup.markdown(RenderWords.mode(mode.mode))), CPL\(mode.cpl)"
                        + (mode.emulated ? " (**emulated**)" : "") + ": \(Markup.markdown(mode.note))")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The context as (label, value) pairs, in the order a reader asks for them.
    static func context(_ report: BenchReport) -> [(String, String)] {
        let c = report.context
        var facts: [(String, String)] = [
            ("This level", RenderWords.level(c)),
            ("Guests", c.guestLevel),
            ("Hypervisor below", c.hypervisor ?? "none named by CPUID"),
            ("CPU", c.cpu),
            ("Kernel", c.kernelRelease ?? "unknown"),
            (
                "KVM module",
                (c.kvmModule ?? "none")
                    + " (\(c.mechanism)); can host: \(c.canHost); guests can host: \(c.guestsCanHost)"
            ),
        ]
        if !c.kvmParameters.isEmpty { facts.append(("KVM parameters", RenderWords.parameters(c))) }
        facts.append(
            (
                "TSC",
                RenderWords.tsc(c) + (c.guestTSCkHz.map { "; guests \(RenderNumber.grouped(Double($0))) kHz" } ?? "")
            ))
        facts.append(("vCPU pinned to", c.pinnedCPU.map { "CPU \($0)" } ?? "not pinned"))
        if c.emulatedHost {
            facts.append(("Emulated host", "yes: QEMU TCG below, the figures say nothing about hardware"))
        }
        return facts
    }

    /// The summary table, one row per case, numbers right-aligned; the three-level table after it.
    static func table(_ report: BenchReport) -> [String] {
        var out = [
            "## Net cycles per exit",
            "",
            "Median per exit, less the timing baseline of the same mode; × is the guest level's figure over this level's.",
            "",
        ]
        out += lines(RenderTable.main(report))
        if let three = RenderTable.threeLevel(report) {
            out += ["", "### " + Markup.markdown(RenderTable.threeLevelTitle), ""]
            out += lines(three)
        } else if let skipped = RenderTable.threeLevelSkipped(report) {
            out += ["", Markup.markdown(skipped)]
        }
        if let host = report.hostLevel.first {
            out.append("")
            out.append(
                "This level's own figure: \(Markup.markdown(host.id)), \(RenderNumber.grouped(host.netMedianCycles)) "
                    + "cycles (\(RenderNumber.microseconds(host.netMedianNanoseconds)) µs) net median over "
                    + "\(RenderNumber.grouped(Double(host.statistics.cycles.count))) samples.")
        }
        return out
    }

    /// A table as GFM lines: header, alignment row, one line per row, every cell escaped.
    static func lines(_ table: RenderTable) -> [String] {
        var out = ["| case | " + table.headers.map(Markup.markdown).joined(separator: " | ") + " |"]
        out.append("|:-----|" + table.numeric.map { $0 ? "-----:|" : ":-----|" }.joined())
        for row in table.rows {
            out.append("| " + ([row.caseID] + row.cells).map(Markup.markdown).joined(separator: " | ") + " |")
        }
        return out
    }
}
