#!/usr/bin/env python3
"""Does `nestprobe compare` hold as a regression gate on this machine? A/A pairs and injected slowdowns.

A/A: pairs of back-to-back bench runs of one binary, nothing changed: a trustworthy gate exits 0 (same) or 5
(inconclusive), never 2. Power: the second run of each pair adds a calibrated delay to nestprobe's own
handling of user-space exits (`bench --inject-exit-delay`), a real slowdown of known size: the gate should
exit 2 naming user-space cases and never an in-kernel one.

Runs the release binary, each bench under the KVM lock (/tmp/nestprobe-kvm.lock) so nothing else boots
guests at the same time; with --hog a busy loop runs on the last CPU for the whole measurement (the CI neighbour the issue
asks for) and is stopped at the end. Prints one summary block per phase; --out keeps every report.

A side is --reports bench invocations of --runs runs each (default 4 × 4, the README's gate), taken back to
back (every base report, then every new one); compare judges them with each report as a replicate.

    scripts/gate-power.py --pairs 20 --reports 4 --runs 4 --hog --delay 10% --delay 3%
    scripts/gate-power.py --cycle --pairs 20 --reports 4 --runs 4 --hog --delay 10% --delay 3%
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
    # The KVM lock is held per invocation, so that others' guests wait between reports, never during one.
    with open("/tmp/nestprobe-kvm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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


class Tally:
    """The verdicts of one kind of pair (A/A, or a delay), and their summary."""

    def __init__(self, name, reports, runs, delay):
        self.name, self.reports, self.runs, self.delay = name, reports, runs, delay
        self.codes, self.walls = [], []
        self.regressed_user, self.regressed_other, self.inconclusive, self.detectable = {}, {}, {}, {}
        self.clean_catches = 0
        self.caught_rows = []  # per pair: user-space rows caught / user-space rows judged

    def judge(self, binary, bases, news, path, index, pairs):
        code, doc = compare(binary, bases, news, path)
        shift = (doc.get("machineShift") or {}).get("percent")
        self.codes.append(code)
        targets = exits_to(bases[0])
        names, others, user_judged = [], 0, 0
        for row_id, verdict, mde in row_verdicts(doc):
            if mde is not None:
                self.detectable.setdefault(row_id, []).append(mde)
            if targets.get(row_id) == "user-space" and verdict in ("regressed", "same", "inconclusive", "improved"):
                user_judged += 1
            if verdict == "inconclusive":
                self.inconclusive[row_id] = self.inconclusive.get(row_id, 0) + 1
            if verdict in ("regressed", "regression"):
                user = targets.get(row_id) == "user-space"
                bucket = self.regressed_user if user else self.regressed_other
                bucket[row_id] = bucket.get(row_id, 0) + 1
                names.append(row_id)
                others += 0 if user else 1
        if code == 2 and others == 0:
            self.clean_catches += 1
        self.caught_rows.append((len(names) - others, user_judged))
        held = [r.get("id") for r in doc.get("rows", []) if r.get("reason") == "machine-shift"]
        print(f"{self.name} pair {index + 1:2d}/{pairs}: exit {code}; machine shift "
              + (f"{shift:+.1f}%" if shift is not None else "?")
              + f"; regressed: {', '.join(names) or 'none'}"
              + (f"; held back by the machine's shift: {len(held)}" if held else ""), flush=True)

    def summary(self, note=""):
        pairs = len(self.codes)
        print(f"\n== {self.name}: {pairs} pairs of {self.reports} reports a side, bench --runs {self.runs}"
              + (f", --inject-exit-delay {self.delay} on the second" if self.delay else "") + note)
        print("exit codes: " + ", ".join(f"{c}: {self.codes.count(c)}" for c in sorted(set(self.codes))))
        print(f"pairs exiting 2: {self.codes.count(2)} of {pairs}; of them naming only user-space cases: "
              f"{self.clean_catches}")
        if self.delay:
            caught = [c for c, _ in self.caught_rows]
            judged = [j for _, j in self.caught_rows]
            print(f"user-space rows caught per pair: median {statistics.median(caught)} of "
                  f"{statistics.median(judged)} judged (min {min(caught)}, max {max(caught)})")
        if self.walls:
            print(f"bench wall per side ({self.reports} reports): median {statistics.median(self.walls):.1f} s, "
                  f"max {max(self.walls):.1f} s")
        print("regressed user-space cases (pairs): "
              + (", ".join(f"{k} {v}" for k, v in sorted(self.regressed_user.items())) or "none"))
        print("regressed other cases (pairs): "
              + (", ".join(f"{k} {v}" for k, v in sorted(self.regressed_other.items())) or "none"))
        print("inconclusive rows (pairs): "
              + (", ".join(f"{k} {v}" for k, v in sorted(self.inconclusive.items())) or "none"))
        if self.detectable:
            finite = {k: [x for x in v if x is not None and x == x and x != float("inf")]
                      for k, v in self.detectable.items()}
            print("detectable change, median over pairs (%): "
                  + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in sorted(finite.items()) if v))


def side(binary, runs, reports, workdir, label, delay):
    """One side's reports, back to back; with --reuse, the kept ones (None when they are not all there)."""
    paths = [os.path.join(workdir, f"{label}{k}.bench.json") for k in range(reports)]
    if REUSE:
        return (paths, None) if all(os.path.exists(p) for p in paths) else (None, None)
    started = time.monotonic()
    for path in paths:
        bench(binary, runs, path, delay)
    return paths, time.monotonic() - started


