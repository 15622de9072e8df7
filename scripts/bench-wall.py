#!/usr/bin/env python3
"""Times the default `nestprobe bench` as a user sees it: the wall time of each run and the time to its first
figure (the first progress line on standard error that carries a number), against issue 12's goals (<= 3 s
wall, <= 1 s to the first figure). Each run holds the KVM lock the tests use, so it never overlaps them.

    python3 scripts/bench-wall.py --bin .build/release/nestprobe [--runs 5] [-- EXTRA BENCH ARGS]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

LOCK = "/tmp/nestprobe-kvm.lock"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the nestprobe binary")
    parser.add_argument("--runs", type=int, default=5, help="how many benches (default 5)")
    parser.add_argument("extra", nargs="*", help="more arguments for bench, after --")
    args = parser.parse_args()
    walls, firsts = [], []
    with tempfile.TemporaryDirectory(prefix="nestprobe-bench-wall-") as folder:
        for run in range(1, args.runs + 1):
            # Take the lock first, so the wall time is the bench's own and not a wait for someone else's.
            with open(LOCK, "a") as lock:
                subprocess.run(["flock", str(lock.fileno())], pass_fds=(lock.fileno(),), check=True)
                began = time.monotonic()
                child = subprocess.Popen([args.bin, "bench", "-o", os.path.join(folder, "r.json")] + args.extra,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                first, line_seen = None, ""
                for line in child.stderr:
                    if first is None and any(c.isdigit() for c in line):
                        first, line_seen = time.monotonic() - began, line.strip()
                code = child.wait()
                wall = time.monotonic() - began
            if code != 0 or first is None:
                sys.exit(f"bench-wall: run {run}: bench exited {code}" + ("" if first else ", no figure printed"))
            walls.append(wall)
            firsts.append(first)
            print(f"run {run}: wall {wall:.2f} s, first figure {first:.3f} s ({line_seen[:70]}), "
                  f"load {os.getloadavg()[0]:.1f}")
    print(f"wall: median {statistics.median(walls):.2f} s, range {min(walls):.2f}-{max(walls):.2f} s (goal <= 3 s); "
          f"first figure: median {statistics.median(firsts):.3f} s, max {max(firsts):.3f} s (goal <= 1 s)")


if __name__ == "__main__":
    main()
