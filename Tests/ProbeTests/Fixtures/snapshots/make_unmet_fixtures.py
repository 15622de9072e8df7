#!/usr/bin/env python3
"""Writes the fixtures of machines nestprobe had not met (issue 13): bare metal in a cloud, KVM clouds' DMI,
Xen dom0 and PV, look-alike signatures, CPU templates and synthetic models, partial evidence, a
Linux-VServer guest, and `cpuid -1 -r` dumps with cpuid's disclaimer line and without leaf 1.

Facts come from the platforms' public documentation: AWS's bare-metal instance types and their DMI
("Amazon EC2", product "i3.metal"); virt-what's and systemd-detect-virt's DMI tables (RHEV, Nutanix AHV,
UpCloud, innotek VirtualBox, Parallels); Linux's xenfs (/proc/xen/capabilities "control_d" in dom0 only),
/sys/hypervisor/{type,guest_type} and its boot line "Booting paravirtualized kernel on Xen"; Xen's note
that PV guests' CPUID is not trapped without CPUID faulting; VirtualBox's "KVM" paravirtualization
provider; the AMD APM (0x8000_0001 EAX repeats the signature); QEMU's CPU models ("QEMU Virtual CPU
version 2.5+"); Linux-VServer's VxID line in /proc/self/status. Every register value is written here.
Run it again after changing it: `python3 make_unmet_fixtures.py`.
"""
import json
import os

from make_fixtures import (HERE, HYPERVISOR, LEAF1_EDX, NO_KVM, SSE3_ETC, VMX, available, brand_leaves, dmi,
                           intel_cpu, kvm_device, kvm_facts, kvm_leaves, leaf, merge, module, no_dmi, signature_eax,
                           snapshot, timing, unavailable, vendor_leaf, INTEL_NESTED_PARAMS)

LONG_MODE = 1 << 29


def cpuinfo(vendor, family, model, name, flags):
    return available("processor\t: 0\nvendor_id\t: %s\ncpu family\t: %d\nmodel\t\t: %d\nmodel name\t: %s\n"
                     "stepping\t: 1\nflags\t\t: fpu vme de pse tsc msr pae %s\n" % (vendor, family, model, name, flags))


def modules_listing(names):
    return {"/sys/module": available(sorted(names))}


