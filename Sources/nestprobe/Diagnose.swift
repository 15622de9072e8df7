// `nestprobe diagnose`: the one-shot answer — level, hypervisors, hosting — as text or JSON.

import ArgumentParser
import NestprobeCLI
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Probe

/// Options shared by the commands that probe the live machine.
struct ProbeOptions: ParsableArguments {
    @Flag(
        name: .customLong("no-timing"),
        help: "Skip timing this process's CPUID (the level estimate loses its timing evidence).")
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
            abstract: "Say at which level this machine runs, what is below it, and whether it can host (nested) guests."
        )

        @Flag(help: "Print the diagnosis as JSON (schema Reports/schema/diagnosis-v2.schema.json).")
        var json = false

        @Option(
            name: .shortAndLong, help: "Write the output to this file (atomically) instead of standard output.",
            completion: .file())
        var output: String?

        @Option(
            help: ArgumentHelp(
                "Analyse a saved snapshot instead of this machine: nestprobe JSON (capture), `cpuid -r` output, or a libcpuid raw file (cpuid_tool --save).",
                valueName: "file"),
            completion: .file())
        var snapshot: String?

        @Option(
            name: .customLong("print"),
            help: ArgumentHelp(
                "Print one word and nothing else: level (L0, L1, L2+, undetermined), hypervisor (none, kvm, xen, microsoft, vmware, oracle, ..., unknown), confidence, container, can-host, guests-can-host (yes, no, unknown) or mechanism (vmx, svm, pvm, none).",
                valueName: "field"))
        var printField: DiagnosisField?

        @Option(
            help: ArgumentHelp(
                "Print nothing; answer with the exit code: 0 yes, 8 no, 9 unknown. Questions: vm, bare-metal, nested, container, can-host, guests-can-host.",
                valueName: "question"))
        var check: DiagnosisQuestion?

        @OptionGroup var probe: ProbeOptions

        func validate() throws {
            let modes = [json, printField != nil, check != nil].filter { $0 }.count
            if modes > 1 { throw ValidationError("--json, --print and --check each choose the output; give one") }
            if check != nil && output != nil {
                throw ValidationError("--check prints nothing, so --output has nothing to write")
            }
        }

        func run() throws {
            let diagnosis: Diagnosis
            if let snapshot {
                do { diagnosis = Analyzer.diagnose(try SnapshotFile.load(snapshot)) } catch {
                    throw ExitStatus.fail(error)
                }
            } else {
                diagnosis = Analyzer.diagnose(probe.capture(), readHere: true)
            }
            if let check {
                switch check.answer(diagnosis) {
                case .yes: return
                case .no: throw ExitCode(ExitStatus.answerNo)
                case .unknown: throw ExitCode(ExitStatus.answerUnknown)
                }
            }
            let data: Data
            if let printField {
                data = Data((printField.answer(diagnosis) + "\n").utf8)
            } else if json {
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

extension DiagnosisField: ExpressibleByArgument {}
extension DiagnosisQuestion: ExpressibleByArgument {}
