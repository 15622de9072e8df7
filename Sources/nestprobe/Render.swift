// `nestprobe render`: a bench report as text, Markdown, HTML, Prometheus/OpenMetrics text or JUnit XML,
// on standard output or written atomically to a file.

import ArgumentParser
import NestprobeCLI
import Bench
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
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

        @Argument(
            help: ArgumentHelp("A bench report (nestprobe bench -o FILE).", valueName: "report"),
            completion: .file(extensions: ["json"]))
        var report: String

        @Option(name: .shortAndLong, help: "The output format.")
        var format: RenderFormat = .text

        @Option(
            name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        func run() throws {
            // The report and the rendered text are let go before writing: a 64 MiB report's would otherwise
            // be held beside the bytes being written.
            let data: Data
            do { data = Data(format.render(try ReportFile.load(report)).utf8) } catch { throw ExitStatus.fail(error) }
            do { try FileOutput.emit(data, to: output) } catch {
                throw ExitStatus.fail(error, writing: true)
            }
        }
    }
}

extension RenderFormat: ExpressibleByArgument {}
