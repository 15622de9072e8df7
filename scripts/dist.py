#!/usr/bin/env python3
"""Links the portable nestprobe: two fully static, stripped executables, from the objects of the release build
that is already there (`swift build -c release`, as `make dist` and `make test` run it), so nothing is compiled
a second time. The core `nestprobe` runs every command; `nestprobe history …` runs `nestprobe-history` from
beside it (or from PATH), which alone carries the history store (GRDB with SQLite, postgres-nio, SwiftNIO) and
full Foundation with ICU. The core uses FoundationEssentials only.

SwiftPM links its own nestprobe against the toolchain's shared runtime (16 libraries, found at the build
machine's path) and libcpuid.so. This script takes SwiftPM's link command for the nestprobe executable from the
build manifest (.build/release.yaml) and runs it again with `-static-executable`: the Swift runtime, Foundation,
Dispatch and the C++ runtime come from the toolchain's static archives (usr/lib/swift_static), libcpuid from
Debian's libcpuid.a (libcpuid-dev) and SQLite, for GRDB, from Debian's libsqlite3.a (libsqlite3-dev); glibc is
linked statically too. Then it strips the result and writes its SHA-256 beside it:

  dist/nestprobe-VERSION-linux-x86_64                   the core, static and stripped
  dist/nestprobe-VERSION-linux-x86_64.sha256            its checksum (`sha256sum -c` in dist/ checks it)
  dist/nestprobe-history-VERSION-linux-x86_64           `nestprobe history`'s companion, static and stripped
  dist/nestprobe-history-VERSION-linux-x86_64.sha256    its checksum

Both are stamped with the git revision they were built from (`nestprobe --version` shows it; "-dirty" when
tracked files differ from it, "unknown" without git): the 40 spaces after the marker of Sources/Documents/
Version.swift in the linked executable are overwritten with it.

--keep-unstripped also keeps the unstripped links (…-linux-x86_64.unstripped); --sizes has the linker write a
map and prints what each part of each executable costs (bytes of code and data it brought in, after
--gc-sections).
The glibc warnings of the static link (functions that would load shared NSS or gconv modules at run time) are
printed with what they mean for nestprobe; docs/PORTABLE.md says which of them nestprobe can reach.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIPLE = "x86_64-unknown-linux-gnu"
# The executables, the core first.
EXES = ["nestprobe", "nestprobe-history"]
# Sources/Documents/Version.swift's stamp: this marker and 40 spaces, one string literal.
STAMP_MARKER = b"@(#)nestprobe-git-revision="
STAMP_WIDTH = 40


def version():
    """nestprobe's version, as Sources/Documents/Version.swift states it."""
    with open(os.path.join(REPO, "Sources", "Documents", "Version.swift")) as f:
        found = re.search(r'static let string = "([^"]+)"', f.read())
    if not found:
        sys.exit("dist: no version string in Sources/Documents/Version.swift")
    return found.group(1)


def link_command(manifest, exe):
    """SwiftPM's link command for the executable `exe`, from the llbuild manifest it wrote."""
    key = '"C.%s-%s-release.exe":' % (exe, TRIPLE)
    try:
        with open(manifest) as f:
            lines = f.read().splitlines()
    except OSError as error:
        sys.exit("dist: cannot read %s (%s); run `swift build -c release` first" % (manifest, error.strerror))
    for i, line in enumerate(lines):
        if line.strip() != key:
            continue
        for follow in lines[i + 1:i + 12]:
            if follow.strip().startswith("args: "):
                return json.loads(follow.strip()[len("args: "):])
        break
    sys.exit("dist: %s has no link command for %s; run `swift build -c release` first" % (manifest, exe))


# The toolchain's static archives that Foundation needs, in one linker group. Compiled objects name only the
# modules they import (autolink), and FoundationInternationalization and CoreFoundation call into the ICU of
# _FoundationICU without naming it, so a static link must list the archives itself; swiftc would move `-l`
# options ahead of its own libraries, so they go to the linker through -Xlinker, in this order, inside a group.
FOUNDATION_GROUP = ["Foundation", "FoundationInternationalization", "FoundationEssentials", "_FoundationICU",
                    "_FoundationCollections", "_FoundationCShims", "CoreFoundation", "swiftSynchronization",
                    "swiftDispatch", "dispatch", "BlocksRuntime", "swiftCore", "stdc++", "m"]


