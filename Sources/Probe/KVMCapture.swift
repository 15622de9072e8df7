// KVMCapture: asks /dev/kvm what it offers — API version, capabilities, the CPUID and feature MSRs it
// would give guests, and a vCPU's TSC frequency — through the typed handles of the KVM module.

import KVM

/// Reads what /dev/kvm answers into `KVMFacts`.
public enum KVMCapture {
    /// Opens the device and reads everything; unavailable with the errno when it cannot be opened.
    public static func capture(path: String = "/dev/kvm") -> Fact<KVMFacts> {
        let device: KVMDevice
        do { device = try KVMDevice(path: path) } catch { return unavailable(error) }
        let version: Int32
        do { version = try device.apiVersion() } catch { return unavailable(error) }
        var capabilities: [String: Int32] = [:]
        for capability in KVMCapability.reported { capabilities[capability.name] = device.checkExtension(capability) }
        let supported: Fact<[CPUIDLeaf]>
        do {
            supported = .available(
                try device.supportedCPUID().map {
                    CPUIDLeaf(leaf: $0.function, subleaf: $0.index, eax: $0.eax, ebx: $0.ebx, ecx: $0.ecx, edx: $0.edx)
                })
        } catch { supported = unavailable(error) }
        let featureMSRs: Fact<[String: UInt64Hex]>
        if capabilities[KVMCapability.msrFeatures.name, default: 0] == 0 {
            featureMSRs = .unavailable(.unsupported, "KVM_CAP_GET_MSR_FEATURES is not offered")
        } else {
            do {
                let indices = try device.msrFeatureIndexList()
                let values = try device.featureMSRs(indices)
                var named: [String: UInt64Hex] = [:]
                for (index, value) in values { named[HexWord.format32(index)] = UInt64Hex(value) }
                featureMSRs = .available(named)
            } catch { featureMSRs = unavailable(error) }
        }
        let tsc: Fact<UInt32>
        if capabilities[KVMCapability.getTSCKHz.name, default: 0] == 0 {
            tsc = .unavailable(.unsupported, "KVM_CAP_GET_TSC_KHZ is not offered")
        } else {
            do {
                let vm = try device.createVM()
                let vcpu = try vm.createVCPU(id: 0)
                tsc = .available(try vcpu.tscKHz())
            } catch { tsc = unavailable(error) }
        }
        return .available(
            KVMFacts(
                apiVersion: version, capabilities: capabilities, supportedCPUID: supported, featureMSRs: featureMSRs,
                guestTSCkHz: tsc))
    }

    static func unavailable<T>(_ error: KVMError) -> Fact<T> {
        .unavailable(UnavailableReason(errno: error.errno), error.description)
    }
}
