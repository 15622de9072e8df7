// `diagnose --print FIELD` and `diagnose --check QUESTION`: one word, or an exit code alone.

import Foundation
import TestSupport
import Testing

@testable import Probe

@Suite("diagnose scripting mode")
struct ScriptingCLITests {
    static func fixture(_ name: String) throws -> String {
        try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/snapshots/\(name).json")).path
    }

    @Test(
        "--print level / hypervisor / can-host: one word and a newline",
        arguments: [
            ("kvm-l1-nested-offered", "level", "L1"), ("kvm-l1-nested-offered", "hypervisor", "kvm"),
            ("hyperv-nested", "level", "L2+"), ("aws-i3-metal", "level", "L0"), ("aws-i3-metal", "hypervisor", "none"),
            ("xen-pv-domu", "hypervisor", "xen"), ("kvm-l1-nested-offered", "can-host", "yes"),
            ("container-only", "level", "undetermined"), ("container-only", "container", "docker"),
            ("bare-metal-intel-vmx-nested", "mechanism", "vmx"),
        ])
    func printField(name: String, field: String, word: String) throws {
        let (status, out, err) = try NestprobeRunner.outputs([
            "diagnose", "--snapshot", Self.fixture(name), "--print", field,
        ])
        #expect(status == 0, "\(err)")
        #expect(out == word + "\n")
    }

    @Test(
        "--check answers with 0 yes, 8 no, 9 unknown, printing nothing",
        arguments: [
            ("kvm-l1-nested-offered", "vm", Int32(0)), ("aws-i3-metal", "vm", 8), ("container-only", "vm", 9),
            ("aws-i3-metal", "bare-metal", 0), ("hyperv-nested", "nested", 0), ("kvm-l1-nested-offered", "nested", 8),
            ("container-only", "container", 0), ("aws-i3-metal", "can-host", 0), ("xen-pv-domu", "can-host", 8),
            ("kvm-l1-nested-offered", "guests-can-host", 0), ("vmware-bit-hidden", "can-host", 8),
        ])
    func check(name: String, question: String, code: Int32) throws {
        let (status, out, err) = try NestprobeRunner.outputs([
            "diagnose", "--snapshot", Self.fixture(name), "--check", question,
        ])
        #expect(status == code, "\(err)")
        #expect(out.isEmpty && err.isEmpty)
    }

    @Test("a CPUID dump cannot say whether guests can host: 9, not 8")
    func dumpIsUnknown() throws {
        let dump = try CPUIDDumpFixture.url(CPUIDDumpFixture.cpuidTool).path
        let (status, _, _) = try NestprobeRunner.outputs(["diagnose", "--snapshot", dump, "--check", "guests-can-host"])
        #expect(status == 9)
    }

    @Test("--print with --json, or an unknown field: usage error 64 with one line")
    func usage() throws {
        let path = try Self.fixture("aws-i3-metal")
        let (both, _, bothErr) = try NestprobeRunner.outputs([
            "diagnose", "--snapshot", path, "--json", "--print", "level",
        ])
        #expect(both == 64)
        #expect(bothErr.contains("--print"))
        let (bad, _, _) = try NestprobeRunner.outputs(["diagnose", "--snapshot", path, "--print", "colour"])
        #expect(bad == 64)
    }
}