def static_command(args, output):
    """The same link, made static: the output renamed, the rpath (meaningless without shared libraries) dropped,
    and the Foundation archives listed in a group."""
    result, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "-o":
            result += ["-o", output]
            skip = True
        elif arg == "-Xlinker" and i + 1 < len(args) and args[i + 1].startswith("-rpath"):
            skip = True
        else:
            result.append(arg)
    group = ["-Xlinker", "--start-group"]
    for library in FOUNDATION_GROUP:
        group += ["-Xlinker", "-l" + library]
    return result + ["-static-executable"] + group + ["-Xlinker", "--end-group"]


# What each input file of the link belongs to, for --sizes: the first pattern that matches its path.
PARTS = [
    ("ICU data and code (_FoundationICU, for Foundation)", r"lib_FoundationICU\.a"),
    ("Foundation (swift-corelibs-foundation, CoreFoundation)", r"lib(Foundation|CoreFoundation)\.a"),
    ("FoundationInternationalization", r"libFoundationInternationalization\.a"),
    ("FoundationEssentials", r"lib(FoundationEssentials|_FoundationCollections|_FoundationCShims)\.a"),
    ("Swift runtime and standard library", r"libswift\w+\.a|swiftrt\.o|lib(dispatch|BlocksRuntime)\.a"),
    ("C++ runtime (libstdc++, libgcc)", r"libstdc\+\+|libgcc|crtbegin|crtend"),
    ("glibc", r"/lib(c|m|pthread|dl|rt|mvec|resolv)(-[0-9.]+)?\.a|/crt[1in]\.o"),
    ("BoringSSL of swift-crypto (CCryptoBoringSSL)", r"/CCryptoBoringSSL(Shims)?\.build/"),
    ("BoringSSL of swift-nio-ssl (CNIOBoringSSL), for postgres-nio", r"/CNIOBoringSSL(Shims)?\.build/"),
    ("swift-crypto (Crypto, _CryptoExtras)", r"/(Crypto|_CryptoExtras|CryptoBoringWrapper)\.build/"),
    ("SQLite (Debian's libsqlite3.a)", r"libsqlite3\.a"),
    ("GRDB", r"/GRDB\w*\.build/"),
    ("libcpuid (Debian's libcpuid.a)", r"libcpuid\.a"),
    ("postgres-nio", r"/(PostgresNIO|_ConnectionPoolModule)\.build/"),
    ("swift-nio, swift-nio-ssl and their helpers", r"/(C?NIO\w*|_NIO\w*|NIO\w*)\.build/"),
    ("swift-log, metrics, atomics, collections, asn1, service-lifecycle, async-algorithms, system",
     r"/(Logging|CoreMetrics|Metrics|Atomics|_AtomicsShims|\w*Collections\w*|InternalCollectionsUtilities|"
     r"ContainersPreview|SwiftASN1|ServiceLifecycle|UnixSignals|AsyncAlgorithms|AsyncStreaming|SystemPackage|"
     r"CSystem|DequeModule|BasicContainers)\.build/"),
    ("swift-argument-parser", r"/ArgumentParser\w*\.build/"),
    ("nestprobe's own modules",
     r"/(Documents|KVM|CKVM|Probe|Bench|CGuest|Report|History|NestprobeCLI|nestprobe|nestprobe_history)\.build/"),
]