def build():
    out = {}

    # Class 1: an AWS i3.metal instance: Broadwell E5-2686 v4 on its own, no hypervisor bit or leaves;
    # DMI names the cloud and a bare-metal type. kvm_intel loaded, /dev/kvm usable.
    cpu = intel_cpu(0x4F, 1, "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz")
    files, dirs = merge(dmi("Amazon EC2", "i3.metal", "Amazon EC2"), module("kvm_intel", INTEL_NESTED_PARAMS))
    dirs.update(modules_listing(["kvm", "kvm_intel"]))
    supported = [leaf(1, signature_eax(6, 0x4F, 1), 0, SSE3_ETC | VMX | HYPERVISOR, LEAF1_EDX)] + kvm_leaves()
    out["aws-i3-metal"] = snapshot(
        "AWS i3.metal: bare metal in a cloud", cpu, files, dirs, {"/dev/kvm": kvm_device()}, None,
        kvm_facts(supported), ["DMI: Amazon EC2 i3.metal/Not Specified, BIOS 1.0 10/16/2017"], timing(170, 12))

    # Class 1: a Nutanix AHV guest (KVM): bit and KVM leaves, DMI "Nutanix" / "AHV".
    cpu = intel_cpu(0x55, 7, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", vmx=False, hypervisor=True) + kvm_leaves()
    files, dirs = dmi("Nutanix", "AHV", "SeaBIOS")
    out["nutanix-ahv"] = snapshot("Nutanix AHV guest", cpu, files, dirs, dict(NO_KVM), None, None,
                                  ["Hypervisor detected: KVM"], timing(1500, 110))

    # Class 1: a RHEV guest with the hypervisor hidden from CPUID (libvirt <kvm><hidden state='on'/>):
    # only DMI ("Red Hat" / "RHEV Hypervisor") shows the virtual platform. No timing captured.
    cpu = intel_cpu(0x55, 7, "Intel Xeon Processor (Cascadelake)", vmx=False)
    files, dirs = dmi("Red Hat", "RHEV Hypervisor", "SeaBIOS")
    out["rhev-kvm-hidden"] = snapshot("RHEV guest, KVM hidden", cpu, files, dirs, dict(NO_KVM), None, None, [], None)

    # Class 2: Xen dom0 (PV): native CPUID (no bit, VMX visible), xenfs says control_d.
    cpu = intel_cpu(0x55, 4, "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz")
    files, dirs = dmi("Supermicro", "SYS-1029P-WTR", "American Megatrends Inc.")
    files.update({"/sys/hypervisor/type": available("xen\n"), "/proc/xen/capabilities": available("control_d\n"),
                  "/sys/hypervisor/guest_type": available("PV\n"),
                  "/proc/cpuinfo": cpuinfo("GenuineIntel", 6, 0x55, "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz",
                                           "hypervisor")})
    dirs.update(modules_listing(["xen_blkback", "xen_netback", "xenfs"]))
    out["xen-dom0-pv"] = snapshot(
        "Xen dom0", cpu, files, dirs, dict(NO_KVM), None, None,
        ["Booting paravirtualized kernel on Xen", "Xen version: 4.17.3 (preserve-AD)", "Hypervisor detected: Xen PV"],
        timing(160, 10))

    # Class 2: a Xen PV guest (domU): no DMI, no bit, VMX visible (PV CPUID is not trapped), empty capabilities.
    cpu = intel_cpu(0x3F, 2, "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz")
    files, dirs = no_dmi()
    files.update({"/sys/hypervisor/type": available("xen\n"), "/proc/xen/capabilities": available(""),
                  "/sys/hypervisor/guest_type": available("PV\n"),
                  "/proc/cpuinfo": cpuinfo("GenuineIntel", 6, 0x3F, "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz",
                                           "hypervisor"), "/proc/cmdline": available("root=/dev/xvda1 console=hvc0\n")})
    dirs.update(modules_listing(["xen_blkfront", "xen_netfront"]))
    out["xen-pv-domu"] = snapshot(
        "Xen PV guest", cpu, files, dirs, dict(NO_KVM), None, None,
        ["Booting paravirtualized kernel on Xen", "Xen version: 4.11.4-amazon (preserve-AD)",
         "Hypervisor detected: Xen PV"], timing(150, 10))

    # Class 3: a VMware VM with the hypervisor bit hidden (hypervisor.cpuid.v0 = "FALSE") and no timing:
    # DMI proves a virtual platform, the clear bit argues for L0.
    cpu = intel_cpu(0x55, 4, "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", vmx=False)
    files, dirs = dmi("VMware, Inc.", "VMware7,1", "VMware, Inc.")
    out["vmware-bit-hidden"] = snapshot("VMware VM, hypervisor bit hidden", cpu, files, dirs, dict(NO_KVM), None,
                                        None, [], None)

    # Class 5: VirtualBox with its KVM paravirtualization provider, and Parallels presenting KVM.
    cpu = intel_cpu(0x9E, 10, "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", vmx=False, hypervisor=True) + kvm_leaves(0x0100007B)
    files, dirs = dmi("innotek GmbH", "VirtualBox", "innotek GmbH")
    out["virtualbox-kvm-interface"] = snapshot("VirtualBox, KVM paravirt provider", cpu, files, dirs, dict(NO_KVM),
                                               None, None, ["Hypervisor detected: KVM"], timing(2400, 200))
    cpu = intel_cpu(0x9E, 10, "Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz", vmx=False, hypervisor=True) + kvm_leaves(0x0100007B)
    files, dirs = dmi("Parallels Software International Inc.", "Parallels Virtual Platform", "Parallels Software International Inc.")
    out["parallels-kvm-interface"] = snapshot("Parallels presenting KVM", cpu, files, dirs, dict(NO_KVM), None, None,
                                              ["Hypervisor detected: KVM"], timing(2200, 200))

    # Class 9: an AMD EPYC (Genoa, family 19h model 11h) under a CPU template that rewrote leaf 1 to family 6
    # (K7's) while 0x8000_0001 EAX still carries the real signature; and QEMU's synthetic "QEMU Virtual CPU".
    genoa = signature_eax(0x19, 0x11, 1)
    cpu = [vendor_leaf(0x10, "AuthenticAMD"), leaf(1, signature_eax(6, 0x0F, 1), 0x00800800, 0x7ED8320B & ~VMX | HYPERVISOR, 0x178BFBFF),
           leaf(7, 0, 0x219C97A9, 0x0040069C, 0x10), leaf(0x80000000, 0x80000021),
           leaf(0x80000001, genoa, 0, 0x75C237FF & ~4, 0x2FD3FBFF | LONG_MODE)] + brand_leaves("AMD EPYC 9B14") + kvm_leaves()
    files, dirs = dmi("Google", "Google Compute Engine", "Google")
    out["amd-template-family6"] = snapshot("AMD under a family-6 CPU template", cpu, files, dirs, dict(NO_KVM), None,
                                           None, ["Hypervisor detected: KVM"], timing(1600, 100))
    cpu = [vendor_leaf(0xD, "GenuineIntel"), leaf(1, signature_eax(6, 0x0D, 3), 0x00000800, 0x80002001, 0x0781ABFD),
           leaf(0x80000000, 0x80000008), leaf(0x80000001, 0, 0, 0x1, 0x20100800)] \
        + brand_leaves("QEMU Virtual CPU version 2.5+") + kvm_leaves()
    files, dirs = dmi("QEMU", "Standard PC (i440FX + PIIX, 1996)", "SeaBIOS")
    out["qemu-virtual-cpu"] = snapshot("QEMU's synthetic CPU model", cpu, files, dirs, dict(NO_KVM), None, None,
                                       ["Hypervisor detected: KVM"], timing(1300, 90))

    # Class 10: a container-only description (no CPUID at all), and a Linux-VServer guest context.
    snap = snapshot("container only, no CPUID", [], {"/.dockerenv": available(""),
                                                      "/proc/1/cgroup": available("0::/system.slice/docker-3f2a.scope\n")})
    snap["cpuid"] = unavailable("not-captured", "the description holds no CPUID")
    snap["kernelLog"] = unavailable("not-captured", "the description holds no kernel log")
    out["container-only"] = snap
    cpu = intel_cpu(0x3F, 2, "Intel(R) Xeon(R) CPU E5-2650 v3 @ 2.30GHz")
    files, dirs = dmi("Dell Inc.", "PowerEdge R430", "Dell Inc.")
    files["/proc/self/status"] = available("VxID:\t40012\nNxID:\t40012\n")
    out["linux-vserver-guest"] = snapshot("Linux-VServer guest", cpu, files, dirs, dict(NO_KVM), None, None, [],
                                          timing(160, 10))
    return out


def cpuid_r_lines(leaves):
    """`cpuid -1 -r` body lines for a list of leaves."""
    return ["   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x" % (
        int(l["leaf"], 16), int(l["subleaf"], 16), int(l["eax"], 16), int(l["ebx"], 16), int(l["ecx"], 16),
        int(l["edx"], 16)) for l in sorted(leaves, key=lambda l: int(l["leaf"], 16))]


def dumps():
    folder = os.path.join(HERE, "..", "dumps")
    # Class 8 and 4: a bare-metal Sapphire Rapids as `cpuid -1 -r` prints it, disclaimer first.
    spr = intel_cpu(0x8F, 8, "Intel(R) Xeon(R) Platinum 8480+")
    text = ["Disclaimer: cpuid may not support decoding of all cpuid registers.", "CPU:"] + cpuid_r_lines(spr)
    with open(os.path.join(folder, "intel-spr-bare-metal.cpuid-1-r-disclaimer.txt"), "w") as f:
        f.write("\n".join(text) + "\n")
    # Class 8: a dump cut after leaf 0 and the extended leaves: no leaf 1.
    cut = [l for l in spr if l["leaf"] != "0x00000001"]
    with open(os.path.join(folder, "intel-no-leaf1.cpuid-r.txt"), "w") as f:
        f.write("\n".join(["CPU 0:"] + cpuid_r_lines(cut)) + "\n")


if __name__ == "__main__":
    for name, doc in build().items():
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", name + ".json")
    dumps()
    print("wrote the dumps")
