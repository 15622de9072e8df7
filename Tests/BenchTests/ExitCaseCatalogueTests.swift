// The exit-case table, its gates, the runner's plan for each case, the canary and the null-loop arithmetic,
// all without KVM: environments are built by hand for kvm_pvm, kvm_intel and kvm_amd hosts.

import CGuest
import Foundation
import KVM
import Testing

@testable import Bench

@Suite("Exit-case catalogue and gates")
struct ExitCaseCatalogueTests {
    static let everyCapability = Set(KVMCapability.reported)

    static func environment(
        _ module: ExitCaseEnvironment.Module, vendor: ExitCaseEnvironment.Vendor = .amd,
        capabilities: Set<KVMCapability> = everyCapability
    ) -> ExitCaseEnvironment {
        ExitCaseEnvironment(
            vendor: vendor, module: module, capabilities: capabilities, guestHasRDTSCP: module != .kvmPVM,
            hostHypervisorRegisters: [0x4b4d_564b, 0x564b_4d56, 0x4d])
    }

    static func exitCase(_ id: String) throws -> ExitCase {
        try #require(ExitCase.catalogue.first { $0.id == id }, "no case \(id)")
    }

    @Test("ids are unique and stable: name/real, name/long64-cplN, name/svm-inner, name/svm-hv, or name/host")
    func identifiers() {
        let ids = ExitCase.catalogue.map(\.id)
        #expect(Set(ids).count == ids.count)
        for exitCase in ExitCase.catalogue {
            let suffix = exitCase.id.split(separator: "/").last.map(String.init)
            let suffixes: [String?] = ["real", "long64-cpl0", "long64-cpl3", "svm-inner", "svm-hv", "host"]
            #expect(suffixes.contains(suffix), "\(exitCase.id)")
            #expect(exitCase.id.hasPrefix(exitCase.name + "/"))
        }
        #expect(ids.contains("cpuid-0/long64-cpl3"))
        #expect(ids.contains("kvm-run-fixed/host"))
    }