def sizes(map_path):
    """Bytes of code and data in the executable from each part, read from a GNU gold map (--sizes)."""
    totals, unknown = {}, {}
    in_memory_map = False
    section = None
    with open(map_path, errors="replace") as f:
        for line in f:
            if line.startswith("Memory map"):
                in_memory_map = True
                continue
            if not in_memory_map:
                continue
            if not line.startswith(" ") and line.strip():
                section = line.split()[0]
                continue
            found = re.match(r"^ (\S+)?\s+0x[0-9a-f]+\s+0x([0-9a-f]+) (/.*)$", line)
            if not found:
                continue
            name = found.group(1) or section or ""
            if name.startswith((".debug", ".bss", ".tbss", ".comment", ".note", ".symtab", ".strtab")):
                continue
            size, path = int(found.group(2), 16), found.group(3)
            part = next((label for label, pattern in PARTS if re.search(pattern, path)), None)
            if part is None:
                unknown[path] = unknown.get(path, 0) + size
                part = "other"
            totals[part] = totals.get(part, 0) + size
    return totals, unknown


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def revision():
    """The git revision of the checkout: the short hash, "-dirty" when tracked files differ from it, "unknown"
    without git or outside a repository."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True)
        return head.stdout.strip() + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def stamp(path, value):
    """Writes `value` over the spaces after the stamp's marker in the executable at `path`."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # The marker stands alone too (Version.swift reads the stamp with it): the stamp is the one followed by
    # the 40 spaces.
    blank = STAMP_MARKER + b" " * STAMP_WIDTH
    at = data.find(blank)
    if at < 0 or data.find(blank, at + 1) >= 0:
        sys.exit("dist: %s holds %s unstamped revision stamp, not one (stamped already?)"
                 % (path, "no" if at < 0 else "more than one"))
    start = at + len(STAMP_MARKER)
    encoded = value.encode("ascii")[:STAMP_WIDTH]
    data[start:start + STAMP_WIDTH] = encoded + b" " * (STAMP_WIDTH - len(encoded))
    with open(path, "wb") as f:
        f.write(data)


def build(exe, options, rev):
    """Links, strips, stamps and checksums one executable; prints its size and, with --sizes, its parts."""
    name = "%s-%s-linux-x86_64" % (exe, version())
    final = os.path.join(options.out, name)
    unstripped = final + ".unstripped"
    command = static_command(link_command(os.path.join(options.build, "release.yaml"), exe), unstripped)
    map_path = final + ".map"
    if options.sizes:
        command += ["-Xlinker", "-Map=" + map_path]
    started = time.monotonic()
    linked = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    warnings = sorted(set(re.findall(r"warning: Using '(\w+)' in statically linked", linked.stdout)))
    if linked.returncode != 0:
        sys.stderr.write(linked.stdout)
        sys.exit("dist: the static link of %s failed (exit %d)" % (exe, linked.returncode))
    link_seconds = time.monotonic() - started
    # Anything the link printed besides glibc's known warnings is shown as it is.
    for line in linked.stdout.splitlines():
        if line.strip() and "in statically linked applications requires at runtime" not in line:
            print("dist: link: %s" % line)
    if warnings:
        print("dist: %s: glibc functions that load NSS modules at run time when called: %s (docs/PORTABLE.md)"
              % (exe, ", ".join(warnings)))
    strip = shutil.which("strip")
    if strip is None:
        sys.exit("dist: no strip (binutils) on PATH")
    subprocess.run([strip, "-o", final, unstripped], check=True)
    stamp(final, rev)
    if options.keep_unstripped:
        stamp(unstripped, rev)
    else:
        os.remove(unstripped)
    with open(final + ".sha256", "w") as f:
        f.write("%s  %s\n" % (sha256(final), name))
    print("dist: %s: %.1f MB stripped, static link %.0f s, revision %s" % (
        os.path.relpath(final, REPO), os.path.getsize(final) / 1e6, link_seconds, rev))
    if options.keep_unstripped:
        print("dist: %s: %.1f MB" % (os.path.relpath(unstripped, REPO), os.path.getsize(unstripped) / 1e6))
    if options.sizes:
        totals, unknown = sizes(map_path)
        os.remove(map_path)
        for part, size in sorted(totals.items(), key=lambda item: -item[1]):
            print("  %6.1f MB  %s" % (size / 1e6, part))
        for path, size in sorted(unknown.items(), key=lambda item: -item[1])[:5]:
            print("      other: %.2f MB %s" % (size / 1e6, path))
        print("  %6.1f MB  in all (code, data, unwind tables and Swift metadata; no symbols or debug info)"
              % (sum(totals.values()) / 1e6))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(REPO, ".build"), help="SwiftPM's build folder")
    parser.add_argument("--out", default=os.path.join(REPO, "dist"), help="where the executables go")
    parser.add_argument("--keep-unstripped", action="store_true", help="keep the unstripped links beside them")
    parser.add_argument("--sizes", action="store_true", help="print what each part of the executables costs")
    parser.add_argument("--only", choices=EXES, help="link only this executable")
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    rev = revision()
    for exe in EXES:
        if options.only in (None, exe):
            build(exe, options, rev)


if __name__ == "__main__":
    main()
