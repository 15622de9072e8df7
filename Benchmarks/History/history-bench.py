#!/usr/bin/env python3
"""Speed and memory of `nestprobe history` on SQLite: the goals are `history add` of one report ≤ 50 ms and
`history check` over 1,000 reports × 60 cases ≤ 2 s, with memory that does not grow with the history.

add: the wall time of `nestprobe history add` (the whole process: start, read and check the report, one
transaction) for each of the real reports in Reports/history/series, into a history that already holds
the others; median and worst. check: a history of N synthetic reports × 60 cases × 3 runs (1,000 cycles,
5 % noise, six cases with a 10 % step, the machine's level moving every report by up to ±10 % and every
run by up to ±5 %, stored beside each run as `history add` would; all written straight into the schema
nestprobe made), then the wall time and peak resident memory of `history check` for N = 250, 500 and
1,000, and its CPU time (user + system: the steadier figure on a shared machine). --repeat R times each,
median and range. The load average is printed first: wall times on a loaded machine wait for a CPU.
The add figures also give the slowest single add of all passes, and are repeated for the static binary
(`make dist`: dist/nestprobe-*-linux-x86_64, `make test`'s .build/dist/, or --static-bin), which skips loading the Swift runtime, ICU
and Foundation as shared objects.
Usage: Benchmarks/History/history-bench.py --bin .build/release/nestprobe [--sizes 250,500,1000]
"""
import argparse
import glob
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def timed(command):
    """Wall seconds and the child's peak RSS (MiB) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, max(peak, before) / 1024, done


def peak_rss_of(command):
    """Wall seconds, peak RSS in MiB and CPU seconds (user + system) of one command, by GNU time when present
    (ru_maxrss of children is a max): on a shared machine the CPU time is the steadier figure."""
    if os.path.exists("/usr/bin/time"):
        done = subprocess.run(["/usr/bin/time", "-f", "%M %e %U %S", *command], capture_output=True, text=True)
        kib, seconds, user, system = done.stderr.strip().splitlines()[-1].split()
        return float(seconds), int(kib) / 1024, float(user) + float(system), done
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    took, mib, done = timed(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return took, mib, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done


def synthetic(db, reports, cases=60, runs=3, seed=1):
    rng = random.Random(seed)
    con = sqlite3.connect(db)
    cur = con.cursor()
    cur.execute(
        "INSERT INTO machines (fingerprint, label, key, cpu, kernel, kvm_module, kvm_parameters, level, guest_level,"
        " hypervisors, emulated_host) VALUES ('bench', '', 'benchbenchbench0', 'cpu', 'k', 'kvm', '', 'L1', 'L2',"
        " 'KVM', 0)")
    machine = cur.lastrowid
    steps = {c: rng.randrange(reports // 5, reports - reports // 5) for c in range(6)}
    for r in range(reports):
        created = f"2026-01-01T00:00:00Z#{r:06d}"
        cur.execute(
            "INSERT INTO reports (digest, machine_id, created_at, tool_version, file, injected_delay, added_at)"
            " VALUES (?, ?, ?, 'bench', ?, NULL, 'now')", (f"d{r}", machine, created, f"r{r}.json"))
        report = cur.lastrowid
        shift = 1 + 0.1 * rng.uniform(-1, 1)
        run_levels = [1 + 0.05 * rng.uniform(-1, 1) for _ in range(runs)]
        for c in range(cases):
            level = 1000 * (1 + c / 10) * shift * (1.1 if c in steps and r >= steps[c] else 1)
            values = [level * m * (1 + 0.05 * rng.gauss(0, 1)) for m in run_levels]
            exits = "user-space" if c % 3 == 0 else "kernel"
            corrected = statistics.median(v / m for v, m in zip(values, run_levels))
            cur.execute(
                "INSERT INTO cases (report_id, case_id, level, source, status, exits_to, emulated, net_below_resolution,"
                " gross, net, level_gross) VALUES (?, ?, 'L2', 'case', 'ok', ?, 0, 0, ?, ?, ?)",
                (report, f"case-{c:02d}", exits, statistics.median(values), statistics.median(values) * 0.8, corrected))
            cur.executemany(
                "INSERT INTO runs (report_id, case_id, run, gross, net, level) VALUES (?, ?, ?, ?, ?, ?)",
                [(report, f"case-{c:02d}", i, v, v * 0.8, m) for i, (v, m) in enumerate(zip(values, run_levels))])
    con.commit()
    con.close()


def add_pass(binary, series, scratch, repeat, name):
    """`repeat` passes of adding every report of `series` into a fresh file; prints the figures."""
    medians = []
    worsts = []
    cpu_medians = []
    every = []
    for attempt in range(repeat):
        db = os.path.join(scratch, f"add-{name}-{attempt}.sqlite")
        times = []
        cpus = []
        for path in series:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            took, _, done = timed([binary, "history", "add", "--db", db, path])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                sys.exit(f"history-bench: add failed: {done.stderr}")
            times.append(took * 1000)
            cpus.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
        # The first add also creates the file and its schema.
        medians.append(statistics.median(times[1:]))
        worsts.append(max(times[1:]))
        cpu_medians.append(statistics.median(cpus[1:]))
        every.extend(times[1:])
    print(f"history add ({name}; one report, whole process, SQLite), {len(series) - 1} reports into a history "
          f"that holds the others, {repeat} passes: the median add of each pass {spread(medians, 'ms', 1)}; "
          f"the slowest add of each pass {spread(worsts, 'ms', 1)}; of all {len(every)} adds: median "
          f"{statistics.median(every):.1f} ms, max {max(every):.1f} ms (goal ≤ 50 ms); "
          f"CPU time of the median add of each pass {spread(cpu_medians, 'ms', 1)}; "
          "load average now " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


def spread(values, unit, digits):
    return (f"median {statistics.median(values):.{digits}f} {unit} "
            f"(range {min(values):.{digits}f}–{max(values):.{digits}f} over {len(values)})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measurement (default 5)")
    parser.add_argument("--static-bin", help="the static binary too (default: dist/nestprobe-*-linux-x86_64 "
                        "when `make dist` made one; 'none' to skip)")
    parser.add_argument("--sizes", default="250,500,1000", help="history sizes for check (default 250,500,1000)")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    static = args.static_bin
    if static is None:
        found = sorted(p for folder in ("dist", os.path.join(".build", "dist"))
                       for p in glob.glob(os.path.join(ROOT, folder, "nestprobe-*-linux-x86_64")))
        static = found[-1] if found else None
    elif static == "none":
        static = None
    series = sorted(glob.glob(os.path.join(ROOT, "Reports", "history", "series", "r*.json")))
    print("load average at the start: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as scratch:
        add_pass(binary, series, scratch, args.repeat, "dynamic" if static else os.path.basename(binary))
        if static:
            add_pass(os.path.abspath(static), series, scratch, args.repeat, "static")
        for count in (int(size) for size in args.sizes.split(",") if size):
            db = os.path.join(scratch, f"check-{count}.sqlite")
            subprocess.run([binary, "history", "list", "--db", db], check=True, capture_output=True)
            synthetic(db, count)
            walls = []
            peaks = []
            cpus = []
            for _ in range(args.repeat):
                seconds, mib, cpu, done = peak_rss_of([binary, "history", "check", "--db", db])
                walls.append(seconds)
                peaks.append(mib)
                cpus.append(cpu)
            flagged = sum(1 for line in done.stdout.splitlines() if ": report " in line)
            print(f"history check, {count} reports × 60 cases × 3 runs: wall {spread(walls, 's', 2)}, "
                  f"CPU {spread(cpus, 's', 2)}, peak RSS {spread(peaks, 'MiB', 0)}, "
                  f"{flagged} change point(s) reported (6 steps planted), exit {done.returncode}"
                  + (" (goal ≤ 2 s)" if count == 1000 else ""))


if __name__ == "__main__":
    main()
