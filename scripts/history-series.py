#!/usr/bin/env python3
"""A real history series of this machine, and what `history check` finds in it (issue 14's done-when).

  record --bin B --out DIR [--reports 30] [--delay 10%]... [--runs N] [--trim]
      DIR/r01.json … rNN.json: NN plain `nestprobe bench` reports, back to back, each under the KVM lock
      (/tmp/nestprobe-kvm.lock); then, for each --delay D, one report `bench --inject-exit-delay D`
      (r{NN+1}-inject.json for the first, r{NN+1}-inject-D.json for the others). --trim keeps, for the
      repository, one sample per run (the run's median, which is all a history stores) in compact JSON.
  trim FILE...
      The same trimming of reports already recorded.
  judge --bin B DIR...
      For each series and each injected report: a fresh SQLite history of the plain reports (`history check`
      must find no change point in its newest window: the A/A half), then the injected report added and
      `history check --window 1 --format json`: which cases it flags, against the affected ones (the judged
      cases that exit to user space and ran in the injected report). Prints one row per injected report and
      exits 1 when any check with the first delay flags a case that is not affected, misses one, or places a
      change elsewhere, or when a plain series has a change point in its newest window.
      --rolling also checks each plain report as the newest (reports 1…k for k = 11 … NN, `check --window 1`):
      A/A checks, where any change point in the newest report is a false alarm.
  power --bin B --out DIR --series K [record's options]
      K series recorded one after another into DIR/s01 … sKK, then judged together.

The bench binary records; the history binary judges (the same one unless --judge-bin is given), so the
committed series can be judged again by any later build.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

LOCK = "/tmp/nestprobe-kvm.lock"


def bench(binary, out, extra, runs):
    command = ["flock", LOCK, binary, "bench", "-o", out]
    if runs:
        command += ["--runs", str(runs)]
    done = subprocess.run(command + extra, capture_output=True, text=True, timeout=600)
    if done.returncode not in (0, 3) or not os.path.exists(out):
        sys.exit(f"history-series: bench {' '.join(extra)} exited {done.returncode}: {done.stderr.strip()[-300:]}")


def record(binary, out, reports, delays, runs, trimmed=False):
    os.makedirs(out, exist_ok=True)
    started = time.monotonic()
    for index in range(1, reports + 1):
        bench(binary, os.path.join(out, f"r{index:02d}.json"), [], runs)
    for n, delay in enumerate(delays):
        suffix = "" if n == 0 else "-" + re.sub(r"[^0-9a-z.]", "", delay.lower().replace("%", "pct"))
        bench(binary, os.path.join(out, f"r{reports + 1:02d}-inject{suffix}.json"), ["--inject-exit-delay", delay], runs)
    if trimmed:
        for path in glob.glob(os.path.join(out, "r*.json")):
            trim(path)
    print(f"history-series: {reports} plain + {len(delays)} injected report(s) in {out} "
          f"({time.monotonic() - started:.0f} s)")


def trim(path):
    """Replaces each case's raw samples by its runs' medians (one sample a run), written compact: a history
    keeps the run medians only, and the series stays ~80 KB a report instead of ~900 KB."""
    with open(path) as f:
        report = json.load(f)
    for case in report["cases"]:
        runs = case.get("perRun") or []
        if case.get("status") != "ok" or not runs:
            continue
        case["samplesCycles"] = [run["medianCycles"] for run in runs]
        case["samplesPerRun"] = [1] * len(runs)
        case["sampleCount"] = len(runs)
    temporary = path + ".tmp"
    with open(temporary, "w") as f:
        json.dump(report, f, separators=(",", ":"), sort_keys=True)
    os.replace(temporary, path)


def history(binary, *args):
    done = subprocess.run([binary, "history", *args], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def affected(path):
    """The cases the injected delay slows: those that exit to user space and ran (check judges every such case,
    in emulated guest modes too)."""
    with open(path) as f:
        report = json.load(f)
    return {c["id"] for c in report["cases"] if c.get("exitsTo") == "user-space" and c.get("status") == "ok"}


def delay_of(path):
    with open(path) as f:
        delay = json.load(f)["context"].get("injectedExitDelay") or {}
    return delay.get("requested", "?"), delay.get("delayCycles", 0), delay.get("referenceCaseID", "?")


def rolling(binary, folder):
    """A/A: each plain report from the 11th on checked as the newest of the history so far. Returns the number
    of checks and the false alarms (case@report)."""
    plain = sorted(glob.glob(os.path.join(folder, "r[0-9][0-9].json")))
    alarms, checks = [], 0
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "h.sqlite")
        history(binary, "add", "--db", db, *plain[:10])
        for k in range(10, len(plain)):
            history(binary, "add", "--db", db, plain[k])
            code, out, err = history(binary, "check", "--db", db, "--window", "1", "--format", "json")
            checks += 1
            document = json.loads(out) if code in (0, 2, 4) else {}
            if code not in (0, 2, 4):
                alarms.append(f"check exited {code} at report {k}")
            alarms += [f"{c['caseID']}@{k}({c['changePercent']:+.1f}%)" for m in document.get("machines", [])
                       for c in m["changes"] if c["inWindow"]]
    return checks, alarms


def judge_one(binary, folder):
    """Rows for one series folder: (name, delay, cycles, flagged, affected, wrong, plain exit, ok)."""
    plain = sorted(glob.glob(os.path.join(folder, "r[0-9][0-9].json")))
    injected = sorted(glob.glob(os.path.join(folder, "r[0-9][0-9]-inject*.json")))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "h.sqlite")
        code, out, err = history(binary, "add", "--db", db, *plain)
        if code != 0:
            sys.exit(f"history-series: history add in {folder} exited {code}: {err.strip()}")
        plain_code, out, err = history(binary, "check", "--db", db, "--format", "json")
        plain_doc = json.loads(out) if plain_code in (0, 2, 4) else {}
        plain_recent = [c["caseID"] for m in plain_doc.get("machines", []) for c in m["changes"] if c["inWindow"]]
        for n, path in enumerate(injected):
            copy = os.path.join(scratch, f"h{n}.sqlite")
            with open(db, "rb") as src, open(copy, "wb") as dst:
                dst.write(src.read())
            for extra in ("-wal", "-shm"):
                if os.path.exists(db + extra):
                    with open(db + extra, "rb") as src, open(copy + extra, "wb") as dst:
                        dst.write(src.read())
            code, out, err = history(binary, "add", "--db", copy, path)
            code, out, err = history(binary, "check", "--db", copy, "--window", "1", "--format", "json")
            document = json.loads(out) if code in (0, 2, 4) else {}
            flagged, wrong = set(), []
            for machine in document.get("machines", []):
                for change in machine["changes"]:
                    if not change["inWindow"]:
                        continue
                    if change["reportIndex"] == len(plain) and change["direction"] == "slower":
                        flagged.add(change["caseID"])
                    else:
                        wrong.append(f"{change['caseID']}@{change['reportIndex']}")
            hit = affected(path)
            requested, cycles, reference = delay_of(path)
            rows.append({
                "series": os.path.basename(os.path.normpath(folder)), "delay": requested, "cycles": cycles,
                "reference": reference, "flagged": sorted(flagged), "affected": sorted(hit),
                "extra": sorted(flagged - hit) + wrong, "missed": sorted(hit - flagged), "exit": code,
                "plainExit": plain_code, "plainRecent": plain_recent, "first": n == 0})
    return rows


def judge(binary, folders, rolled=False):
    rows = [row for folder in folders for row in judge_one(binary, folder)]
    bad = 0
    if rolled:
        total, false = 0, 0
        for folder in folders:
            checks, alarms = rolling(binary, folder)
            total += checks
            false += len(alarms)
            print(f"A/A {os.path.basename(os.path.normpath(folder))}: {checks} checks of the newest plain report, "
                  f"{len(alarms)} false change point(s){': ' + ', '.join(alarms) if alarms else ''}")
        print(f"A/A in all: {total} checks, {false} false change point(s)")
        bad += false
    print(f"{'series':<22} {'delay':>6} {'cycles':>7}  flagged/affected  extra  missed  plain series")
    for row in rows:
        plain = "no change point" if not row["plainRecent"] else "CHANGE: " + ", ".join(row["plainRecent"])
        print(f"{row['series']:<22} {row['delay']:>6} {row['cycles']:>7.0f}  {len(row['flagged']):>7}/{len(row['affected']):<8}"
              f"  {len(row['extra']):>5}  {len(row['missed']):>6}  {plain}")
        for name, cases in (("extra", row["extra"]), ("missed", row["missed"])):
            if cases:
                print(f"    {name}: {', '.join(cases)}")
        if row["plainRecent"] or (row["first"] and (row["extra"] or row["missed"])):
            bad += 1
    return 1 if bad else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "power"):
        p = sub.add_parser(name)
        p.add_argument("--bin", required=True)
        p.add_argument("--judge-bin")
        p.add_argument("--out", required=True)
        p.add_argument("--reports", type=int, default=30)
        p.add_argument("--delay", action="append")
        p.add_argument("--runs", type=int, default=0, help="bench --runs (default: bench's own)")
        p.add_argument("--trim", action="store_true", help="one sample a run, compact JSON")
        if name == "power":
            p.add_argument("--series", type=int, default=3)
            p.add_argument("--rolling", action="store_true")
    p = sub.add_parser("trim")
    p.add_argument("files", nargs="+")
    p = sub.add_parser("judge")
    p.add_argument("--bin", required=True)
    p.add_argument("--rolling", action="store_true")
    p.add_argument("folders", nargs="+")
    args = parser.parse_args()
    if args.command == "judge":
        sys.exit(judge(os.path.abspath(args.bin), args.folders, args.rolling))
    if args.command == "trim":
        for path in args.files:
            trim(path)
        return
    binary = os.path.abspath(args.bin)
    delays = args.delay or ["10%"]
    if args.command == "record":
        record(binary, args.out, args.reports, delays, args.runs, args.trim)
        return
    folders = []
    for k in range(1, args.series + 1):
        folder = os.path.join(args.out, f"s{k:02d}")
        record(binary, folder, args.reports, delays, args.runs, args.trim)
        folders.append(folder)
    sys.exit(judge(os.path.abspath(args.judge_bin or binary), folders, args.rolling))


if __name__ == "__main__":
    main()
