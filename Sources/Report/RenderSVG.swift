// RenderSVG: the plots of the HTML report, as inline SVG a browser draws without scripts or network.
// Latencies span three decades or more (a native loop iteration of one cycle, a user-space exit of tens
// of thousands, a nested exit of hundreds of thousands), so every axis is logarithmic with 1-2-5 ticks.
//
// A distribution row is a histogram of the kept samples per exit (heights scaled to the row's own
// tallest bin, so a small sample set stays visible) above a box plot: box p25–p75, bar at p50, whiskers
// p1–p99. The rows of one case share their axis, so this level and the guest level compare by eye.

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif
import Documents

/// A logarithmic axis whose ends are 1-2-5 values, mapped onto a pixel range.
struct LogAxis {
    /// Values at or below this count as this, so zero cycles can still be placed.
    static let floor = 0.1
    /// Values at or above this count as this, so the axis's 1-2-5 ends (and log10 of them) stay finite
    /// for a figure as large as a Double holds.
    static let ceiling = 1e300

    let lower: Double
    let upper: Double
    let start: Double
    let end: Double

    /// An axis covering every value (each taken as at least `floor`), from pixel `start` to `end`.
    init(covering values: [Double], from start: Double, to end: Double) {
        let positive = values.filter { !$0.isNaN }.map { Swift.min(Swift.max($0, Self.floor), Self.ceiling) }
        let low = positive.min() ?? 1
        let high = positive.max() ?? 10
        var lower = Self.niceBelow(low)
        var upper = Self.niceAbove(high)
        if upper <= lower * 1.000001 {
            lower = Self.niceBelow(low / 1.5)
            upper = Self.niceAbove(high * 1.5)
        }
        self.lower = lower
        self.upper = upper
        self.start = start
        self.end = end
    }

    /// The pixel of `value`, clamped to the axis.
    func position(_ value: Double) -> Double {
        let clamped = Swift.min(Swift.max(value, lower), upper)
        let fraction = (log10(clamped) - log10(lower)) / (log10(upper) - log10(lower))
        return start + fraction * (end - start)
    }

    /// The 1-2-5 values on the axis; only the powers of ten when there would be more than eleven.
    var ticks: [Double] {
        let first = CheckedNumber.clamped(log10(lower), to: -1...300, rounding: .down)
        let last = CheckedNumber.clamped(log10(upper), to: first...301, rounding: .up)
        var all: [(value: Double, power: Bool)] = []
        for exponent in first...last {
            for mantissa in [1.0, 2, 5] {
                let value = mantissa * Self.pow10(exponent)
                if value >= lower * 0.999999 && value <= upper * 1.000001 { all.append((value, mantissa == 1)) }
            }
        }
        return (all.count > 11 ? all.filter(\.power) : all).map(\.value)
    }

    /// The largest 1-2-5 value at or below `value`.
    static func niceBelow(_ value: Double) -> Double {
        let base = pow10(CheckedNumber.clamped(log10(value), to: -1...300, rounding: .down))
        return [10.0, 5, 2, 1].map { $0 * base }.first { $0 <= value * 1.000001 } ?? base / 2
    }

    /// The smallest 1-2-5 value at or above `value`.
    static func niceAbove(_ value: Double) -> Double {
        let base = pow10(CheckedNumber.clamped(log10(value), to: -1...300, rounding: .down))
        return [1.0, 2, 5, 10].map { $0 * base }.first { $0 >= value * 0.999999 } ?? base * 20
    }

    private static func pow10(_ exponent: Int) -> Double {
        pow(10, Double(exponent))
    }
}

/// Fill and stroke of one series.
struct SeriesColour {
    let stroke: String
    let fill: String

    static let thisLevel = SeriesColour(stroke: "#1f5fa8", fill: "#a9c8ec")
    static let guestLevel = SeriesColour(stroke: "#b25600", fill: "#f4c38e")
    static let innerLevel = SeriesColour(stroke: "#6b3fa0", fill: "#d2bfe8")
}

/// One row of a distribution plot.
struct DistributionRow {
    /// "this level (L2+)" or "guest level (L3+)".
    var title: String
    /// The case id the samples belong to.
    var detail: String
    /// Cycles per exit, sorted ascending.
    var values: [Double]
    /// Samples taken in all (the kept ones may be a thinning of them).
    var taken: Int
    var colour: SeriesColour
}

/// Builds the SVG plots.
enum RenderSVG {
    static let width = 1100.0
    private static let plotStart = 210.0
    private static let plotEnd = 850.0
    private static let statsX = 868.0
    private static let rowHeight = 66.0
    private static let top = 8.0
    private static let histogramHeight = 34.0
    private static let bins = 80

