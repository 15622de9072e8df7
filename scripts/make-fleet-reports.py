#!/usr/bin/env python3
"""Makes a fleet of bench reports for `nestprobe fleet`: the tests' fixture and the benchmark's 10,000.

Each report is Fuzz/seeds/report/small.json (a real kvm_pvm report, 12 kept samples a case) with the two
port-I/O key exits added (cloned from cpuid-0/long64-cpl0) and every key exit scaled by a per-host factor
times a little per-report noise, so a group's hosts differ as real hosts do. Hosts are laid out as the
Ansible role fetches them: OUT/<host>/bench-<n>.json, with OUT/<host>/label.

  scripts/make-fleet-reports.py OUT [--hosts N] [--reports-per-host M] [--groups G] [--outliers K] [--seed S]

Groups differ in kernel release (a fingerprint part); the first K hosts of each group are made twice as slow
on pio-out-user/long64-cpl0, so the matrix has K outliers per judged group.
"""
import argparse
import copy
import json
import math
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYS = ["cpuid-0/host", "cpuid-0/long64-cpl0", "pio-kernel/long64-cpl0", "pio-out-user/long64-cpl0"]


def base_report():
    with open(os.path.join(ROOT, "Fuzz", "seeds", "report", "small.json")) as f:
        report = json.load(f)
    cpuid = next(c for c in report["cases"] if c["id"] == "cpuid-0/long64-cpl0")
    for case_id, factor, exits_to in (("pio-kernel/long64-cpl0", 0.72, "kernel"),
                                      ("pio-out-user/long64-cpl0", 5.9, "user-space")):
        clone = scaled(cpuid, factor)
        clone["id"] = case_id
        clone["exitsTo"] = exits_to
        report["cases"].append(clone)
    return report


def scaled(entry, factor):
    """A case or host-level entry with every cycle and nanosecond figure times `factor`."""
    out = copy.deepcopy(entry)
    out["samplesCycles"] = [max(1, int(round(s * factor))) for s in entry["samplesCycles"]]
    for unit in ("cycles", "nanoseconds"):
        stats = out["statistics"][unit]
        for key in ("mad", "max", "mean", "min", "p50", "p90", "p99", "stddev"):
            stats[key] = stats[key] * factor
        stats["medianCI95"] = [v * factor for v in stats["medianCI95"]]
        if unit == "cycles":
            for key in ("max", "min", "p50", "p90", "p99"):
                stats[key] = float(round(stats[key]))
    for key in ("netMedianCycles", "netMedianNanoseconds", "baselineMedianCycles"):
        if key in out and out[key] is not None:
            out[key] = out[key] * factor
    return out


def report_for(base, kernel, factors, created):
    report = copy.deepcopy(base)
    report["context"]["kernelRelease"] = kernel
    report["createdAt"] = created
    report["hostLevel"] = [scaled(h, factors.get(h["id"], 1.0)) for h in report["hostLevel"]]
    report["cases"] = [scaled(c, factors[c["id"]]) if c["id"] in factors and c["status"] == "ok" else c
                       for c in report["cases"]]
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--reports-per-host", type=int, default=5)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--outliers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = base_report()
    count = 0
    for h in range(args.hosts):
        group = h % args.groups
        index_in_group = h // args.groups
        host = "host-%05d" % h
        folder = os.path.join(args.out, host)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "label"), "w") as f:
            f.write("pool-%02d\n" % group)
        host_factor = {key: math.exp(rng.gauss(0, 0.02)) for key in KEYS}
        if index_in_group < args.outliers:
            host_factor["pio-out-user/long64-cpl0"] *= 2.0
        for n in range(args.reports_per_host):
            factors = {key: host_factor[key] * math.exp(rng.gauss(0, 0.01)) for key in KEYS}
            created = "2026-12-%02dT%02d:00:00Z" % (1 + n % 28, h % 24)
            report = report_for(base, "6.1.0-%d-amd64" % group, factors, created)
            with open(os.path.join(folder, "bench-%d.json" % n), "w") as f:
                json.dump(report, f, separators=(",", ":"))
            count += 1
    print("make-fleet-reports: %d reports of %d hosts in %d groups under %s" % (
        count, args.hosts, args.groups, args.out))


if __name__ == "__main__":
    main()