def phase(name, binary, pairs, runs, reports, workdir, delay):
    """Pairs of sides back to back, as a CI job takes them: every base report, then every new one."""
    tally = Tally(name, reports, runs, delay)
    for i in range(pairs):
        bases, wall_b = side(binary, runs, reports, workdir, f"{name}-{i:02d}-base", None)
        news, wall_n = side(binary, runs, reports, workdir, f"{name}-{i:02d}-new", delay) if bases else (None, None)
        if not news:
            break
        tally.walls += [w for w in (wall_b, wall_n) if w is not None]
        tally.judge(binary, bases, news, os.path.join(workdir, f"{name}-{i:02d}.compare.json"), i, pairs)
    tally.summary()


def cycle(binary, pairs, runs, reports, workdir, delays):
    """All phases in one loop, for a machine where time is short: each cycle takes a base side, then for
    each delay a delayed side followed by a fresh base side. The delay pairs are (base, delayed) back to
    back; the A/A pairs are two base sides with one delayed side between them (further apart in time than
    back to back, so no kinder to the gate)."""
    aa = Tally("aa", reports, runs, None)
    tallies = [Tally("delay-" + d.replace("%", "pct"), reports, runs, d) for d in delays]
    for i in range(pairs):
        base, wall = side(binary, runs, reports, workdir, f"cycle-{i:02d}-base0-", None)
        if not base:
            break
        aa.walls += [wall] if wall is not None else []
        for k, (delay, tally) in enumerate(zip(delays, tallies)):
            slowed, wall_d = side(binary, runs, reports, workdir, f"cycle-{i:02d}-delay{k}-", delay)
            fresh, wall_f = side(binary, runs, reports, workdir, f"cycle-{i:02d}-base{k + 1}-", None)
            if not slowed or not fresh:
                break
            tally.walls += [wall_d] if wall_d is not None else []
            aa.walls += [wall_f] if wall_f is not None else []
            tally.judge(binary, base, slowed, os.path.join(workdir, f"cycle-{i:02d}-delay{k}.compare.json"), i, pairs)
            aa.judge(binary, base, fresh, os.path.join(workdir, f"cycle-{i:02d}-aa{k}.compare.json"), i, pairs)
            base = fresh
    aa.summary(" (two base sides with a delayed side between them)")
    for tally in tallies:
        tally.summary()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/nestprobe")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--runs", type=int, default=4, help="bench --runs of each report")
    parser.add_argument("--reports", type=int, default=4, help="reports (bench invocations) a side")
    parser.add_argument("--delay", action="append", default=[], help="an injected delay phase, e.g. 10%% or 2us")
    parser.add_argument("--no-aa", action="store_true", help="skip the A/A phase")
    parser.add_argument("--hog", action="store_true", help="a busy loop on the last CPU while measuring")
    parser.add_argument("--cycle", action="store_true",
                        help="interleave the phases: base, delayed, base, … (A/A from the base sides)")
    parser.add_argument("--out", help="keep reports here (default: a temporary folder, removed)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --out: reports already there are judged again, not benched again")
    args = parser.parse_args()
    global REUSE
    REUSE = args.reuse

    hog_process = None
    if args.hog and not args.reuse:
        hog_process = multiprocessing.Process(target=hog, args=(os.cpu_count() - 1,), daemon=True)
        hog_process.start()
    workdir = args.out or tempfile.mkdtemp(prefix="gate-power.")
    os.makedirs(workdir, exist_ok=True)
    try:
        print(f"gate-power: {args.bin}, {os.cpu_count()} CPUs, hog {'on CPU %d' % (os.cpu_count() - 1) if args.hog else 'off'}, reports in {workdir}")
        if args.cycle:
            cycle(args.bin, args.pairs, args.runs, args.reports, workdir, args.delay)
            return
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
