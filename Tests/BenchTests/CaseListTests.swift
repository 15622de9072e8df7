// `bench --list`: each case's "exits to" as this machine's KVM module makes it (the bench run's own choice),
// the module read without opening the device, and the static value, said once, where the module is unknown.
// No KVM: fixture folders stand for /sys/module and /proc/modules.

import Foundation
import TestSupport
import Testing

@testable import Bench

@Suite("bench --list: exits to by this machine's KVM module")
struct CaseListTests {
    /// The "exits to" column of `id`'s line.
    static func exitsTo(_ lines: [String], _ id: String) throws -> String {
        let line = try #require(lines.first { $0.dropFirst(2).hasPrefix(id + " ") }, "no line for \(id)")
        let columns = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: true)
        return String(columns[1])
    }

    @Test("under kvm_pvm syscall and page-fault-guest at CPL3 list kernel, under kvm_intel and kvm_amd none")
    func byModule() throws {
        let catalogue = CaseRunner.catalogue
        let pvm = CaseList.lines(catalogue, attribution: .init(module: .kvmPVM))
        let intel = CaseList.lines(catalogue, attribution: .init(module: .kvmIntel))
        #expect(pvm.count == catalogue.count + 1 && intel.count == catalogue.count + 1)
        for id in ["syscall/long64-cpl3", "syscall-iret/long64-cpl3", "page-fault-guest/long64-cpl3"] {
            #expect(try Self.exitsTo(pvm, id) == "kernel", "\(id)")
            #expect(try Self.exitsTo(intel, id) == "none", "\(id)")
        }
        // Every case lists what the bench run would attribute to it under that module.
        let environment = ExitCaseCatalogueTests.environment(.kvmPVM)
        for exitCase in catalogue {
            #expect(try Self.exitsTo(pvm, exitCase.id) == exitCase.exitsTo(in: environment).rawValue, "\(exitCase.id)")
        }
        #expect(pvm.last == intel.last?.replacingOccurrences(of: "kvm_intel", with: "kvm_pvm"))
        let footer = try #require(pvm.last)
        #expect(footer.hasPrefix("exits to: as under this machine's KVM module, kvm_pvm"))
        #expect(footer.contains("syscall/long64-cpl3") && footer.contains("page-fault-guest/long64-cpl3"))
        #expect(!footer.contains("cpuid-0/"), "only the cases whose target depends on the module are named")
    }

    @Test("where the module is unknown the static value is listed, and the last line says so once, with why")
    func unknown() throws {
        let lines = CaseList.lines(
            CaseRunner.catalogue, attribution: .init(module: .unknown, unknownReason: "no /nonexistent/kvm"))
        #expect(try Self.exitsTo(lines, "syscall/long64-cpl3") == "none")
        #expect(lines.filter { $0.contains("module being unknown") }.count == 1)
        #expect(lines.last?.contains("KVM module being unknown (no /nonexistent/kvm)") == true)
    }

    @Test("ids longer than the column are listed whole")
    func longIDs() throws {
        let lines = CaseList.lines(CaseRunner.catalogue, attribution: .init(module: .kvmAMD))
        for exitCase in CaseRunner.catalogue {
            #expect(lines.contains { $0.dropFirst(2).hasPrefix(exitCase.id + " ") }, "\(exitCase.id)")
        }
    }

    @Test("the module comes from /sys/module or /proc/modules, and is unknown without the device or a module")
    func attribution() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("caselist-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sys = folder.appendingPathComponent("module")
        try FileManager.default.createDirectory(
            at: sys.appendingPathComponent("kvm_pvm"), withIntermediateDirectories: true)
        let device = folder.appendingPathComponent("kvm").path
        let modules = folder.appendingPathComponent("modules").path
        try Data("kvm_amd 1 0 - Live 0x0\n".utf8).write(to: URL(fileURLWithPath: modules))

        let missing = CaseList.attribution(devicePath: device, sysModulePath: sys.path, procModulesPath: modules)
        #expect(missing == .init(module: .unknown, unknownReason: "no \(device)"))

        // The device only has to exist: the list never opens it.
        try Data().write(to: URL(fileURLWithPath: device))
        #expect(
            CaseList.attribution(devicePath: device, sysModulePath: sys.path, procModulesPath: modules)
                == .init(module: .kvmPVM))
        let empty = folder.appendingPathComponent("empty").path
        #expect(
            CaseList.attribution(devicePath: device, sysModulePath: empty, procModulesPath: modules)
                == .init(module: .kvmAMD))
        let none = CaseList.attribution(devicePath: device, sysModulePath: empty, procModulesPath: empty)
        #expect(none.module == .unknown)
        #expect(none.unknownReason?.contains("none of kvm_intel, kvm_amd and kvm_pvm") == true)
    }
}

@Suite("bench --list on the command line")
struct CaseListCLITests {
    @Test("bench --list --device without a device lists every case, the static values, and says why once")
    func withoutDevice() throws {
        let (status, out, stderr) = try NestprobeRunner.run(["bench", "--list", "--device", "/nonexistent/kvm"]).parts
        #expect(status == 0, "\(stderr)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == CaseRunner.catalogue.count + 1)
        #expect(try CaseListTests.exitsTo(lines, "page-fault-guest/long64-cpl3") == "none")
        #expect(lines.last?.contains("the KVM module being unknown (no /nonexistent/kvm)") == true)
    }
}
