// The system and VM ioctls against the real /dev/kvm. Each test prints what it found, so a run on a new
// host doubles as a record of what that host's KVM offers.

import CKVM
import Glibc
import Testing

@testable import KVM

@Suite("KVMDevice and VirtualMachine on /dev/kvm", .requiresKVM)
struct KVMDeviceTests {
    @Test("the device opens and speaks API version 12")
    func apiVersion() throws {
        let device = try KVMDevice()
        #expect(try device.apiVersion() == 12)
        #expect(try device.vcpuMmapSize() >= MemoryLayout<kvm_run>.size)
    }

    @Test("capabilities: user memory is always there; the answers are the same on the VM")
    func capabilities() throws {
        let device = try KVMDevice()
        var lines: [String] = []
        for capability in KVMCapability.reported {
            lines.append("\(capability.name)=\(device.checkExtension(capability))")
        }
        print("KVM capabilities: " + lines.joined(separator: " "))
        #expect(device.checkExtension(.userMemory) > 0)
        #expect(device.checkExtension(.extendedCPUID) > 0)
        let vm = try device.createVM()
        if device.checkExtension(.checkExtensionVM) > 0 {
            #expect(vm.checkExtension(.userMemory) > 0)
        }
        // A number no kernel uses is "not supported", not an error.
        #expect(device.checkExtension(KVMCapability(name: "KVM_CAP_NONE", number: 100_000)) == 0)
    }

    @Test("supported CPUID has leaf 0 and leaf 1, and a vCPU accepts it back")
    func supportedCPUID() throws {
        let device = try KVMDevice()
        let entries = try device.supportedCPUID()
        print("KVM_GET_SUPPORTED_CPUID: \(entries.count) entries")
        #expect(!entries.isEmpty)
        let leaf0 = try #require(entries.first { $0.function == 0 })
        #expect(leaf0.eax >= 1)
        let leaf1 = try #require(entries.first { $0.function == 1 })
        print(
            "CPUID.1 as guests would see it: ECX=\(String(leaf1.ecx, radix: 16)) VMX=\(leaf1.ecx >> 5 & 1) "
                + "hypervisor=\(leaf1.ecx >> 31 & 1)")
        let svm = entries.first { $0.function == 0x8000_0001 }.map { $0.ecx >> 2 & 1 }
        print("CPUID.80000001h SVM as guests would see it: \(svm.map(String.init) ?? "no leaf")")
        let vm = try device.createVM()
        let cpu = try vm.createVCPU()
        try cpu.setCPUID(entries)
    }

    @Test("the MSR index list reads, and feature MSRs read where KVM_CAP_GET_MSR_FEATURES says so")
    func msrLists() throws {
        let device = try KVMDevice()
        let indices = try device.msrIndexList()
        print("KVM_GET_MSR_INDEX_LIST: \(indices.count) MSRs")
        #expect(!indices.isEmpty)
        if device.checkExtension(.msrFeatures) > 0 {
            let features = try device.msrFeatureIndexList()
            let values = try device.featureMSRs(features)
            print("KVM_GET_MSR_FEATURE_INDEX_LIST: \(features.count) MSRs, \(values.count) readable")
            #expect(values.keys.allSatisfy(features.contains))
        } else {
            #expect(throws: KVMError.self) { try device.msrFeatureIndexList() }
        }
    }

    @Test("a VM takes a memory slot, replaces it and removes it")
    func memorySlots() throws {
        let device = try KVMDevice()
        let vm = try device.createVM()
        let first = try GuestMemory(size: 0x10000)
        try vm.setUserMemoryRegion(slot: 0, guestPhysicalAddress: 0, memory: first)
        // A slot that overlaps another's guest range is refused.
        let second = try GuestMemory(size: 0x10000)
        let error = #expect(throws: KVMError.self) {
            try vm.setUserMemoryRegion(slot: 1, guestPhysicalAddress: 0x8000, memory: second)
        }
        #expect(error?.operation == "KVM_SET_USER_MEMORY_REGION" && error?.errno == EEXIST)
        try vm.setUserMemoryRegion(slot: 1, guestPhysicalAddress: 0x10000, memory: second)
        try vm.removeUserMemoryRegion(slot: 1)
        #expect(throws: KVMError.self) { try vm.enableCapability(.userSpaceMSR, args: [1, 2, 3, 4, 5]) }
    }

    @Test("a vCPU's registers round-trip, and its TSC frequency reads where KVM_CAP_GET_TSC_KHZ says so")
    func vcpuState() throws {
        let device = try KVMDevice()
        let vm = try device.createVM()
        let cpu = try vm.createVCPU()
        var registers = try cpu.registers()
        print("reset state: RIP=\(String(registers.rip, radix: 16)) RFLAGS=\(String(registers.rflags, radix: 16))")
        registers.rbx = 0x1234_5678_9abc
        registers.rip = 0x1000
        try cpu.setRegisters(registers)
        #expect(try cpu.registers() == registers)

        var sregs = try cpu.specialRegisters()
        print("reset CS: selector=\(String(sregs.cs.selector, radix: 16)) base=\(String(sregs.cs.base, radix: 16))")
        sregs.cs = .realMode(selector: 0x100, isCode: true)
        try cpu.setSpecialRegisters(sregs)
        let back = try cpu.specialRegisters()
        #expect(back.cs.base == 0x1000 && back.cs.selector == 0x100)

        if device.checkExtension(.getTSCKHz) > 0 {
            let khz = try cpu.tscKHz()
            print("KVM_GET_TSC_KHZ: \(khz) kHz")
            #expect(khz > 0)
        } else {
            #expect(throws: KVMError.self) { try cpu.tscKHz() }
        }
    }

    @Test("guest MSRs read and write through KVM_GET_MSRS / KVM_SET_MSRS")
    func guestMSRs() throws {
        let device = try KVMDevice()
        let vm = try device.createVM()
        let cpu = try vm.createVCPU()
        let sysenterCS: UInt32 = 0x174
        #expect(try cpu.setMSRs([MSREntry(index: sysenterCS, value: 0x10)]) == 1)
        #expect(try cpu.getMSRs([sysenterCS])[sysenterCS] == 0x10)
        // KVM stops at an MSR it does not know: only the ones before it come back.
        let values = try cpu.getMSRs([sysenterCS, 0xdead_beef, 0x175])
        #expect(values == [sysenterCS: 0x10])
    }
}