    @Test("CPL0 cases exist in real mode and long mode; CPL3 has only the unprivileged ones")
    func modes() {
        let real = Set(ExitCase.catalogue.filter { $0.timedInGuest && $0.mode == .real }.map(\.name))
        let long0 = Set(ExitCase.catalogue.filter { $0.mode == .long64 && $0.cpl == 0 }.map(\.name))
        // The rows that only say why a case has no meaning at CPL3 (the interrupt cases) aside.
        let long3 = Set(
            ExitCase.catalogue.filter { $0.mode == .long64 && $0.cpl == 3 && $0.notInThisModeReason == nil }
                .map(\.name))
        // CR8 exists only in 64-bit mode.
        #expect(real == long0.subtracting(["cr8-read", "cr8-write"]))
        #expect(
            long3 == [
                "null", "rdtsc", "cpuid-0", "cpuid-hv", "page-fault-first-touch", "mmio-write-user", "mmio-read-user",
                "mmio-write-ioeventfd", "pause", "rdpmc", "syscall", "syscall-iret", "page-fault-guest", "pio-out-user",
                "pio-in-user",
                "pio-kernel", "ipi-self-xapic", "eoi-xapic", "tsc-deadline", "ipi", "ipi-halt",
            ])
        let required: Set = [
            "null", "rdtsc", "cpuid-0", "cpuid-hv", "hypercall", "pio-out-user", "pio-in-user", "pio-kernel",
            "mmio-write-user", "mmio-read-user", "msr-kernel", "msr-user", "msr-write-kernel", "hlt", "cr0-write",
            "cr4-write", "page-fault-first-touch",
        ]
        // At least these (kvm-unit-tests' vmexit and the first nestprobe set); issue 12's cases come on top.
        #expect(long0.isSuperset(of: required), "missing: \(required.subtracting(long0))")
        #expect(ExitCase.catalogue.filter { !$0.timedInGuest }.map(\.name) == ["kvm-run-fixed"])
    }

    @Test("under kvm_pvm no case is gated by the module's name (the CPL0 hypercalls are probed instead)")
    func pvmGates() throws {
        let pvm = Self.environment(.kvmPVM)
        let skipped = ExitCase.catalogue.filter {
            $0.gate(pvm) != nil && !$0.mode.isNestedSVM && $0.notInThisModeReason == nil
        }.map(\.id)
        #expect(skipped.isEmpty)
        #expect(try Self.exitCase("hypercall/long64-cpl0").hangNote?.contains("kvm_pvm") == true)
    }

    @Test(
        "on kvm_intel and kvm_amd with every capability nothing is gated",
        arguments: [
            (ExitCaseEnvironment.Module.kvmIntel, ExitCaseEnvironment.Vendor.intel), (.kvmAMD, .amd),
        ])
    func hardwareGates(_ module: ExitCaseEnvironment.Module, _ vendor: ExitCaseEnvironment.Vendor) {
        let environment = Self.environment(module, vendor: vendor)
        // The three-level cases need SVM offered to guests as well (NestedSVMCatalogueTests); the rows that only
        // say why a case has no meaning in their mode are gated everywhere, by that reason.
        for exitCase in ExitCase.catalogue where !exitCase.mode.isNestedSVM {
            #expect(exitCase.gate(environment) == exitCase.notInThisModeReason, "\(exitCase.id)")
        }
    }

    @Test("a missing capability or an unknown vendor gates the cases that need them, saying which")
    func missingCapabilities() throws {
        let bare = Self.environment(.kvmIntel, vendor: .other, capabilities: [])
        #expect(try Self.exitCase("pio-kernel/real").gate(bare) == "KVM does not offer KVM_CAP_IRQCHIP here")
        #expect(
            try Self.exitCase("msr-user/long64-cpl0").gate(bare) == "KVM does not offer KVM_CAP_X86_USER_SPACE_MSR here"
        )
        #expect(try Self.exitCase("kvm-run-fixed/host").gate(bare) == "KVM does not offer KVM_CAP_IMMEDIATE_EXIT here")
        #expect(try Self.exitCase("hypercall/long64-cpl0").gate(bare)?.contains("neither an Intel nor an AMD") == true)
        #expect(try Self.exitCase("cpuid-0/real").gate(bare) == nil)
    }

    @Test("an MSR or instruction the guests' CPUID does not offer gates its case, naming the feature bit")
    func missingGuestFeatures() throws {
        var bare = Self.environment(.kvmIntel, vendor: .intel)
        bare.guestFeatures = []
        #expect(try Self.exitCase("xsetbv/real").gate(bare)?.contains("CPUID 1 ECX[26]") == true)
        #expect(try Self.exitCase("msr-tsc-adjust-read/long64-cpl0").gate(bare)?.contains("IA32_TSC_ADJUST") == true)
        #expect(try Self.exitCase("msr-spec-ctrl-write/real").gate(bare)?.contains("IA32_SPEC_CTRL") == true)
        #expect(try Self.exitCase("msr-pred-cmd-write/real").gate(bare)?.contains("IA32_PRED_CMD") == true)
        #expect(
            try Self.exitCase("msr-kernel-gs-base-write/long64-cpl0").gate(bare)?.contains("KERNEL_GS_BASE") == true)
        #expect(try Self.exitCase("cr8-read/long64-cpl0").gate(bare) == nil)
    }

    @Test("the features come from KVM's supported CPUID, AMD's spec-control bits included")
    func guestFeaturesFromCPUID() {
        func entry(_ function: UInt32, ebx: UInt32 = 0, ecx: UInt32 = 0, edx: UInt32 = 0) -> KVMCPUIDEntry {
            KVMCPUIDEntry(function: function, eax: 0, ebx: ebx, ecx: ecx, edx: edx)
        }
        #expect(GuestFeature.offered(in: []).isEmpty)
        let intel = [entry(1, ecx: 1 << 26), entry(7, ebx: 1 << 1, edx: 1 << 26), entry(0x8000_0001, edx: 1 << 29)]
        #expect(GuestFeature.offered(in: intel) == Set(GuestFeature.allCases))
        // AMD: IBRS without IBPB gives SPEC_CTRL and no PRED_CMD; IBPB alone gives PRED_CMD only.
        #expect(GuestFeature.offered(in: [entry(0x8000_0008, ebx: 1 << 14)]) == [.specCtrl])
        #expect(GuestFeature.offered(in: [entry(0x8000_0008, ebx: 1 << 12)]) == [.predCmd])
        #expect(GuestFeature.offered(in: [entry(0x8000_0008, ebx: 1 << 24)]) == [.specCtrl])
    }

    @Test("the hypercall is vmcall on Intel and vmmcall on AMD")
    func hypercallInstruction() {
        #expect(ExitCase.Body.hypercall.loop(vendor: .intel, mode: .real) == GuestLoop.number(of: "vmcall", in: .guest))
        #expect(ExitCase.Body.hypercall.loop(vendor: .amd, mode: .real) == GuestLoop.number(of: "vmmcall", in: .guest))
        // The guest's guest runs under an AMD mini-hypervisor whatever the host's vendor says.
        #expect(
            ExitCase.Body.hypercall.loop(vendor: .intel, mode: .svmInner) == GuestLoop.number(of: "vmmcall", in: .guest)
        )
        let intel = CaseRunner(devicePath: "/nonexistent", environment: Self.environment(.kvmIntel, vendor: .intel))
        #expect(intel.mechanism(of: ExitCase.catalogue.first { $0.name == "hypercall" }!).contains("vmcall"))
    }

    @Test("iterations are capped by the sample buffer, and real-mode first touch by its 128 pages")
    func sampleCounts() throws {
        #expect(CaseRunner.sampleCounts(try Self.exitCase("rdtsc/real"), iterations: 100_000, warmup: 5) == (16384, 5))
        #expect(CaseRunner.sampleCounts(try Self.exitCase("rdtsc/long64-cpl0"), iterations: 0, warmup: -1) == (1, 0))
        let touch = try Self.exitCase("page-fault-first-touch/real")
        #expect(CaseRunner.sampleCounts(touch, iterations: 1000, warmup: 100) == (96, 32))
        let longTouch = try Self.exitCase("page-fault-first-touch/long64-cpl3")
        #expect(CaseRunner.sampleCounts(longTouch, iterations: 1000, warmup: 100) == (1000, 100))
    }

    @Test("the plan gives each case the VM features and operands it needs")
    func plans() throws {
        let runner = CaseRunner(devicePath: "/nonexistent", environment: Self.environment(.kvmAMD))
        func plan(_ id: String) throws -> GuestPlan {
            try runner.plan(for: Self.exitCase(id), counts: (10, 2), cpuid: [])
        }
        #expect(try plan("msr-user/real").userSpaceMSR)
        #expect(try plan("msr-user/real").parameters.operandA == ExitCase.unknownMSR)
        #expect(try !plan("msr-kernel/real").userSpaceMSR)
        #expect(try plan("pio-kernel/long64-cpl0").inKernelPIT)
        #expect(try !plan("pio-out-user/long64-cpl0").inKernelPIT)
        #expect(try plan("page-fault-first-touch/long64-cpl3").touchPages == 12)
        #expect(try plan("page-fault-first-touch/real").parameters.segment == 0x2000)
        #expect(try plan("mmio-read-user/real").parameters.segment == 0xE000)
        #expect(try plan("mmio-read-user/long64-cpl0").parameters.address == 0xE0000)
        #expect(try plan("cpuid-hv/long64-cpl3").parameters.operandA == 0x4000_0000)
        #expect(try plan("null/real").parameters.operandA == UInt32(ExitCase.nullBatch))
        #expect(try plan("hypercall/real").parameters.loop == GuestLoop.number(of: "vmmcall", in: .guest))
        #expect(try plan("rdtsc/real").parameters.useRDTSCP)
    }

    @Test("the canary reads back as its text, replaces KVM's signature and sets RDTSCP to match the loops")
    func canary() {
        #expect(CPUIDCanary.text(CPUIDCanary.registers) == "NestprobeCan")
        let kvm = KVMCPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4b4d_564b, ecx: 0x564b_4d56, edx: 0x4d)
        let extended = KVMCPUIDEntry(function: 0x8000_0001, edx: 0x2000_0000)
        let table = CPUIDCanary.guestTable(from: [kvm, extended], rdtscp: true)
        #expect(table.count == 2)
        #expect(table[0].eax == 0x4000_0001 && [table[0].ebx, table[0].ecx, table[0].edx] == CPUIDCanary.registers)
        #expect(table[1].edx == 0x2800_0000)
        #expect(CPUIDCanary.guestTable(from: [extended], rdtscp: false)[0].edx == 0x2000_0000)
        #expect(CPUIDCanary.install(in: []).first?.function == 0x4000_0000)
        let host: [UInt32] = [kvm.ebx, kvm.ecx, kvm.edx]
        #expect(CPUIDCanary.attribute(seen: CPUIDCanary.registers, host: host) == .thisLevel)
        #expect(CPUIDCanary.attribute(seen: host, host: host) == .levelBelow)
        #expect(CPUIDCanary.attribute(seen: [1, 2, 3], host: host) == .notApplicable)
    }

    @Test("cycles per null-loop iteration: median less the rdtsc median, over the batch")
    func nullLoop() {
        func outcome(_ cycles: [UInt64], perSample: Int) -> CaseOutcome {
            CaseOutcome(
                caseID: "null/real", mode: .real, cpl: 0, exitsTo: .none, attribution: .notApplicable, mechanism: "",
                result: .success(CaseSamples(cycles: cycles, exitsPerSample: perSample, warmup: 0, timedInGuest: true)),
                wallNanoseconds: 0)
        }
        let null = outcome([6500, 6400, 6600], perSample: 64)
        let rdtsc = outcome([100, 100, 99, 101], perSample: 1)
        #expect(null.cyclesPerLoopIteration(overhead: rdtsc) == 100)
        #expect(null.cyclesPerLoopInstruction(overhead: rdtsc) == 50)
        #expect(null.cyclesPerLoopIteration() == 6500.0 / 64)
    }

    @Test("the default sampling takes fewer samples where the guest is emulated")
    func defaultSampling() throws {
        let pvm = Self.environment(.kvmPVM)
        let amd = Self.environment(.kvmAMD)
        #expect(try Self.exitCase("null/real").defaultSampling(in: pvm) == (100, 10))
        #expect(try Self.exitCase("null/long64-cpl3").defaultSampling(in: pvm) == (2000, 200))
        #expect(try Self.exitCase("cpuid-0/long64-cpl0").defaultSampling(in: pvm) == (1000, 100))
        #expect(try Self.exitCase("cpuid-0/long64-cpl0").defaultSampling(in: amd) == (2000, 200))
    }

    @Test("an emulation failure names the instruction bytes KVM could not emulate")
    func emulationFailure() {
        // What kvm_pvm reports for rdtscp (0f 01 f9) in a real-mode guest: flags 1, size 15, then the bytes.
        let data: [UInt64] = [0x1, 0x66e8_ae0f_f901_0f0f, 0x0030_0c3e_8366_f029, 0x1000]
        #expect(
            CaseRunner.describeInternalError(1, data: data)
                == "KVM internal error 1 (emulation failure: KVM could not emulate an instruction) at instruction "
                + "bytes 0f 01 f9 0f ae e8 66 29 f0 66 83 3e 0c 30 00")
        #expect(CaseRunner.describeInternalError(3, data: [0x80]).hasSuffix(", data [0x80]"))
    }

    @Test("the vendor string and the loaded module are read as the probe reads them")
    func environmentReaders() throws {
        #expect(ExitCaseEnvironment.Vendor(vendorString: "GenuineIntel") == .intel)
        #expect(ExitCaseEnvironment.Vendor(vendorString: "HygonGenuine") == .amd)
        #expect(ExitCaseEnvironment.Vendor(vendorString: "VIA VIA VIA ") == .other)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestprobe-modules-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("kvm"), withIntermediateDirectories: true)
        let noProc = root.appendingPathComponent("no-such-modules").path
        #expect(ExitCaseEnvironment.Module.detect(sysModulePath: root.path, procModulesPath: noProc) == .unknown)
        // /sys/module hidden: /proc/modules still names the module.
        let procModules = root.appendingPathComponent("modules")
        try "kvm 1409024 1 kvm_pvm, Live 0x0\nkvm_pvm 2527232 0 - Live 0x0\n".write(
            to: procModules, atomically: true, encoding: .utf8)
        #expect(
            ExitCaseEnvironment.Module.detect(sysModulePath: root.path, procModulesPath: procModules.path) == .kvmPVM)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("kvm_amd"), withIntermediateDirectories: true)
        #expect(ExitCaseEnvironment.Module.detect(sysModulePath: root.path, procModulesPath: noProc) == .kvmAMD)
    }
}
