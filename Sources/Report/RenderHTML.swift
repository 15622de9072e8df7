// RenderHTML: the bench report as one self-contained HTML page — inline CSS, inline SVG, no scripts, no
// fonts or images fetched from anywhere — so it opens the same in any browser, offline, years later.
// The page is also well-formed XML (every element closed, attributes quoted, only XML's own entities),
// which lets the tests parse it and lets tools that only speak XML read it.
//
// Order: the context a reader needs to trust the numbers, the multipliers (the headline: what one more
// level costs), the summary table, one figure per measured case grouped by guest mode, and last the cases
// that did not run and why.

import Documents

/// Renders a bench report as HTML.
public enum RenderHTML {
    /// The whole page.
    public static func render(_ report: BenchReport) -> String {
        let c = report.context
        let title = "nestprobe bench: this level \(c.level), guests at \(c.guestLevel)"
        var html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        html +=
            "<meta name=\"generator\" content=\"\(Markup.xml(report.tool.name + " " + report.tool.version, attribute: true))\"/>"
        html += "<title>\(Markup.html(title))</title><style>\(style)</style></head>\n<body><main>\n"
        html += "<header><h1>\(Markup.html(title))</h1><p class=\"sub\">\(Markup.html(subtitle(report)))</p></header>\n"
        html += context(report)
        html += multipliers(report)
        html += summary(report)
        html += cases(report)
        html += notRun(report)
        html += legend
        return html + "</main></body></html>\n"
    }

    static func subtitle(_ report: BenchReport) -> String {
        "\(report.createdAt) · \(report.tool.name) \(report.tool.version) · \(report.schema) v\(report.version) · "
            + "wall \(String(format3: (report.wallSeconds * 100).rounded() / 100)) s, "
            + "budget \(String(format3: report.context.budgetSeconds)) s"
    }

