#!/usr/bin/env python3
"""Recomputes the SciPy/NumPy oracles the statistics tests read, and checks the committed files agree.

The Swift tests compare nestprobe's Mann-Whitney, bootstrap, Holm and detectable-change figures with
expected.json files made by independent Python scripts (Tests/ReportTests/Fixtures/*/make_expected.py).
This reruns each script on a copy of its folder with the SciPy and NumPy installed here and compares every
number with the committed file (relative tolerance 1e-9; the bootstrap scripts seed NumPy, so their
figures are reproducible), so a committed oracle can never drift from what SciPy says. Exit 1 on any
difference, naming the file and the JSON path.
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The statistics oracles (SciPy, NumPy) and the change-point oracle (Apache Otava).
FIXTURE_ROOTS = [os.path.join(ROOT, "Tests", target, "Fixtures") for target in ("ReportTests", "HistoryTests")]


def differences(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            yield f"{path}: keys differ ({sorted(set(a) ^ set(b))})"
            return
        for key in a:
            yield from differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: {len(a)} items committed, {len(b)} recomputed"
            return
        for index, (x, y) in enumerate(zip(a, b)):
            yield from differences(x, y, f"{path}[{index}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if not (a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)):
            yield f"{path}: committed {a!r}, recomputed {b!r}"
    elif a != b:
        yield f"{path}: committed {a!r}, recomputed {b!r}"


def main():
    failures = 0
    for fixtures, name in [(root, name) for root in FIXTURE_ROOTS for name in sorted(os.listdir(root))]:
        folder = os.path.join(fixtures, name)
        script = os.path.join(folder, "make_expected.py")
        if not os.path.isfile(script):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            # The copy sits where the original does relative to the fixtures it reads ("..").
            copy = os.path.join(scratch, "Fixtures", name)
            shutil.copytree(fixtures, os.path.join(scratch, "Fixtures"))
            subprocess.run([sys.executable, os.path.join(copy, "make_expected.py")], check=True,
                           stdout=subprocess.DEVNULL)
            with open(os.path.join(folder, "expected.json")) as f:
                committed = json.load(f)
            with open(os.path.join(copy, "expected.json")) as f:
                recomputed = json.load(f)
        found = list(differences(committed, recomputed))
        for line in found[:20]:
            print(f"check-oracles: {name}/expected.json {line}", file=sys.stderr)
        failures += len(found)
        print(f"check-oracles: {name}: {'agrees with' if not found else 'DIFFERS from'} SciPy/NumPy here")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
