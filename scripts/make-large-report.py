#!/usr/bin/env python3
"""Writes a bench report as large as nestprobe reads (64 MiB) and as wide as the schema allows, for
measuring render and compare on it (time and peak memory: /usr/bin/time -v). It is the committed real report
(Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json) with its ok cases copied under new ids up to
256 cases and 256 host-level cases (the schema's limits), each holding 4,096 samples drawn around the
original's median; 256 long notes in the context then fill the file up to the size limit.

usage: scripts/make-large-report.py OUT.json [--seed N] [--scale F] [--magnify F] [--rows N]
  --scale multiplies every sample (a second report for compare that differs from the first).
"""
import argparse
import copy
import json
import random

LIMIT = 64 << 20
SAMPLES = 4096
ROWS = 256  # the schema's maxItems for cases, host-level cases and notes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    # Samples this many times the original's: more digits per sample, so the file reaches the limit.
    parser.add_argument("--magnify", type=float, default=150.0)
    # More rows than the schema allows make a report nestprobe refuses (exit 65), to time the refusal.
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--fixture", default="Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    report = json.load(open(args.fixture))

    def samples(around):
        centre = max(around, 50)
        return [int(rng.lognormvariate(0, 0.05) * centre * args.scale * args.magnify) for _ in range(SAMPLES)]

    ok = [c for c in report["cases"] if c["status"] == "ok"]
    cases = []
    for index in range(args.rows):
        entry = copy.deepcopy(ok[index % len(ok)])
        entry["id"] = f"{entry['id']}#{index}"
        entry["baselineID"] = None
        entry.pop("baselineID")
        entry["samplesCycles"] = samples(entry["statistics"]["cycles"]["p50"])
        entry["sampleCount"] = SAMPLES
        cases.append(entry)
    report["cases"] = cases
    host_template = report["hostLevel"][0]
    hosts = []
    # Host-level cases fill what is left up to the limit.
    size = len(json.dumps(report, separators=(",", ":")))
    per_host = len(json.dumps(dict(host_template, samplesCycles=samples(host_template["statistics"]["cycles"]["p50"])), separators=(",", ":")))
    for index in range(min(args.rows, max(0, (LIMIT - size - 4096) // (per_host + 2)))):
        host = copy.deepcopy(host_template)
        host["id"] = f"{host['id']}#{index}"
        host["samplesCycles"] = samples(host["statistics"]["cycles"]["p50"])
        hosts.append(host)
    report["hostLevel"] = hosts
    report["table"] = []
    text = json.dumps(report, separators=(",", ":"))
    room = LIMIT - len(text) - 64
    if room > ROWS * 8:
        words = "padding for a large report "
        note = (words * (room // ROWS // len(words) + 1))[: room // ROWS - 3]
        report["context"]["notes"] = [note] * ROWS
        text = json.dumps(report, separators=(",", ":"))
    while len(text) > LIMIT:
        report["hostLevel"].pop()
        text = json.dumps(report, separators=(",", ":"))
    open(args.out, "w").write(text)
    print(f"{args.out}: {len(text)} bytes, {len(cases)} cases, {len(report['hostLevel'])} host-level cases, "
          f"{len(report['context']['notes'])} notes")


if __name__ == "__main__":
    main()
