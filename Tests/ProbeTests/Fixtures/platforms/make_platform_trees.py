#!/usr/bin/env python3
"""Writes one sysfs tree per platform for the firmware, PCI, network and confidential-guest readers (issue 16).

Each tree holds what nestprobe's capture reads on that platform, from each platform's public documentation
and its guests' boot logs: the 36-byte ACPI table headers (ACPI 6.5 §5.2.6; OEM ID, OEM table ID and creator
ID as each VMM's table builder writes them), the SMBIOS type 0 structure (DSP0134 §7.1; Extension Byte 2 at
offset 0x13, bit 4 "virtual machine"), DMI strings, PCI IDs (pci.ids), NIC addresses (the IEEE OUI registry),
/proc/cpuinfo flags, the guest device nodes and one kernel log line. CPUID cannot live in a tree; the tests
add each platform's leaves themselves. Run it again after changing it: `python3 make_platform_trees.py`.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def acpi_header(signature, oem_id, oem_table_id, creator_id, length=36, revision=2, oem_revision=1, creator_revision=1):
    def pad(text, n):
        return text.encode().ljust(n, b" ")[:n]
    return (signature.encode() + struct.pack("<IBB", length, revision, 0) + pad(oem_id, 6) + pad(oem_table_id, 8)
            + struct.pack("<I", oem_revision) + pad(creator_id, 4) + struct.pack("<I", creator_revision))


def smbios_type0(ext2):
    """A BIOS Information structure of SMBIOS 2.4+ (formatted length 0x18), strings omitted."""
    body = bytes([0, 0x18, 0, 0, 1, 2, 0, 0xE8, 3, 0]) + struct.pack("<Q", 0x0000000008000000)
    body += bytes([0x01, ext2, 0, 0, 0xFF, 0xFF])
    assert len(body) == 0x18 and body[0x13] == ext2
    return body + b"\0\0"


def cpuinfo(flags):
    return "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae cx8 apic sep %s\n\n" % " ".join(flags)


def write(tree, path, data):
    full = os.path.join(HERE, tree, path.lstrip("/"))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pci(tree, address, vendor, device, sub_vendor=None, sub_device=None, klass=0):
    folder = "/sys/bus/pci/devices/%s" % address
    write(tree, folder + "/vendor", "0x%04x\n" % vendor)
    write(tree, folder + "/device", "0x%04x\n" % device)
    write(tree, folder + "/subsystem_vendor", "0x%04x\n" % (vendor if sub_vendor is None else sub_vendor))
    write(tree, folder + "/subsystem_device", "0x%04x\n" % (device if sub_device is None else sub_device))
    write(tree, folder + "/class", "0x%06x\n" % klass)


def nic(tree, name, address, assign_type=0):
    write(tree, "/sys/class/net/%s/address" % name, address + "\n")
    write(tree, "/sys/class/net/%s/addr_assign_type" % name, "%d\n" % assign_type)


def dmi(tree, vendor, product, bios):
    write(tree, "/sys/class/dmi/id/sys_vendor", vendor + "\n")
    write(tree, "/sys/class/dmi/id/product_name", product + "\n")
    write(tree, "/sys/class/dmi/id/bios_vendor", bios + "\n")


def topology(tree, cpus):
    """The kernel's CPU topology: cpus is a list of (package, core) per CPU number; siblings share both."""
    write(tree, "/sys/devices/system/cpu/online", "0-%d\n" % (len(cpus) - 1))
    write(tree, "/sys/devices/system/cpu/possible", "0-%d\n" % (len(cpus) - 1))
    for n, (package, core) in enumerate(cpus):
        folder = "/sys/devices/system/cpu/cpu%d/topology" % n
        siblings = [str(m) for m, other in enumerate(cpus) if other == (package, core)]
        write(tree, folder + "/physical_package_id", "%d\n" % package)
        write(tree, folder + "/core_id", "%d\n" % core)
        write(tree, folder + "/thread_siblings_list", ",".join(siblings) + "\n")


