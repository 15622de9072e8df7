#!/usr/bin/env python3
"""Speed and memory of `nestprobe fleet`: the goal is 10,000 reports in ≤ 10 s and ≤ 500 MB peak RSS.

Makes a fleet with scripts/make-fleet-reports.py (default 2,000 hosts × 5 bench reports = 10,000 reports,
about 15 kB each, in 20 machine groups with one host twice as slow in each), then runs `nestprobe fleet DIR` as
many times as asked (text to a file) under GNU time (`/usr/bin/time -v`), and prints each run's wall
seconds and maximum resident set size, then the median and the spread (min–max) of both, and whether the
goal was met. The fleet's own verdict is checked too: exit 0 and one outlier per group.
Usage: Benchmarks/Fleet/fleet-bench.py --bin .build/release/nestprobe [--runs 3] [--hosts 2000]
       [--reports-per-host 5] [--keep DIR]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_once(binary, folder, output):
    done = subprocess.run(["/usr/bin/time", "-v", binary, "fleet", folder, "--json", "-o", output],
                          capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if not wall or not rss:
        sys.exit("fleet-bench: no GNU time figures in:\n" + done.stderr)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return done.returncode, seconds, int(rss.group(1)) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "nestprobe"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--reports-per-host", type=int, default=5)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--keep", help="make the fleet here (reused when it exists) instead of a scratch folder")
    args = parser.parse_args()
    if not os.path.exists("/usr/bin/time"):
        sys.exit("fleet-bench: needs GNU time (/usr/bin/time; Debian's package time)")
    scratch = None if args.keep else tempfile.mkdtemp(prefix="nestprobe-fleet-bench-")
    folder = args.keep or os.path.join(scratch, "fleet")
    try:
        if not os.path.isdir(folder):
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make-fleet-reports.py"), folder,
                            "--hosts", str(args.hosts), "--reports-per-host", str(args.reports_per_host),
                            "--groups", str(args.groups)], check=True)
        reports = args.hosts * args.reports_per_host
        output = os.path.join(scratch or tempfile.gettempdir(), "fleet-bench.json")
        walls, peaks = [], []
        for index in range(args.runs):
            status, wall, peak = run_once(args.bin, folder, output)
            with open(output) as f:
                document = json.load(f)
            if status != 0 or document["reports"] != reports or document["outliers"] != args.groups:
                sys.exit("fleet-bench: run %d: exit %d, %d reports, %d outliers (expected 0, %d, %d)" % (
                    index + 1, status, document["reports"], document["outliers"], reports, args.groups))
            walls.append(wall)
            peaks.append(peak)
            print("run %d: %.2f s wall, %.0f MiB max RSS" % (index + 1, wall, peak))
        print("fleet over %d reports (%d hosts): wall median %.2f s (%.2f–%.2f), max RSS median %.0f MiB (%.0f–%.0f)"
              % (reports, args.hosts, statistics.median(walls), min(walls), max(walls), statistics.median(peaks),
                 min(peaks), max(peaks)))
        met = statistics.median(walls) <= 10 and max(peaks) <= 500
        print("goal (≤ 10 s, ≤ 500 MB): %s" % ("met" if met else "NOT met"))
        return 0 if met else 1
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