    /// The distribution of each row on one shared log axis; `caseID` names the figure.
    static func distribution(_ rows: [DistributionRow], caseID: String) -> String {
        let axis = LogAxis(
            covering: rows.flatMap { [$0.values.first ?? 1, $0.values.last ?? 1] },
            from: plotStart, to: plotEnd)
        let axisY = top + Double(rows.count) * rowHeight + 2
        let height = axisY + 38
        var svg = open(
            height: height, cssClass: "dist", data: caseID,
            title: "Cycles per exit of \(caseID): " + rows.map(\.title).joined(separator: " and "))
        svg += grid(axis, from: top, to: axisY)
        for (index, row) in rows.enumerated() {
            svg += distributionRow(row, axis: axis, y: top + Double(index) * rowHeight)
        }
        svg += axisLine(axis, y: axisY, label: "cycles per exit, as timed (log scale)", format: RenderNumber.tick)
        return svg + "</svg>"
    }

    /// One multiplier bar.
    struct Bar {
        /// The case id.
        var label: String
        var multiplier: Double
        /// The two figures it divides, in words, after the multiplier.
        var words: String
    }

    /// Horizontal bars from 1× on a log axis: right of the line the upper level's exit costs more than the
    /// lower's, left of it less.
    static func multipliers(_ bars: [Bar], axis axisTitle: String) -> String {
        let start = 250.0
        let end = 760.0
        let valueX = 780.0
        let barHeight = 18.0
        let step = 26.0
        let axis = LogAxis(
            covering: bars.map(\.multiplier).filter { $0 > 0 && $0.isFinite } + [0.7, 1.4],
            from: start, to: end)
        let axisY = top + Double(bars.count) * step + 4
        var svg = open(
            height: axisY + 38, cssClass: "multipliers", data: nil,
            title: "Multipliers per case: " + axisTitle)
        svg += grid(axis, from: top, to: axisY)
        let one = axis.position(1)
        for (index, bar) in bars.enumerated() {
            let y = top + Double(index) * step
            let x = axis.position(bar.multiplier)
            let colour = bar.multiplier >= 1 ? SeriesColour.guestLevel.stroke : "#2a7f62"
            let words = RenderNumber.multiplier(bar.multiplier) + "  " + bar.words
            svg += "<g><title>\(Markup.xml(bar.label + " " + words))</title>"
            svg += text(Markup.xml(bar.label), x: start - 10, y: y + 14, anchor: "end", size: 13)
            svg +=
                "<rect x=\"\(c(min(x, one)))\" y=\"\(c(y + (step - barHeight) / 2 - 2))\" "
                + "width=\"\(c(max(abs(x - one), 1)))\" height=\"\(c(barHeight))\" fill=\"\(colour)\"/>"
            svg += text(Markup.xml(words), x: valueX, y: y + 14, anchor: "start", size: 13)
            svg += "</g>"
        }
        svg +=
            "<line x1=\"\(c(one))\" y1=\"\(c(top - 4))\" x2=\"\(c(one))\" y2=\"\(c(axisY))\" "
            + "stroke=\"#333\" stroke-width=\"1.5\"/>"
        svg += axisLine(axis, y: axisY, label: axisTitle) { RenderNumber.tick($0) + "×" }
        return svg + "</svg>"
    }

    // MARK: - Parts

    private static func open(height: Double, cssClass: String, data: String?, title: String) -> String {
        let dataAttribute = data.map { " data-case=\"\(Markup.xml($0, attribute: true))\"" } ?? ""
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"\(cssClass)\"\(dataAttribute) "
            + "viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\" "
            + "role=\"img\" font-size=\"13\"><title>\(Markup.xml(title))</title>"
    }

