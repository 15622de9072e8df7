// `nestprobe diagnose`: the one-shot answer — level, hypervisors, hosting — as text or JSON.

import ArgumentParser
import Foundation
import Probe

/// Options shared by the commands that probe the live machine.
struct ProbeOptions: ParsableArguments {
    @Flag(name: .customLong("no-timing"), help: "Skip timing this process's CPUID (the level estimate loses its timing evidence).")
    var noTiming = false

    @Flag(name: .customLong("no-kvm"), help: "Do not open /dev/kvm (no VM is created).")
    var noKVM = false

    func capture() -> Snapshot {
        var capture = LiveCapture()
        capture.timeCPUID = !noTiming
        capture.askKVM = !noKVM
        return capture.capture()
    }
}

extension Nestprobe {
    struct Diagnose: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say at which level this machine runs, what is below it, and whether it can host (nested) guests.")

        @Flag(help: "Print the diagnosis as JSON (schema Reports/schema/diagnosis-v1.schema.json).")
        var json = false

        @Option(name: .shortAndLong, help: "Write the output to this file (atomically) instead of standard output.")
        var output: String?

        @Option(help: ArgumentHelp(
            "Analyse a saved snapshot instead of this machine: nestprobe JSON (capture), `cpuid -r` output, or a libcpuid raw file (cpuid_tool --save).",
            valueName: "file"))
        var snapshot: String?

        @OptionGroup var probe: ProbeOptions

        func run() throws {
            let diagnosis: Diagnosis
            if let snapshot {
                do { diagnosis = Analyzer.diagnose(try SnapshotFile.load(snapshot)) } catch {
                    throw ExitStatus.fail(error)
                }
            } else {
                diagnosis = Analyzer.diagnose(probe.capture(), readHere: true)
            }
            let data: Data
            if json {
                do {
                    data = try DocumentFile.encodeJSON(diagnosis, from: snapshot ?? "this machine's capture")
                } catch { throw ExitStatus.fail(error) }
            } else {
                let colour = output == nil && FileOutput.colourWanted
                data = Data(DiagnosisText(width: FileOutput.width, colour: colour).render(diagnosis).utf8)
            }
            do { try FileOutput.emit(data, to: output) } catch { throw ExitStatus.fail(error, writing: true) }
        }
    }
}
