#!/usr/bin/env python3
"""Checks where unsafe code stands (part of `make lint`): every `unsafe`, `@unsafe` and `nonisolated(unsafe)`
under Sources must be in the KVM layer, Probe's door to the OS or the libcpuid reader, with a `// SAFETY:`
reason near it (or, on an `@unsafe` declaration, its documented promise): at most eight lines above, where
one reason covers a block, or in the first lines of the closure it opens.
docs/ARCHITECTURE.md ("Unsafe code and the OS") says why these places.

    python3 scripts/check-unsafe.py [FOLDER...]      default: Sources; exit 1 on a finding, one line each
"""
import os
import re
import sys

ALLOWED = (
    "Sources/KVM/",
    "Sources/Probe/SystemDoor/",
    "Sources/Probe/CPUIdentity.swift",
)
# Known exceptions, to move behind the C shim's own reader: Bench's copies of the CGuest payload bytes and
# loop rows. A new file here needs a reason in docs/ARCHITECTURE.md.
KNOWN = (
    "Sources/Bench/GuestLayout.swift",
    "Sources/Bench/GuestLoop.swift",
    "Sources/Bench/NestedSVM.swift",
)
KEYWORD = re.compile(r'(?<![\w."])(@unsafe|unsafe)(?![\w"])')
REASON = re.compile(r"//\s*SAFETY\b|///.*\bUnsafe\b")


def code(line):
    """The line without its string literals and its // comment."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def check(folder):
    findings = []
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            for number, line in enumerate(lines, 1):
                if not KEYWORD.search(code(line)):
                    continue
                if not path.startswith(ALLOWED + KNOWN):
                    findings.append(f"{path}:{number}: unsafe outside the KVM layer, Probe's door and the "
                                    "libcpuid reader")
                elif not any(REASON.search(near) for near in lines[max(0, number - 9):number + 3]):
                    findings.append(f"{path}:{number}: unsafe without a // SAFETY: reason just above")
    return findings


if __name__ == "__main__":
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    findings = [f for folder in (sys.argv[1:] or ["Sources"]) for f in check(folder)]
    for finding in findings:
        print(finding)
    sys.exit(1 if findings else 0)