    private static func distributionRow(_ row: DistributionRow, axis: LogAxis, y: Double) -> String {
        var svg = "<g>"
        svg += text(
            Markup.xml(row.title), x: 4, y: y + 26, anchor: "start", size: 14, weight: "bold",
            fill: row.colour.stroke)
        svg += text(Markup.xml(row.detail), x: 4, y: y + 44, anchor: "start", size: 12, fill: "#555")
        guard !row.values.isEmpty else {
            return svg + text("no samples", x: plotStart, y: y + 40, anchor: "start", size: 12, fill: "#555") + "</g>"
        }
        svg += histogram(row, axis: axis, base: y + histogramHeight + 2)
        let percentiles = [1.0, 25, 50, 75, 99].map { SampleStatistics.percentile(row.values, $0) }
        let (p1, p25, p50, p75, p99) = (percentiles[0], percentiles[1], percentiles[2], percentiles[3], percentiles[4])
        let middle = y + histogramHeight + 16
        let x = axis.position
        svg +=
            "<title>\(Markup.xml(row.title + ", " + row.detail)): p1 \(RenderNumber.cycles(p1)), "
            + "p25 \(RenderNumber.cycles(p25)), p50 \(RenderNumber.cycles(p50)), p75 \(RenderNumber.cycles(p75)), "
            + "p99 \(RenderNumber.cycles(p99)) cycles per exit</title>"
        svg += line(x(p1), middle, x(p99), middle, colour: row.colour.stroke, width: 1.5)
        svg += line(x(p1), middle - 6, x(p1), middle + 6, colour: row.colour.stroke, width: 1.5)
        svg += line(x(p99), middle - 6, x(p99), middle + 6, colour: row.colour.stroke, width: 1.5)
        svg +=
            "<rect x=\"\(c(x(p25)))\" y=\"\(c(middle - 8))\" width=\"\(c(max(x(p75) - x(p25), 1.5)))\" "
            + "height=\"16\" fill=\"\(row.colour.fill)\" stroke=\"\(row.colour.stroke)\" stroke-width=\"1.5\"/>"
        svg += line(x(p50), middle - 11, x(p50), middle + 11, colour: "#111", width: 3)
        let kept = RenderNumber.grouped(Double(row.values.count))
        let count =
            row.taken > row.values.count
            ? "\(kept) of \(RenderNumber.grouped(Double(row.taken))) samples"
            : "\(kept) samples"
        svg += text("p50 \(RenderNumber.cycles(p50))", x: statsX, y: y + 20, anchor: "start", size: 14, weight: "bold")
        svg += text(
            "p1–p99 \(RenderNumber.cycles(p1))–\(RenderNumber.cycles(p99))", x: statsX, y: y + 38,
            anchor: "start", size: 12, fill: "#333")
        svg += text(count, x: statsX, y: y + 55, anchor: "start", size: 12, fill: "#555")
        return svg + "</g>"
    }

    /// Log-spaced bins as one path, each bar's height its count over the row's largest count.
    private static func histogram(_ row: DistributionRow, axis: LogAxis, base: Double) -> String {
        let low = log10(axis.lower)
        let span = log10(axis.upper) - low
        var counts = [Int](repeating: 0, count: bins)
        for value in row.values {
            let fraction = (log10(max(value, LogAxis.floor)) - low) / span
            counts[CheckedNumber.clamped(fraction * Double(bins), to: 0...(bins - 1), rounding: .towardZero)] += 1
        }
        let tallest = Double(counts.max() ?? 1)
        let binWidth = (axis.end - axis.start) / Double(bins)
        var path = ""
        for (index, count) in counts.enumerated() where count > 0 {
            let height = max(1.5, Double(count) / tallest * histogramHeight)
            let x = axis.start + Double(index) * binWidth
            path += "M\(c(x)) \(c(base))V\(c(base - height))H\(c(x + binWidth - 0.6))V\(c(base))Z"
        }
        return "<path d=\"\(path)\" fill=\"\(row.colour.fill)\" stroke=\"\(row.colour.stroke)\" stroke-width=\"0.6\"/>"
    }

    private static func grid(_ axis: LogAxis, from top: Double, to bottom: Double) -> String {
        axis.ticks.map { line(axis.position($0), top, axis.position($0), bottom, colour: "#e2e2e2", width: 1) }
            .joined()
    }

    private static func axisLine(_ axis: LogAxis, y: Double, label: String, format: (Double) -> String) -> String {
        var svg = line(axis.start, y, axis.end, y, colour: "#666", width: 1)
        for tick in axis.ticks {
            let x = axis.position(tick)
            svg += line(x, y, x, y + 5, colour: "#666", width: 1)
            svg += text(Markup.xml(format(tick)), x: x, y: y + 19, anchor: "middle", size: 12, fill: "#333")
        }
        return svg + text(Markup.xml(label), x: axis.end, y: y + 35, anchor: "end", size: 12, fill: "#555")
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, colour: String, width: Double)
        -> String
    {
        "<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" stroke=\"\(colour)\" "
            + "stroke-width=\"\(c(width))\"/>"
    }

    /// A text element; `content` must already be escaped.
    private static func text(
        _ content: String, x: Double, y: Double, anchor: String, size: Int, weight: String? = nil, fill: String = "#111"
    ) -> String {
        "<text x=\"\(c(x))\" y=\"\(c(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" fill=\"\(fill)\""
            + (weight.map { " font-weight=\"\($0)\"" } ?? "") + ">\(content)</text>"
    }

    private static func c(_ value: Double) -> String {
        RenderNumber.coordinate(value)
    }
}
