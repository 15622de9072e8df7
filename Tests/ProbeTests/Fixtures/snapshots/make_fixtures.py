#!/usr/bin/env python3
"""Writes the snapshot fixtures the analysis tests run on.

Each fixture is a machine described by the facts nestprobe's capture would read there. Register values
follow the vendors' documented layouts (Intel SDM vol. 2A CPUID, vol. 3D appendix A and vol. 4 for the
MSRs; AMD APM vol. 3 appendix E and vol. 2 §15.30; the Hyper-V TLFS §2.4 for 0x4000_0000+; KVM's
Documentation/virt/kvm/x86/cpuid.rst). Timing samples are synthetic, drawn with a fixed seed around
published medians (REFERENCES.md). Run it again after changing it: `python3 make_fixtures.py`.
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def h32(v):
    return "0x%08x" % v


def h64(v):
    return "0x%016x" % v


def regs_from_text(text):
    """Little-endian packing of up to 12 bytes into three registers."""
    raw = text.encode().ljust(12, b"\0")
    return [int.from_bytes(raw[i:i + 4], "little") for i in (0, 4, 8)]


def leaf(l, eax=0, ebx=0, ecx=0, edx=0, sub=0):
    return {"leaf": h32(l), "subleaf": h32(sub), "eax": h32(eax), "ebx": h32(ebx), "ecx": h32(ecx), "edx": h32(edx)}


def vendor_leaf(max_basic, vendor):
    b, d, c = regs_from_text(vendor)  # vendor string is EBX, EDX, ECX
    return leaf(0, max_basic, b, c, d)


def brand_leaves(brand):
    raw = brand.encode().ljust(48, b"\0")
    out = []
    for i in range(3):
        chunk = raw[16 * i:16 * i + 16]
        r = [int.from_bytes(chunk[j:j + 4], "little") for j in (0, 4, 8, 12)]
        out.append(leaf(0x80000002 + i, *r))
    return out


def signature(base, text, max_leaf):
    b, c, d = regs_from_text(text)
    return leaf(base, max_leaf, b, c, d)


def signature_eax(family, model, stepping):
    base_family = family if family < 0xF else 0xF
    ext_family = family - 0xF if family >= 0xF else 0
    return (ext_family << 20) | ((model >> 4) << 16) | (base_family << 8) | ((model & 0xF) << 4) | stepping


VMX = 1 << 5
HYPERVISOR = 1 << 31
SSE3_ETC = 0x7EDA3203  # a typical server leaf 1 ECX without the VMX (5) and hypervisor (31) bits
LEAF1_EDX = 0xBFEBFBFF
SVM = 1 << 2


def intel_cpu(model, stepping, brand, vmx=True, hypervisor=False):
    ecx = SSE3_ETC | (VMX if vmx else 0) | (HYPERVISOR if hypervisor else 0)
    return [vendor_leaf(0x1F, "GenuineIntel"), leaf(1, signature_eax(6, model, stepping), 0x00200800, ecx, LEAF1_EDX),
            leaf(7, 0, 0xF3BFBFFB, 0x1BC05FFE, 0xFC100010),
            leaf(0x80000000, 0x80000008), leaf(0x80000001, 0, 0, 0x00000121, 0x2C100800)] + brand_leaves(brand)


def amd_cpu(family, model, stepping, brand, svm=True, hypervisor=False, svm_leaf=True):
    ecx = 0x7ED8320B & ~VMX | (HYPERVISOR if hypervisor else 0)
    leaves = [vendor_leaf(0x10, "AuthenticAMD"), leaf(1, signature_eax(family, model, stepping), 0x00800800, ecx, 0x178BFBFF),
              leaf(7, 0, 0x219C97A9, 0x0040069C, 0x00000010),
              leaf(0x80000000, 0x80000021), leaf(0x80000001, signature_eax(family, model, stepping), 0, 0x75C237FF & ~SVM | (SVM if svm else 0), 0x2FD3FBFF)]
    if svm_leaf:
        # 0x8000_000A: revision 1, 32768 ASIDs, NPT LbrVirt SVML NRIPS TscRate VmcbClean FlushByAsid
        # DecodeAssists PauseFilter PFThreshold AVIC VMSAVEvirt VGIF (APM vol. 3 E.4.9)
        leaves.append(leaf(0x8000000A, 1, 0x8000, 0, 0x0001BCFF if svm else 0))
    return leaves + brand_leaves(brand)


def kvm_leaves(features=0x01007AFB, base=0x40000000):
    return [signature(base, "KVMKVMKVM", base + 1), leaf(base + 1, features)]


def hyperv_leaves(nested=False, root=False, evmcs=False):
    hints = 0x00020E24 | (1 << 12 if nested else 0) | (1 << 14 if evmcs else 0)
    return [signature(0x40000000, "Microsoft Hv", 0x4000000C), leaf(0x40000001, int.from_bytes(b"Hv#1", "little")),
            leaf(0x40000002, 0x00004A64, 0x000A0000, 0, 0x00000ABD),
            leaf(0x40000003, 0x00002E7F, 0x00003830 | (1 if root else 0), 0x00000002, 0x0EF7B3B6),
            leaf(0x40000004, hints, 0xFFFFFFFF, 0x0000002E, 0), leaf(0x40000005, 0x00000F00, 0x00000F00, 0, 0),
            leaf(0x4000000A, (0x0101 | (1 << 17) | (1 << 19)) if evmcs else 0)]


def timing(median, spread, n=400, seed=1, tsc_hz=2.6e9, source="kernel"):
    rng = random.Random(seed)
    samples = [max(1, int(rng.gauss(median, spread))) for _ in range(n)]
    overhead = [max(1, int(rng.gauss(40, 3))) for _ in range(200)]
    return {"status": "available", "value": {
        "leaf": 0, "subleaf": 0, "warmup": 200, "samplesCycles": samples, "overheadCycles": overhead,
        "pinnedCPU": 0, "tsc": {"hz": tsc_hz, "source": source, "detail": "fixture"}}}


def available(v):
    return {"status": "available", "value": v}


def unavailable(reason, detail):
    return {"status": "unavailable", "reason": reason, "detail": detail}


def dmi(vendor, product, bios="American Megatrends Inc."):
    files = {"/sys/class/dmi/id/sys_vendor": available(vendor + "\n"),
             "/sys/class/dmi/id/product_name": available(product + "\n"),
             "/sys/class/dmi/id/bios_vendor": available(bios + "\n")}
    return files, {"/sys/class/dmi/id": available(["bios_vendor", "product_name", "sys_vendor"])}


def no_dmi():
    return {}, {"/sys/class/dmi/id": unavailable("absent", "opendir /sys/class/dmi/id: ENOENT (No such file or directory)")}


def module(name, params):
    folder = "/sys/module/%s/parameters" % name
    files = {"%s/%s" % (folder, k): available(v + "\n") for k, v in params.items()}
    return files, {folder: available(sorted(params))}


def kvm_device(ok=True, mode="0660", gid=108, group="kvm"):
    node = {"mode": mode, "ownerUID": 0, "groupGID": gid, "groupName": group}
    if not ok:
        node["openError"] = "permission-denied"
        node["openErrorDetail"] = "EACCES (Permission denied)"
    return available(node)


def kvm_facts(supported, caps=None):
    caps = caps or {"KVM_CAP_IMMEDIATE_EXIT": 1, "KVM_CAP_GET_TSC_KHZ": 1, "KVM_CAP_NESTED_STATE": 16384,
                    "KVM_CAP_X86_USER_SPACE_MSR": 1, "KVM_CAP_GET_MSR_FEATURES": 1, "KVM_CAP_IRQCHIP": 1}
    return available({"apiVersion": 12, "capabilities": caps, "supportedCPUID": available(supported),
                      "featureMSRs": available({}), "guestTSCkHz": available(2600000)})


def msrs(pairs):
    return available([{"cpu": 0, "index": h32(i), "name": n, "value": available(h64(v)) if v is not None
                       else unavailable("unsupported", "RDMSR faulted (#GP)")} for i, n, v in pairs])


def snapshot(name, cpuid, files=None, directories=None, devices=None, msr=None, kvm=None, log=None, host=None):
    return {"schema": "nestprobe.snapshot", "version": 1,
            "tool": {"name": "nestprobe", "version": "fixture"}, "capturedAt": "2026-11-26T00:00:00Z",
            "origin": {"kind": "fixture", "detail": name}, "cpuid": available(cpuid), "files": files or {},
            "directories": directories or {}, "devices": devices or {},
            "msrs": msr or unavailable("absent", "/dev/cpu/0/msr does not exist: the msr driver is not loaded"),
            "kvm": kvm or unavailable("absent", "/dev/kvm cannot be opened (see devices)"),
            "kernelLog": available(log or []), "hostTiming": host or unavailable("not-captured", "fixture"),
            "process": available({"euid": 0, "groups": [0]})}


def merge(*pairs):
    files, dirs = {}, {}
    for f, d in pairs:
        files.update(f)
        dirs.update(d)
    return files, dirs


NO_KVM = {"/dev/kvm": unavailable("absent", "stat /dev/kvm: ENOENT (No such file or directory)")}
INTEL_NESTED_PARAMS = {"nested": "Y", "ept": "Y", "enable_shadow_vmcs": "Y", "enable_apicv": "Y", "vpid": "Y",
                       "unrestricted_guest": "Y", "vmentry_l1d_flush": "not required"}


def build():
    out = {}

    # 1. Bare-metal Intel Sapphire Rapids, VT-x enabled in firmware, kvm_intel nested=Y.
    cpu = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) Platinum 8480+")
    cpu.append(leaf(0x40000000, 0x00000001, 0x00000002, 0x00000100, 0))  # Intel echoes the top basic leaf
    files, dirs = merge(dmi("Dell Inc.", "PowerEdge R760", "Dell Inc."), module("kvm_intel", INTEL_NESTED_PARAMS))
    supported = [leaf(1, 0x000806F8, 0, SSE3_ETC | VMX | HYPERVISOR, LEAF1_EDX)] + kvm_leaves()
    out["bare-metal-intel-vmx-nested"] = snapshot(
        "bare metal Intel, VMX on, nested=Y", cpu, files, dirs, {"/dev/kvm": kvm_device()},
        msrs([(0x3A, "IA32_FEATURE_CONTROL", 0x5), (0x480, "IA32_VMX_BASIC", 0x00DA040000000012),
              (0x48B, "IA32_VMX_PROCBASED_CTLS2", 0x33FFFFFF00000000)]),
        kvm_facts(supported), ["DMI: Dell Inc. PowerEdge R760/0T8P0Y, BIOS 1.6.6 09/20/2023"], timing(180, 15))

    # 2. Bare-metal AMD Milan, SVM turned off in firmware (VM_CR.SVMDIS=1, LOCK=1): kvm_amd refused to load.
    cpu = amd_cpu(0x19, 0x01, 1, "AMD EPYC 7763 64-Core Processor")
    files, dirs = dmi("Supermicro", "AS -2124US-TNRP")
    out["bare-metal-amd-svm-locked"] = snapshot(
        "bare metal AMD, SVM disabled by firmware", cpu, files, dirs, dict(NO_KVM),
        msrs([(0xC0000080, "EFER", 0xD01), (0xC0010114, "VM_CR", 0x18), (0xC0010117, "VM_HSAVE_PA", 0)]),
        None, ["kvm_amd: SVM disabled (by BIOS) in MSR_VM_CR on CPU 0"], timing(150, 10))

    # 3. KVM L1 guest (GCE-style, Cascade Lake) with nested VMX offered; kvm_intel loaded inside.
    cpu = intel_cpu(0x55, 7, "Intel(R) Xeon(R) CPU @ 2.80GHz", vmx=True, hypervisor=True) + kvm_leaves()
    files, dirs = merge(dmi("Google", "Google Compute Engine", "Google"), module("kvm_intel", INTEL_NESTED_PARAMS))
    out["kvm-l1-nested-offered"] = snapshot(
        "KVM L1 guest with nested VMX", cpu, files, dirs, {"/dev/kvm": kvm_device()}, None, kvm_facts(supported),
        ["Hypervisor detected: KVM", "DMI: Google Google Compute Engine/Google Compute Engine"], timing(1400, 120))

    # 4. Hyper-V L1 guest (Azure), no nested virtualization offered: no VMX, no /dev/kvm.
    cpu = intel_cpu(0x6A, 6, "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", vmx=False, hypervisor=True) + hyperv_leaves()
    files, dirs = dmi("Microsoft Corporation", "Virtual Machine", "Microsoft Corporation")
    out["hyperv-l1"] = snapshot(
        "Hyper-V L1 guest", cpu, files, dirs, dict(NO_KVM), None, None,
        ["Hypervisor detected: Microsoft Hyper-V", "Hyper-V: privilege flags low 0x2e7f, high 0x3880b0, hints 0x24e24, misc 0xbed7b2"],
        timing(2100, 200))

    # 5. A Hyper-V guest told it runs nested (0x4000_0004 EAX[12]), with eVMCS recommended.
    cpu = intel_cpu(0x6A, 6, "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", vmx=True, hypervisor=True) \
        + hyperv_leaves(nested=True, evmcs=True)
    out["hyperv-nested"] = snapshot(
        "Hyper-V guest running nested", cpu, files, dirs, dict(NO_KVM), None, None,
        ["Hypervisor detected: Microsoft Hyper-V", "Hyper-V: running on a nested hypervisor"], timing(18000, 2500))

    # 6. VMware guest with the timing leaf 0x4000_0010 (TSC 2,100,000 kHz).
    cpu = intel_cpu(0x55, 4, "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", vmx=False, hypervisor=True) + [
        signature(0x40000000, "VMwareVMware", 0x40000010), leaf(0x40000010, 2100000, 66000)]
    files, dirs = dmi("VMware, Inc.", "VMware Virtual Platform", "Phoenix Technologies LTD")
    out["vmware-guest"] = snapshot("VMware guest", cpu, files, dirs, dict(NO_KVM), None, None,
                                   ["Hypervisor detected: VMware"], timing(1900, 150, tsc_hz=2.1e9, source="cpuid-0x40000010"))

    # 7. gVisor sandbox on a KVM VM: gVisor answers CPUID itself; its /proc/version is fixed.
    cpu = intel_cpu(0x55, 7, "Intel(R) Xeon(R) CPU @ 2.20GHz", vmx=False, hypervisor=True)
    files = {"/proc/version": available("Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016\n")}
    dirs = {"/sys/class/dmi/id": unavailable("absent", "opendir /sys/class/dmi/id: ENOENT (No such file or directory)")}
    out["gvisor"] = snapshot("gVisor sandbox", cpu, files, dirs, dict(NO_KVM), None, None,
                             ["Starting gVisor...", "Waiting for children..."], timing(30000, 4000))

    # 8. KVM L1 guest on AWS Nitro without nested virtualization: no VMX, no /dev/kvm.
    cpu = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) Platinum 8488C", vmx=False, hypervisor=True) + kvm_leaves(0x01007AFB)
    files, dirs = dmi("Amazon EC2", "m7i.xlarge", "Amazon EC2")
    out["no-dev-kvm"] = snapshot("KVM L1 guest without nesting", cpu, files, dirs, dict(NO_KVM), None, None,
                                 ["Hypervisor detected: KVM"], timing(1300, 100))

    # 9. Bare-metal Intel where /dev/kvm exists but this user is not in the kvm group.
    cpu = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) Gold 6430")
    files, dirs = merge(dmi("Lenovo", "ThinkSystem SR650 V3", "Lenovo"), module("kvm_intel", INTEL_NESTED_PARAMS))
    snap = snapshot("/dev/kvm not accessible", cpu, files, dirs, {"/dev/kvm": kvm_device(ok=False)}, None,
                    unavailable("absent", "/dev/kvm cannot be opened (see devices)"), [], timing(170, 12))
    snap["process"] = available({"euid": 1000, "groups": [1000]})
    snap["msrs"] = unavailable("permission-denied", "open /dev/cpu/0/msr: EACCES (Permission denied); reading MSRs needs root (CAP_SYS_RAWIO)")
    out["kvm-not-accessible"] = snap

    # 10. Bare-metal Intel with kvm_intel nested=N: KVM works, guests get no VMX.
    cpu = intel_cpu(0x6A, 6, "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz")
    params = dict(INTEL_NESTED_PARAMS, nested="N")
    files, dirs = merge(dmi("HPE", "ProLiant DL380 Gen10 Plus", "HPE"), module("kvm_intel", params))
    no_vmx = [leaf(1, 0x000606A6, 0, SSE3_ETC | HYPERVISOR, LEAF1_EDX)] + kvm_leaves()
    out["kvm-intel-nested-off"] = snapshot(
        "bare metal Intel, nested=N", cpu, files, dirs, {"/dev/kvm": kvm_device()},
        msrs([(0x3A, "IA32_FEATURE_CONTROL", 0x5)]), kvm_facts(no_vmx), [], timing(175, 12))

    # 11. QEMU TCG guest with SVM emulated and kvm_amd nested=1 (the SVM test bed's shape): CPUID does
    # not trap under TCG, so its cost must not count.
    cpu = amd_cpu(0x17, 0x01, 2, "AMD EPYC Processor", svm=True, hypervisor=True) + [
        signature(0x40000000, "TCGTCGTCGTCG", 0x40000001), leaf(0x40000001)]
    files, dirs = merge(dmi("QEMU", "Standard PC (i440FX + PIIX, 1996)", "SeaBIOS"),
                        module("kvm_amd", {"nested": "1", "npt": "1", "nrips": "0", "vls": "0", "vgif": "0", "avic": "0"}))
    svm_supported = [leaf(0x80000001, 0, 0, SVM, 0), leaf(0x8000000A, 1, 0x10, 0, 0x1)] + kvm_leaves()
    out["qemu-tcg-svm"] = snapshot("QEMU TCG guest with SVM", cpu, files, dirs, {"/dev/kvm": kvm_device()}, None,
                                   kvm_facts(svm_supported), ["Hypervisor detected: KVM"], timing(60, 5))

    # 12. A Hyper-V root partition (Windows host with VBS): hypervisor bit and "Microsoft Hv", yet L0.
    cpu = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) w7-2495X", vmx=False, hypervisor=True) + hyperv_leaves(root=True)
    files, dirs = dmi("Dell Inc.", "Precision 7960 Tower", "Dell Inc.")
    out["hyperv-root-partition"] = snapshot("Hyper-V root partition", cpu, files, dirs, dict(NO_KVM), None, None,
                                            [], timing(1200, 100))

    # 13–15 (issue 16): firmware, PCI and confidential-guest facts as a live capture records them (ACPI headers
    # and SMBIOS type 0 as hex, PCI IDs, NIC OUIs only), built with the platform trees' header helpers.
    out.update(firmware_fixtures())
    return out


def _trees():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "trees", os.path.join(HERE, "..", "platforms", "make_platform_trees.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def acpi(headers):
    folder = "/sys/firmware/acpi/tables"
    files = {"%s/%s" % (folder, name): available(h.hex()) for name, h in headers.items()}
    return files, {folder: available(sorted(headers))}


def pci_bus(functions):
    folder = "/sys/bus/pci/devices"
    files = {}
    for address, (vendor, device, sub_vendor, sub_device, klass) in functions.items():
        for name, value in [("vendor", vendor), ("device", device), ("subsystem_vendor", sub_vendor),
                            ("subsystem_device", sub_device)]:
            files["%s/%s/%s" % (folder, address, name)] = available("0x%04x\n" % value)
        files["%s/%s/class" % (folder, address)] = available("0x%06x\n" % klass)
    return files, {folder: available(sorted(functions))}


def nics(addresses):
    files = {"/sys/class/net/%s/address" % n: available(oui) for n, oui in addresses.items()}
    return files, {"/sys/class/net": available(sorted(addresses))}


def firmware_fixtures():
    t = _trees()
    out = {}
    no_smbios = ({"/sys/firmware/dmi/entries/0-0/raw": unavailable("absent", "open /sys/firmware/dmi/entries/0-0/raw: ENOENT (No such file or directory)")}, {})
    no_fw_cfg = ({}, {"/sys/firmware/qemu_fw_cfg": unavailable("absent", "opendir /sys/firmware/qemu_fw_cfg: ENOENT (No such file or directory)")})

    # 13. Firecracker with PCI, root: its signed ACPI tables, no SMBIOS, the 8086:0d57 bridge and virtio functions.
    cpu = intel_cpu(0xCF, 2, "Intel(R) Xeon(R) Processor", vmx=False, hypervisor=True) + kvm_leaves()
    files, dirs = merge(no_dmi(), no_smbios, no_fw_cfg,
                        acpi({n: t.acpi_header(n, "FIRECK", "FCVM" + i, "FCAT") for n, i in
                              [("DSDT", "DSDT"), ("FACP", "FADT"), ("APIC", "MADT"), ("MCFG", "MCFG")]}),
                        pci_bus({"0000:00:00.0": (0x8086, 0x0D57, 0, 0, 0x060000),
                                 "0000:00:01.0": (0x1AF4, 0x1041, 0x1AF4, 0x1041, 0x020000),
                                 "0000:00:02.0": (0x1AF4, 0x1042, 0x1AF4, 0x1042, 0x018000)}),
                        nics({"eth0": "02:fc:00"}))
    files["/proc/cmdline"] = available("console=ttyS0 reboot=k panic=1 pci=realloc\n")
    out["firecracker-acpi-pci"] = snapshot("Firecracker with PCI, read as root", cpu, files, dirs, dict(NO_KVM), None, None,
                                           ["Hypervisor detected: KVM"], timing(1500, 120))

    # 14. An SEV-SNP guest under QEMU/KVM on Genoa: QEMU's tables, the SMBIOS VM bit, fw_cfg, SEV_STATUS = 0x7
    # (SEV, SEV-ES, SNP active), the guest driver's node and the kernel's line.
    cpu = amd_cpu(0x19, 0x11, 1, "AMD EPYC 9654 96-Core Processor", svm=False, hypervisor=True) + kvm_leaves()
    cpu.append(leaf(0x8000001F, 0x0001001B, 0x00000033))
    files, dirs = merge(dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)", "EFI Development Kit II / OVMF"),
                        acpi({n: t.acpi_header(n, "BOCHS", "BXPC" + n, "BXPC") for n in ["DSDT", "FACP", "APIC"]}),
                        pci_bus({"0000:00:00.0": (0x8086, 0x29C0, 0x1AF4, 0x1100, 0x060000),
                                 "0000:00:02.0": (0x1AF4, 0x1041, 0x1AF4, 0x1100, 0x020000)}),
                        nics({"enp0s2": "52:54:00"}))
    files["/sys/firmware/dmi/entries/0-0/raw"] = available(t.smbios_type0(0x14).hex())
    dirs["/sys/firmware/qemu_fw_cfg"] = available(["by_key", "by_name", "rev"])
    dirs["/dev"] = available(["sev-guest"])
    snap = snapshot("SEV-SNP guest", cpu, files, dirs, dict(NO_KVM),
                    msrs([(0xC0000080, "EFER", 0xD01), (0xC0010131, "SEV_STATUS", 0x7)]), None,
                    ["Memory Encryption Features active: AMD SEV SEV-ES SEV-SNP", "Hypervisor detected: KVM"],
                    timing(2400, 200))
    out["sev-snp-guest"] = snap

    # 15. A TDX guest that is read without root: ACPI and SMBIOS are permission-denied; the TDX leaf 0x21
    # signature, the tdx_guest flag and /dev/tdx_guest prove the TD.
    cpu = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) Platinum 8480+", vmx=False, hypervisor=True) + kvm_leaves()
    b, d, c = regs_from_text("IntelTDX    ")
    cpu.append(leaf(0x21, 0, b, c, d))
    denied = "open %s: EACCES (Permission denied)"
    files = {"/sys/firmware/acpi/tables/%s" % n: unavailable("permission-denied", denied % ("/sys/firmware/acpi/tables/" + n))
             for n in ["APIC", "DSDT", "FACP"]}
    files["/sys/firmware/dmi/entries/0-0/raw"] = unavailable("permission-denied", denied % "/sys/firmware/dmi/entries/0-0/raw")
    files["/proc/cpuinfo"] = available("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
                                       "flags\t\t: fpu tsc msr hypervisor tdx_guest\n")
    f2, d2 = merge(dmi("QEMU", "Standard PC (Q35 + ICH9, 2009)", "EFI Development Kit II / OVMF"),
                   pci_bus({"0000:00:00.0": (0x8086, 0x29C0, 0x1AF4, 0x1100, 0x060000)}), nics({"eth0": "52:54:00"}))
    files.update(f2)
    dirs = dict(d2)
    dirs["/sys/firmware/acpi/tables"] = available(["APIC", "DSDT", "FACP"])
    dirs["/dev"] = available(["tdx_guest"])
    snap = snapshot("TDX guest, unprivileged", cpu, files, dirs, dict(NO_KVM), None, None, None, timing(2600, 200))
    snap["kernelLog"] = unavailable("permission-denied", "open /dev/kmsg: EPERM (Operation not permitted)")
    snap["process"] = available({"euid": 1000, "groups": [1000]})
    snap["msrs"] = unavailable("permission-denied", "open /dev/cpu/0/msr: EACCES (Permission denied); reading MSRs needs root (CAP_SYS_RAWIO)")
    out["tdx-guest-unprivileged"] = snap
    out.update(topology_fixtures())
    return out


def cpu_topology(cpus, packages):
    """The kernel's /sys/devices/system/cpu for `cpus` online CPUs in `packages` packages, one thread per core."""
    per_package = cpus // packages
    files = {"/sys/devices/system/cpu/online": available("0-%d\n" % (cpus - 1)),
             "/sys/devices/system/cpu/present": available("0-%d\n" % (cpus - 1))}
    for cpu in range(cpus):
        folder = "/sys/devices/system/cpu/cpu%d/topology/" % cpu
        files[folder + "physical_package_id"] = available("%d\n" % (cpu // per_package))
        files[folder + "core_id"] = available("%d\n" % (cpu % per_package))
        files[folder + "thread_siblings_list"] = available("%d\n" % cpu)
    return files, {"/sys/devices/system/cpu": available(["cpu%d" % cpu for cpu in range(cpus)])}


def topology_fixtures():
    out = {}
    # 16. A KVM guest of 4 vCPUs in one socket on a Xeon Platinum 8259CL (24 cores, 48 threads: AWS's m5), whose
    # VMM copied one CPUID template to every vCPU: leaf 1 and leaf 0xB answer APIC ID 0 on each of them, while the
    # local APICs (and so /proc/cpuinfo's apicid) are 0-3. Per-CPU CPUID read through sched_setaffinity.
    brand = "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"
    cpu = intel_cpu(0x55, 7, brand, vmx=False, hypervisor=True) + kvm_leaves()
    cpu += [leaf(0xB, 0, 1, 0x100, 0), leaf(0xB, 2, 4, 0x201, 0, sub=1), leaf(0xB, 0, 0, 2, 0, sub=2)]
    files, dirs = cpu_topology(4, 1)
    files["/proc/cpuinfo"] = available("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n"
                                       "model name\t: %s\napicid\t\t: 0\ninitial apicid\t: 0\n"
                                       "flags\t\t: fpu tsc msr hypervisor\n" % brand)
    template = [leaf(1, signature_eax(6, 0x55, 7), 0x00040800, SSE3_ETC | HYPERVISOR, LEAF1_EDX),
                leaf(0xB, 0, 1, 0x100, 0)]
    snap = snapshot("KVM guest with one CPUID template for every vCPU", cpu, files, dirs, dict(NO_KVM), None, None,
                    ["Hypervisor detected: KVM"], timing(1500, 120))
    snap["apicIDs"] = available([{"cpu": n, "cpuid": available(template), "via": "sched_setaffinity",
                                  "cpuinfoAPICID": n, "cpuinfoInitialAPICID": n} for n in range(4)])
    out["kvm-apic-template"] = snap
    return out


def write_snapshots(docs):
    """Writes each snapshot as NAME.json beside this script, keys sorted, one space of indent."""
    for name, doc in docs.items():
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", name + ".json")


if __name__ == "__main__":
    write_snapshots(build())
