#!/usr/bin/env python3
"""Does `nestprobe compare` hold as a regression gate on this machine? A/A pairs and injected slowdowns.

A/A: pairs of back-to-back bench runs of one binary, nothing changed: a trustworthy gate exits 0 (same) or 5
(inconclusive), never 2. Power: the second run of each pair adds a calibrated delay to nestprobe's own
handling of user-space exits (`bench --inject-exit-delay`), a real slowdown of known size: the gate should
exit 2 naming user-space cases and never an in-kernel one.

Runs the release binary under the KVM lock (/tmp/nestprobe-kvm.lock) so nothing else boots guests at the
same time; with --hog a busy loop runs on the last CPU for the whole measurement (the CI neighbour the issue
asks for) and is stopped at the end. Prints one summary block per phase; --out keeps every report.

A side is --reports bench invocations of --runs runs each (default 4 × 4, the README's gate), taken back to
back (every base report, then every new one); compare judges them with each report as a replicate.

    scripts/gate-power.py --pairs 20 --reports 4 --runs 4 --hog --delay 10% --delay 3%
"""

import argparse
import fcntl
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

REUSE = False


def hog(cpu):
    """A busy loop pinned to one CPU, until killed."""
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        pass
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def bench(binary, runs, path, delay=None):
    args = [binary, "bench", "--quiet", "--runs", str(runs), "-o", path]
    if delay:
        args += ["--inject-exit-delay", delay]
    started = time.monotonic()
    proc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
    wall = time.monotonic() - started
    if proc.returncode not in (0,):
        sys.exit(f"gate-power: bench exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return wall


def compare(binary, bases, news, path):
    proc = subprocess.run([binary, "compare", "--json", "-o", path] + bases + ["--"] + news,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
    if proc.returncode not in (0, 2, 4, 5):
        sys.exit(f"gate-power: compare exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    with open(path) as f:
        return proc.returncode, json.load(f)


def exits_to(report_path):
    with open(report_path) as f:
        report = json.load(f)
    return {c["id"]: c.get("exitsTo", "") for c in report.get("cases", [])}


def row_verdicts(document):
    """(id, verdict, detectable change in %, or None) of every row."""
    out = []
    for row in document.get("rows", []):
        detectable = row.get("detectableChangePercent")
        if isinstance(detectable, dict):
            detectable = detectable.get("percent")
        out.append((row.get("id"), row.get("verdict"), detectable))
    return out


def phase(name, binary, pairs, runs, reports, workdir, delay):
    codes = []
    walls = []
    regressed_user, regressed_other = {}, {}
    inconclusive = {}
    detectable = {}
    clean_catches = 0
    for i in range(pairs):
        bases = [os.path.join(workdir, f"{name}-{i:02d}-base{k}.bench.json") for k in range(reports)]
        news = [os.path.join(workdir, f"{name}-{i:02d}-new{k}.bench.json") for k in range(reports)]
        if REUSE:
            # --reuse: judge the kept reports again with this binary's compare; stop where they end.
            if not all(os.path.exists(p) for p in bases + news):
                pairs = i
                break
        else:
            # Back to back, as a CI job takes them: every base report, then every new one.
            started = time.monotonic()
            for path in bases:
                bench(binary, runs, path)
            walls.append(time.monotonic() - started)
            started = time.monotonic()
            for path in news:
                bench(binary, runs, path, delay)
            walls.append(time.monotonic() - started)
        base = bases[0]
        code, doc = compare(binary, bases, news, os.path.join(workdir, f"{name}-{i:02d}.compare.json"))
        shift = (doc.get("machineShift") or {}).get("percent")
        codes.append(code)
        targets = exits_to(base)
        names = []
        others = 0
        for row_id, verdict, mde in row_verdicts(doc):
            if mde is not None:
                detectable.setdefault(row_id, []).append(mde)
            if verdict == "inconclusive":
                inconclusive[row_id] = inconclusive.get(row_id, 0) + 1
            if verdict in ("regressed", "regression"):
                user = targets.get(row_id) == "user-space"
                bucket = regressed_user if user else regressed_other
                bucket[row_id] = bucket.get(row_id, 0) + 1
                names.append(row_id)
                others += 0 if user else 1
        if code == 2 and others == 0:
            clean_catches += 1
        held = [r.get("id") for r in doc.get("rows", []) if r.get("reason") == "machine-shift"]
        print(f"{name} pair {i + 1:2d}/{pairs}: exit {code}; machine shift "
              + (f"{shift:+.1f}%" if shift is not None else "?")
              + f"; regressed: {', '.join(names) or 'none'}"
              + (f"; held back by the machine's shift: {len(held)}" if held else ""), flush=True)
    print(f"\n== {name}: {pairs} pairs of {reports} reports a side, bench --runs {runs}" + (f", --inject-exit-delay {delay} on the second" if delay else ""))
    print(f"exit codes: " + ", ".join(f"{c}: {codes.count(c)}" for c in sorted(set(codes))))
    print(f"pairs exiting 2: {codes.count(2)} of {pairs}; of them naming only user-space cases: {clean_catches}")
    if walls:
        print(f"bench wall per side ({reports} reports): median {statistics.median(walls):.1f} s, max {max(walls):.1f} s")
    print("regressed user-space cases (pairs): " + (", ".join(f"{k} {v}" for k, v in sorted(regressed_user.items())) or "none"))
    print("regressed other cases (pairs): " + (", ".join(f"{k} {v}" for k, v in sorted(regressed_other.items())) or "none"))
    print("inconclusive rows (pairs): " + (", ".join(f"{k} {v}" for k, v in sorted(inconclusive.items())) or "none"))
    if detectable:
        finite = {k: [x for x in v if x is not None and x == x and x != float("inf")] for k, v in detectable.items()}
        print("detectable change, median over pairs (%): "
              + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in sorted(finite.items()) if v))
    return codes, regressed_user, regressed_other


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/nestprobe")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=4, help="bench --runs of each report")
    parser.add_argument("--reports", type=int, default=4, help="reports (bench invocations) a side")
    parser.add_argument("--delay", action="append", default=[], help="an injected delay phase, e.g. 10%% or 2us")
    parser.add_argument("--no-aa", action="store_true", help="skip the A/A phase")
    parser.add_argument("--hog", action="store_true", help="a busy loop on the last CPU while measuring")
    parser.add_argument("--out", help="keep reports here (default: a temporary folder, removed)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --out: reports already there are judged again, not benched again")
    args = parser.parse_args()
    global REUSE
    REUSE = args.reuse

    if not args.reuse:  # judging kept reports boots no guest
        lock = open("/tmp/nestprobe-kvm.lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    hog_process = None
    if args.hog and not args.reuse:
        hog_process = multiprocessing.Process(target=hog, args=(os.cpu_count() - 1,), daemon=True)
        hog_process.start()
    workdir = args.out or tempfile.mkdtemp(prefix="gate-power.")
    os.makedirs(workdir, exist_ok=True)
    try:
        print(f"gate-power: {args.bin}, {os.cpu_count()} CPUs, hog {'on CPU %d' % (os.cpu_count() - 1) if args.hog else 'off'}, reports in {workdir}")
        if not args.no_aa:
            phase("aa", args.bin, args.pairs, args.runs, args.reports, workdir, None)
        for delay in args.delay:
            phase("delay-" + delay.replace("%", "pct"), args.bin, args.pairs, args.runs, args.reports, workdir, delay)
    finally:
        if hog_process:
            hog_process.kill()
        if not args.out:
            subprocess.run(["rm", "-rf", workdir])


if __name__ == "__main__":
    main()
