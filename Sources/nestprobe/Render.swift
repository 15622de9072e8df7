// `nestprobe render`: a bench report as text, Markdown, HTML, Prometheus/OpenMetrics text or JUnit XML,
// on standard output or written atomically to a file.

import ArgumentParser
import Bench
import Foundation
import Probe
import Report

extension Nestprobe {
    /// Renders a bench report for people, dashboards and CI.
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render a bench report as text, Markdown, HTML, OpenMetrics or JUnit XML.",
            discussion: """
                text: the table `nestprobe bench` prints. markdown: the same table with the context and notes. \
                html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched) with each case's \
                latency distribution beside this level's, and the multipliers. openmetrics: Prometheus text \
                (also valid OpenMetrics) for node_exporter's textfile collector or a Pushgateway; the metrics \
                are listed in docs/metrics.md. junit: JUnit XML, one testcase per case.

                Exit codes: 65 the report is not a valid bench report; 66 it is missing or unreadable; \
                73 the output file cannot be written.
                """)

        @Argument(help: ArgumentHelp("A bench report (nestprobe bench -o FILE).", valueName: "report"))
        var report: String

        @Option(name: .shortAndLong, help: "The output format.")
        var format: RenderFormat = .text

        @Option(name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.")
        var output: String?

        func run() throws {
            let loaded: BenchReport
            do { loaded = try ReportFile.load(report) } catch { throw ExitStatus.fail(error) }
            let text = format.render(loaded)
            do { try FileOutput.emit(Data(text.utf8), to: output) } catch {
                throw ExitStatus.fail(error, writing: true)
            }
        }
    }
}

extension RenderFormat: ExpressibleByArgument {}