    /// CPU, kernel, KVM, level estimate, TSC, then the notes (emulation first among them, as bench wrote them).
    static func context(_ report: BenchReport) -> String {
        var html = "<section id=\"context\"><h2>Context</h2><dl class=\"facts\">"
        for (label, value) in RenderMarkdown.context(report) {
            let cell = label == "KVM parameters" ? "<code>\(Markup.html(value))</code>" : Markup.html(value)
            html += "<dt>\(Markup.html(label))</dt><dd>\(cell)</dd>"
        }
        html += "</dl>"
        // The notes bench made from guestExecution are in the table below; show the others here.
        let execution = Set(report.guestExecution.map { "\($0.mode) CPL\($0.cpl): \($0.note)" })
        let notes = report.context.notes.filter { !execution.contains($0) }
        if !notes.isEmpty {
            html += "<div class=\"warn\"><h3>Notes</h3><ul>"
            html += notes.map { "<li>\(Markup.html($0))</li>" }.joined()
            html += "</ul></div>"
        }
        if !report.guestExecution.isEmpty {
            html +=
                "<h3>How the guests execute</h3><table><thead><tr><th>mode</th><th>CPL</th>"
                + "<th class=\"n\">empty loop iteration, cycles</th><th>verdict</th></tr></thead><tbody>"
            for mode in report.guestExecution {
                html +=
                    "<tr\(mode.emulated ? " class=\"emulated\"" : "")><td>\(Markup.html(RenderWords.mode(mode.mode)))</td>"
                    + "<td>\(mode.cpl)</td><td class=\"n\">\(RenderNumber.cycles(mode.nullIterationCycles))</td>"
                    + "<td>\(Markup.html(mode.note))</td></tr>"
            }
            html += "</tbody></table>"
        }
        return html + "</section>\n"
    }

    /// The summary table, each measured case linked to its figure; the three-level table after it.
    static func summary(_ report: BenchReport) -> String {
        var html = "<section id=\"summary\"><h2>Net cycles per exit</h2>"
        html +=
            "<p>Median per exit, less the timing baseline of the same mode; × is the guest level's figure over "
            + "this level's own for the same instruction.</p>"
        html += table(RenderTable.main(report), report)
        if let three = RenderTable.threeLevel(report) {
            html += "<h3>\(Markup.html(RenderTable.threeLevelTitle))</h3>" + table(three, report)
        } else if let skipped = RenderTable.threeLevelSkipped(report) {
            html += "<p>\(Markup.html(skipped))</p>"
        }
        for host in report.hostLevel {
            html +=
                "<p>This level's own figure: <a href=\"#this-level\">\(Markup.html(host.id))</a>, "
                + "<b>\(RenderNumber.cycles(host.netMedianCycles))</b> cycles "
                + "(\(Markup.html(RenderNumber.microseconds(host.netMedianNanoseconds))) µs) net median over "
                + "\(RenderNumber.grouped(Double(host.statistics.cycles.count))) samples; "
                + "\(Markup.html(host.mechanism)).</p>"
        }
        return html + "</section>\n"
    }

    /// A summary table; the case column links to the case's figure where it has one, the note column is
    /// the last.
    static func table(_ table: RenderTable, _ report: BenchReport) -> String {
        let measured = Set(report.cases.filter { !$0.samplesCycles.isEmpty }.map(\.id))
        var html = "<table><thead><tr><th>case</th>"
        for (title, numeric) in zip(table.headers, table.numeric) {
            html += (numeric ? "<th class=\"n\">" : "<th>") + Markup.html(title) + "</th>"
        }
        html += "</tr></thead><tbody>"
        for row in table.rows {
            let name =
                measured.contains(row.caseID)
                ? "<a href=\"#\(anchor(for: row.caseID, in: report))\">\(Markup.html(row.caseID))</a>"
                : Markup.html(row.caseID)
            html += "<tr class=\"\(Markup.xml(row.status, attribute: true))\"><td class=\"id\">\(name)</td>"
            for (index, cell) in row.cells.enumerated() {
                let cssClass =
                    index == 0
                    ? "status"
                    : table.numeric[index] ? "n" : index == row.cells.count - 1 ? "note" : "to"
                html += "<td class=\"\(cssClass)\">\(Markup.html(cell))</td>"
            }
            html += "</tr>"
        }
        return html + "</tbody></table>"
    }

    /// The bar chart of every row with a multiplier, and of every three-level row with one for the guest's
    /// guest; nothing when no row has one.
    static func multipliers(_ report: BenchReport) -> String {
        let c = report.context
        let bars = report.table.compactMap { row -> RenderSVG.Bar? in
            guard !RenderWords.isInner(row.caseID), let multiplier = row.multiplier, let guest = row.guestLevelCycles,
                let this = row.thisLevelCycles
            else { return nil }
            return RenderSVG.Bar(
                label: row.caseID, multiplier: multiplier,
                words: "(guest \(RenderNumber.cycles(guest)), this level \(RenderNumber.cycles(this)) cycles)")
        }
        let inner = report.table.compactMap { row -> RenderSVG.Bar? in
            guard let multiplier = row.innerMultiplier, let guest = row.guestLevelCycles, let own = row.innerGuestCycles
            else { return nil }
            return RenderSVG.Bar(
                label: row.caseID, multiplier: multiplier,
                words: "(guest's guest \(RenderNumber.cycles(own)), guest \(RenderNumber.cycles(guest)) cycles)")
        }
        guard !bars.isEmpty || !inner.isEmpty else { return "" }
        var html = "<section id=\"multipliers\"><h2>Guest level versus this level</h2>"
        if !bars.isEmpty {
            html +=
                "<p>Net cycles per exit of the guest level (\(Markup.html(c.guestLevel))) over this level's "
                + "(\(Markup.html(c.level))) for the same instruction. Right of 1× the guest's exit costs more; left "
                + "of it less (an emulated guest, or an exit this level answers without going down).</p>"
                + "<figure>\(RenderSVG.multipliers(bars, axis: "guest level ÷ this level (log scale)"))</figure>"
        }
        if !inner.isEmpty {
            html +=
                "<p>Three levels: net cycles per exit of the guest's guest over the guest level's for the same "
                + "exit.</p><figure>\(RenderSVG.multipliers(inner, axis: "guest's guest ÷ guest level (log scale)"))"
                + "</figure>"
        }
        return html + "</section>\n"
    }

    /// The cases that produced no figures, with their reasons.
    static func notRun(_ report: BenchReport) -> String {
        let notRun = RenderTable.notRun(report)
        let skippedThree = RenderTable.threeLevelSkipped(report)
        guard !notRun.isEmpty || skippedThree != nil else { return "" }
        var html = "<section id=\"not-run\"><h2>Skipped and failed</h2>"
        if let skippedThree { html += "<p>\(Markup.html(skippedThree))</p>" }
        guard !notRun.isEmpty else { return html + "</section>\n" }
        html += "<table><thead><tr><th>case</th><th>status</th><th>kind</th><th>reason</th></tr></thead><tbody>"
        for entry in notRun {
            html +=
                "<tr class=\"\(entry.status.rawValue)\"><td>\(Markup.html(entry.id))</td>"
                + "<td class=\"status\">\(entry.status.rawValue)</td>"
                + "<td>\(Markup.html(entry.failure?.kind.rawValue ?? entry.status.rawValue))</td>"
                + "<td>\(Markup.html(RenderWords.reason(entry)))</td></tr>"
        }
        return html + "</tbody></table></section>\n"
    }

    static let legend = """
        <footer><h2>Reading the plots</h2><p>Each row is one set of samples on a logarithmic cycle axis, \
        shared by the rows of a figure: the bars are a histogram of the samples (scaled to the row's tallest \
        bin), the box spans p25 to p75, the black bar is the median and the whiskers reach p1 and p99. The \
        values are cycles per exit as timed, so they include the timing baseline that the net figures \
        subtract. Blue is this level, timed in this process; orange is the guest level, timed in the guest \
        (or around KVM_RUN for host-timed cases); purple, in three-level cases, is the guest's guest.</p></footer>

        """

    static let style = """
        body{margin:0;background:#f5f5f2;color:#1a1a1a;\
        font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}\
        main{max-width:1140px;margin:0 auto;padding:20px 20px 40px}\
        h1{font-size:25px;margin:0 0 2px}\
        h2{font-size:20px;margin:30px 0 10px;padding-bottom:3px;border-bottom:1px solid #c8c8c2}\
        h3{font-size:16px;margin:14px 0 6px}\
        .sub{color:#555;margin:0 0 8px}\
        dl.facts{display:grid;grid-template-columns:180px 1fr;gap:3px 16px;margin:0 0 12px}\
        dl.facts dt{font-weight:600;color:#444}\
        dl.facts dd{margin:0}\
        code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}\
        .warn{background:#fff3dc;border-left:4px solid #d98a00;padding:2px 14px 4px;margin:10px 0}\
        .warn ul{margin:4px 0 8px;padding-left:20px}\
        table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}\
        th,td{padding:3px 8px;border-bottom:1px solid #e3e3de;text-align:left;vertical-align:top}\
        th{background:#ebeae4}\
        .n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
        td.note{color:#555;font-size:13px}\
        td.id,td.to{white-space:nowrap}\
        tr.skipped td,tr.failed td{color:#777}\
        tr.failed td.status{color:#b00020;font-weight:600}\
        tr.emulated td{background:#fff8ea}\
        a{color:#1f5fa8}\
        figure{background:#fff;border:1px solid #dcdcd6;border-radius:6px;margin:12px 0;padding:10px 12px 2px}\
        figcaption h3{margin:0 0 2px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:15px}\
        figcaption p{margin:0 0 2px;font-size:14px}\
        figcaption .meta{color:#555;font-size:13px}\
        figcaption .note{color:#8a5200;font-size:13px}\
        svg{display:block;width:100%;height:auto}\
        footer{color:#444;font-size:14px}
        """
}
