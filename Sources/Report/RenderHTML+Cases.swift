// RenderHTML+Cases: one figure per case with samples, grouped by guest mode and privilege. A CPUID case
// shows this level's own CPUID distribution (hostLevel "cpuid-0/host") above the guest's, on one axis,
// so the cost of the same instruction one level down reads off the page.

import Documents

extension RenderHTML {
    /// The id of this level's CPUID measurement, shown beside every guest CPUID case.
    static let hostCPUID = "cpuid-0/host"

    /// The HTML id of a case's figure: unique (the index is part of it) and safe whatever the case id.
    static func anchor(for caseID: String, in report: BenchReport) -> String {
        let index = report.cases.firstIndex { $0.id == caseID } ?? 0
        return "case-\(index)-\(Markup.slug(caseID))"
    }

    /// This level's own figures, then a section per guest mode with a figure per measured case.
    static func cases(_ report: BenchReport) -> String {
        var html = ""
        if !report.hostLevel.isEmpty {
            html += "<section id=\"this-level\"><h2>This level's own exits (\(Markup.html(report.context.level)))</h2>"
            for host in report.hostLevel {
                html +=
                    "<figure><figcaption><h3>\(Markup.html(host.id))</h3><p>net <b>"
                    + "\(RenderNumber.cycles(host.netMedianCycles))</b> cycles "
                    + "(\(Markup.html(RenderNumber.microseconds(host.netMedianNanoseconds))) µs); \(Markup.html(host.mechanism)); "
                    + "\(RenderNumber.grouped(Double(host.warmupDiscarded))) warm-up samples discarded</p></figcaption>"
                html += RenderSVG.distribution([row(host, report)], caseID: host.id) + "</figure>"
            }
            html += "</section>\n"
        }
        var groups: [(title: String, entries: [CaseReport])] = []
        for entry in report.cases where entry.status == .ok && !entry.samplesCycles.isEmpty {
            let title = RenderWords.group(entry)
            if let index = groups.firstIndex(where: { $0.title == title }) {
                groups[index].entries.append(entry)
            } else {
                groups.append((title, [entry]))
            }
        }
        for (index, group) in groups.enumerated() {
            let heading =
                group.title == RenderTable.threeLevelTitle
                ? group.title : "Guest level (\(report.context.guestLevel)): \(group.title)"
            html += "<section id=\"group-\(index)\"><h2>\(Markup.html(heading))</h2>"
            if let first = group.entries.first, first.timedIn != "host",
                let execution = report.guestExecution.first(where: { $0.mode == first.mode && $0.cpl == first.cpl })
            {
                html += "<p class=\"\(execution.emulated ? "warn" : "sub")\">\(Markup.html(execution.note))</p>"
            }
            html += group.entries.map { figure($0, report) }.joined()
            html += "</section>\n"
        }
        return html
    }

    /// A case's figure: caption with what it measures and its net figure, then the distribution plot.
    static func figure(_ entry: CaseReport, _ report: BenchReport) -> String {
        let tableRow = report.table.first { $0.caseID == entry.id }
        var rows: [DistributionRow] = []
        if entry.id.hasPrefix("cpuid-"), let host = report.hostLevel.first(where: { $0.id == hostCPUID }) {
            rows.append(row(host, report))
        }
        // The guest's guest beside the same exit one level down.
        if RenderWords.isInner(entry.id), let id = tableRow?.guestLevelCaseID,
            let counterpart = report.cases.first(where: { $0.id == id && !$0.samplesCycles.isEmpty })
        {
            rows.append(row(counterpart, report))
        }
        rows.append(row(entry, report))
        var html = "<figure id=\"\(anchor(for: entry.id, in: report))\"><figcaption><h3>\(Markup.html(entry.id))</h3>"
        html += "<p class=\"meta\">\(Markup.html(meta(entry)))</p>"
        let belowResolution = entry.net?.belowResolution == true
        var figures =
            belowResolution
            ? "net <b>below resolution</b> (its 95 % interval reaches zero)"
            : "net <b>\(entry.netMedianCycles.map(RenderNumber.cycles) ?? "—")</b> cycles"
        if !belowResolution, let nanoseconds = entry.netMedianNanoseconds {
            figures += " (\(Markup.html(RenderNumber.microseconds(nanoseconds))) µs)"
        }
        figures += " per exit"
        if let baseline = entry.baselineID, let median = entry.baselineMedianCycles {
            figures += ", less \(Markup.html(baseline)) (\(RenderNumber.cycles(median)) cycles)"
        }
        if let row = tableRow, !RenderWords.isInner(entry.id), let multiplier = row.multiplier,
            let this = row.thisLevelCycles
        {
            figures += "; this level \(RenderNumber.cycles(this)) cycles: <b>\(RenderNumber.multiplier(multiplier))</b>"
        }
        if let row = tableRow, let multiplier = row.innerMultiplier, let guest = row.guestLevelCycles {
            figures +=
                "; guest level \(RenderNumber.cycles(guest)) cycles: <b>\(RenderNumber.multiplier(multiplier))</b>"
        }
        html += "<p>\(figures)</p>"
        if let note = tableRow?.note, !note.isEmpty {
            html += "<p class=\"note\">\(Markup.html(note))</p>"
        }
        html += "</figcaption>" + RenderSVG.distribution(rows, caseID: entry.id) + "</figure>\n"
        return html
    }

    /// What a case measures, in one line.
    static func meta(_ entry: CaseReport) -> String {
        var parts = ["exits to \(entry.exitsTo)"]
        switch entry.attribution {
        case "this-level": parts.append("answered by this level's KVM")
        case "level-below": parts.append("answered by the level below")
        case "guest-hypervisor": parts.append("answered by the guest's own hypervisor")
        default: break
        }
        parts.append("timed in the \(entry.timedIn)")
        parts.append(
            "\(RenderNumber.grouped(Double(entry.sampleCount))) samples in \(entry.runs) run\(entry.runs == 1 ? "" : "s")"
        )
        if entry.exitsPerSample > 1 { parts.append("\(entry.exitsPerSample) exits per sample") }
        if let ci = entry.medianCIRelative {
            parts.append("median ±\(String(format3: (ci * 1000).rounded() / 10)) % (95 %)")
        }
        parts.append(entry.mechanism)
        return parts.joined(separator: " · ")
    }

    static func row(_ entry: CaseReport, _ report: BenchReport) -> DistributionRow {
        let perExit = Double(max(1, entry.exitsPerSample))
        let inner = RenderWords.isInner(entry.id)
        return DistributionRow(
            title: inner ? "guest's guest" : "guest level (\(report.context.guestLevel))", detail: entry.id,
            values: entry.samplesCycles.map { Double($0) / perExit }.sorted(), taken: entry.sampleCount,
            colour: inner ? .innerLevel : .guestLevel)
    }

    static func row(_ host: HostLevelCase, _ report: BenchReport) -> DistributionRow {
        DistributionRow(
            title: "this level (\(report.context.level))", detail: host.id,
            values: host.samplesCycles.map { Double($0) }.sorted(), taken: host.statistics.cycles.count,
            colour: .thisLevel)
    }
}