def sensors(tree, zones=(), hwmon=()):
    """Thermal zones (by type) and hwmon devices (by name); none of either leaves the class folders absent."""
    for n, kind in enumerate(zones):
        write(tree, "/sys/class/thermal/thermal_zone%d/type" % n, kind + "\n")
    for n, name in enumerate(hwmon):
        write(tree, "/sys/class/hwmon/hwmon%d/name" % n, name + "\n")


def tables(tree, headers):
    for name, header in headers.items():
        write(tree, "/sys/firmware/acpi/tables/" + name, header)


def qemu_tables(tree):
    # QEMU's table builder (hw/acpi/aml-build.c): OEM ID "BOCHS ", OEM table ID "BXPC" + the table's
    # signature, creator "BXPC" — the same under SeaBIOS, OVMF, TDVF and SEV's OVMF, which load QEMU's tables.
    tables(tree, {n: acpi_header(n, "BOCHS", "BXPC" + n, "BXPC") for n in ["DSDT", "FACP", "APIC", "MCFG", "WAET"]})


def build():
    out = {}
    # Firecracker with PCI (its ACPI builder: OEM ID "FIRECK", table IDs "FCVM" + the table, creator "FCAT"),
    # no SMBIOS/DMI at all; the PCIe host bridge 8086:0d57 and virtio-pci functions; a locally administered
    # MAC; a command line that does not name Firecracker, so the firmware and the bus must.
    t = "firecracker"
    tables(t, {"DSDT": acpi_header("DSDT", "FIRECK", "FCVMDSDT", "FCAT"),
               "FACP": acpi_header("FACP", "FIRECK", "FCVMFADT", "FCAT"),
               "APIC": acpi_header("APIC", "FIRECK", "FCVMMADT", "FCAT"),
               "MCFG": acpi_header("MCFG", "FIRECK", "FCMVMCFG", "FCAT")})
    pci(t, "0000:00:00.0", 0x8086, 0x0D57, 0, 0, 0x060000)
    pci(t, "0000:00:01.0", 0x1AF4, 0x1041, klass=0x020000)
    pci(t, "0000:00:02.0", 0x1AF4, 0x1042, klass=0x018000)
    nic(t, "eth0", "02:fc:00:00:00:01", 3)
    write(t, "/proc/cmdline", "console=ttyS0 reboot=k panic=1 pci=realloc\n")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))
    # Two vCPUs in one package, one thread per core (Firecracker's CPUID normaliser writes leaf 0xB to match);
    # no thermal zone, no hwmon device.
    topology(t, [(0, 0), (0, 1)])

    # QEMU/KVM, q35 machine: QEMU's tables, its SMBIOS type 0 with Extension Byte 2 = 0x14 (hw/smbios: TCD/SVVP
    # and "VM"), DMI "QEMU", the fw_cfg device, the Q35 host bridge with QEMU's subsystem 1af4:1100, a
    # pcie-root-port 1b36:000c, a virtio-net 1af4:1041 and the std VGA 1234:1111; MAC 52:54:00 (local).
    t = "qemu-kvm-q35"
    qemu_tables(t)
    write(t, "/sys/firmware/dmi/entries/0-0/raw", smbios_type0(0x14))
    dmi(t, "QEMU", "Standard PC (Q35 + ICH9, 2009)", "EFI Development Kit II / OVMF")
    write(t, "/sys/firmware/qemu_fw_cfg/rev", "3\n")
    pci(t, "0000:00:00.0", 0x8086, 0x29C0, 0x1AF4, 0x1100, 0x060000)
    pci(t, "0000:00:01.0", 0x1234, 0x1111, 0x1AF4, 0x1100, 0x030000)
    pci(t, "0000:00:02.0", 0x1B36, 0x000C, 0x1B36, 0x0000, 0x060400)
    pci(t, "0000:01:00.0", 0x1AF4, 0x1041, 0x1AF4, 0x1100, 0x020000)
    nic(t, "enp1s0", "52:54:00:12:34:56")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))
    # `-smp 4` without sockets/cores/threads: QEMU makes 4 sockets of one single-threaded core each; no sensors.
    topology(t, [(0, 0), (1, 0), (2, 0), (3, 0)])

    # VMware ESXi: the Phoenix-built tables ("PTLTD ") plus VMware's own ("VMWARE", creator "VMW "); SMBIOS
    # type 0 with Extension Byte 2 clear; the 440BX bridge with subsystem 15ad:1976, SVGA II 15ad:0405,
    # vmxnet3 15ad:07b0, PVSCSI 15ad:07c0; OUI 00:50:56.
    t = "vmware"
    tables(t, {"DSDT": acpi_header("DSDT", "PTLTD", "Custom", "MSFT"),
               "FACP": acpi_header("FACP", "INTEL", "440BX", "PTL"),
               "SRAT": acpi_header("SRAT", "VMWARE", "MEMPLUG", "VMW"),
               "WAET": acpi_header("WAET", "VMWARE", "VMW WAET", "VMW")})
    write(t, "/sys/firmware/dmi/entries/0-0/raw", smbios_type0(0x00))
    dmi(t, "VMware, Inc.", "VMware Virtual Platform", "Phoenix Technologies LTD")
    pci(t, "0000:00:00.0", 0x8086, 0x7190, 0x15AD, 0x1976, 0x060000)
    pci(t, "0000:00:0f.0", 0x15AD, 0x0405, klass=0x030000)
    pci(t, "0000:03:00.0", 0x15AD, 0x07B0, klass=0x020000)
    pci(t, "0000:04:00.0", 0x15AD, 0x07C0, klass=0x010700)
    nic(t, "ens160", "00:50:56:9a:0b:1c")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))

    # Hyper-V generation 2: tables "VRTUAL"/"MICROSFT"/"MSFT", DMI "Microsoft Corporation Virtual Machine", no PCI
    # bus (VMBus only), OUI 00:15:5d.
    t = "hyperv-gen2"
    tables(t, {n: acpi_header(n, "VRTUAL", "MICROSFT", "MSFT") for n in ["DSDT", "FACP", "APIC", "WAET", "SRAT"]})
    dmi(t, "Microsoft Corporation", "Virtual Machine", "Microsoft Corporation")
    write(t, "/sys/bus/vmbus/devices/f8615163-df3e-46c5-913f-f2d2f965ed0e/class_id", "{f8615163-df3e-46c5-913f-f2d2f965ed0e}\n")
    nic(t, "eth0", "00:15:5d:01:02:03")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))

    # Xen HVM: hvmloader's tables (OEM "Xen", table "HVM", creator "HVML"), DMI "Xen HVM domU", the i440FX bridge
    # and the Xen platform device 5853:0001, /sys/hypervisor/type, OUI 00:16:3e.
    t = "xen-hvm"
    tables(t, {n: acpi_header(n, "Xen", "HVM", "HVML") for n in ["DSDT", "FACP", "APIC", "HPET"]})
    dmi(t, "Xen", "HVM domU", "Xen")
    write(t, "/sys/hypervisor/type", "xen\n")
    pci(t, "0000:00:00.0", 0x8086, 0x1237, 0x1AF4, 0x1100, 0x060000)
    pci(t, "0000:00:02.0", 0x5853, 0x0001, 0x5853, 0x0001, 0xFF8000)
    nic(t, "eth0", "00:16:3e:5d:aa:01")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))

    # VirtualBox: tables "VBOX  "/"VBOX" + the table, DMI "innotek GmbH VirtualBox", the VGA 80ee:beef and the guest
    # service 80ee:cafe, an emulated Intel PRO/1000 8086:100e; OUI 08:00:27. Its Linux guests see KVM's
    # paravirtual interface by default, so CPUID says "KVMKVMKVM".
    t = "virtualbox"
    tables(t, {n: acpi_header(n, "VBOX", "VBOX" + n[:4], "ASL") for n in ["DSDT", "FACP", "APIC"]})
    dmi(t, "innotek GmbH", "VirtualBox", "innotek GmbH")
    pci(t, "0000:00:02.0", 0x80EE, 0xBEEF, klass=0x030000)
    pci(t, "0000:00:03.0", 0x8086, 0x100E, 0x8086, 0x001E, 0x020000)
    pci(t, "0000:00:04.0", 0x80EE, 0xCAFE, klass=0x088000)
    nic(t, "enp0s3", "08:00:27:4f:11:22")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor"]))

    # An SEV-SNP guest under QEMU/KVM: QEMU's tables through OVMF, the SNP guest driver's /dev/sev-guest, the
    # kernel's boot line, the CPU flags sev sev_es sev_snp; no emulated VGA.
    t = "sev-snp-guest"
    qemu_tables(t)
    dmi(t, "QEMU", "Standard PC (Q35 + ICH9, 2009)", "EFI Development Kit II / OVMF")
    pci(t, "0000:00:00.0", 0x8086, 0x29C0, 0x1AF4, 0x1100, 0x060000)
    pci(t, "0000:00:02.0", 0x1AF4, 0x1041, 0x1AF4, 0x1100, 0x020000)
    write(t, "/dev/sev-guest", "")
    write(t, "/dev/kmsg", "6,412,0,-;Memory Encryption Features active: AMD SEV SEV-ES SEV-SNP\n")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor", "sev", "sev_es", "sev_snp"]))

    # A TDX guest under QEMU/KVM: QEMU's tables through TDVF, /dev/tdx_guest, the tdx_guest flag, the boot line.
    t = "tdx-guest"
    qemu_tables(t)
    dmi(t, "QEMU", "Standard PC (Q35 + ICH9, 2009)", "EFI Development Kit II / OVMF")
    pci(t, "0000:00:00.0", 0x8086, 0x29C0, 0x1AF4, 0x1100, 0x060000)
    pci(t, "0000:00:02.0", 0x1AF4, 0x1041, 0x1AF4, 0x1100, 0x020000)
    write(t, "/dev/tdx_guest", "")
    write(t, "/dev/kmsg", "6,98,0,-;tdx: Guest detected\n")
    write(t, "/proc/cpuinfo", cpuinfo(["hypervisor", "tdx_guest"]))

    # Bare metal (a Dell server): the vendor's tables, SMBIOS Extension Byte 2 clear, Intel functions, a NIC
    # with Intel's OUI: nothing virtual, so the readers must not invent a VM.
    t = "bare-metal-server"
    tables(t, {n: acpi_header(n, "DELL", "PE_SC3", "DELL") for n in ["DSDT", "FACP", "APIC", "MCFG"]})
    write(t, "/sys/firmware/dmi/entries/0-0/raw", smbios_type0(0x0C))
    dmi(t, "Dell Inc.", "PowerEdge R760", "Dell Inc.")
    pci(t, "0000:00:00.0", 0x8086, 0x09A2, 0x1028, 0x0AB2, 0x088000)
    pci(t, "0000:31:00.0", 0x8086, 0x1593, 0x8086, 0x0002, 0x020000)
    nic(t, "eno1", "b4:96:91:aa:bb:cc")
    write(t, "/proc/cpuinfo", cpuinfo(["vmx"]))
    # Two sockets of two cores with two threads each, numbered as Linux does (first threads, then siblings);
    # coretemp per package, the ACPI zone and the two x86_pkg_temp zones, the PSU's and the board's monitors.
    topology(t, [(0, 0), (0, 1), (1, 0), (1, 1)] * 2)
    sensors(t, zones=["acpitz", "x86_pkg_temp", "x86_pkg_temp"], hwmon=["acpitz", "coretemp", "coretemp", "pmbus"])
    return out


if __name__ == "__main__":
    for entry in os.listdir(HERE):
        if os.path.isdir(os.path.join(HERE, entry)):
            shutil.rmtree(os.path.join(HERE, entry))
    build()
    print("wrote", ", ".join(sorted(e for e in os.listdir(HERE) if os.path.isdir(os.path.join(HERE, e)))))
