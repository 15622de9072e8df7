#!/usr/bin/env python3
"""Between-run noise of bench reports' per-run figures, and what Mann-Whitney + Holm catches between two reports.

  run-noise.py sd REPORT...          per guest-timed case: SD and robust SD (MAD x 1.4826) of the log per-run
                                     gross median, ratio to the same-guest baseline, and relative figure
                                     (median of sample / its interleaved reference; only in reports of the
                                     interleaved-reference experiment, not merged: see issue 11's note; nan
                                     otherwise), pooled over the reports
  run-noise.py power BASE NEW [D]    per figure: the judged rows (as compare judges them by default) whose
                                     two-sided MW p passes Holm at 0.05; D cycles, when given, are added to
                                     every user-space sample of NEW first (relative_i = (s_i + D) / ref_i, on
                                     the kept samples)

Needs NumPy and SciPy. Offline analysis only: it is not part of the tool.
"""
import json
import math
import sys

import numpy as np
from scipy.stats import mannwhitneyu

FIGURES = ["gross", "ratio", "relative"]


def per_run(case, delay=0.0):
    """The case's per-run figures, each a list in run order; `delay` added to every sample first."""
    runs = case["perRun"]
    gross = [x["medianCycles"] + delay for x in runs]
    ratio = [(x["medianCycles"] + delay) / x["baselineMedianCycles"] if x.get("baselineMedianCycles") else None
             for x in runs]
    relative = [x.get("relative") for x in runs]
    references = case.get("referenceSamplesCycles")
    if delay and references:
        samples, start, relative = case["samplesCycles"], 0, []
        for count in case["samplesPerRun"]:
            pairs = zip(samples[start:start + count], references[start:start + count])
            relative.append(float(np.median([(s + delay) / r for s, r in pairs if r > 0])))
            start += count
    return {"gross": gross, "ratio": ratio, "relative": relative}


def judged(report):
    """Guest-timed cases compare judges by default: not rdtsc/null, and not an in-kernel exit of an emulated mode."""
    emulated = {(g["mode"], g["cpl"]): g["emulated"] for g in report["guestExecution"]}
    for case in report["cases"]:
        if case["status"] != "ok" or not case.get("perRun") or case["timedIn"] != "guest":
            continue
        if case["id"].startswith(("rdtsc/", "null/")):
            continue
        if case["exitsTo"] == "user-space" or not emulated.get((case["mode"], case["cpl"]), False):
            yield case


def log_sd(values):
    logs = np.log([v for v in values if v and v > 0])
    if len(logs) < 3:
        return math.nan, math.nan
    robust = 1.4826 * np.median(np.abs(logs - np.median(logs)))
    return 100 * np.std(logs, ddof=1), 100 * robust


def sd(paths):
    rows = {}
    for path in paths:
        for case in json.load(open(path))["cases"]:
            if case["status"] != "ok" or not case.get("perRun") or case["timedIn"] != "guest":
                continue
            row = rows.setdefault(case["id"], {"exitsTo": case["exitsTo"], **{f: [] for f in FIGURES}})
            for figure, values in per_run(case).items():
                row[figure] += values
    print(f"{'case':36} {'exitsTo':11} {'runs':>4}  " + "  ".join(f"{f + ' sd/robust %':>19}" for f in FIGURES))
    for case_id, row in rows.items():
        cells = ["%8.1f / %8.1f" % log_sd(row[f]) for f in FIGURES]
        print(f"{case_id:36} {row['exitsTo']:11} {len(row['gross']):4}  " + "  ".join(f"{c:>19}" for c in cells))


def power(base_path, new_path, delay):
    base = {c["id"]: c for c in judged(json.load(open(base_path)))}
    new = {c["id"]: c for c in judged(json.load(open(new_path)))}
    for figure in FIGURES:
        tests = []
        for case_id, case in base.items():
            if case_id not in new:
                continue
            added = delay if case["exitsTo"] == "user-space" else 0.0
            a = [v for v in per_run(case)[figure] if v]
            b = [v for v in per_run(new[case_id], added)[figure] if v]
            if len(a) < 2 or len(b) < 2:
                continue
            p = mannwhitneyu(a, b, alternative="two-sided").pvalue
            tests.append((p, case_id, case["exitsTo"], (np.median(b) / np.median(a) - 1) * 100))
        tests.sort()
        caught = []
        for rank, (p, case_id, exits_to, change) in enumerate(tests):
            if p >= 0.05 / (len(tests) - rank):
                break
            caught.append(f"{case_id} ({exits_to}, {change:+.1f} %)")
        users = sum(1 for t in tests if t[2] == "user-space")
        print(f"{figure}: {len(tests)} rows ({users} user-space), Holm-significant {len(caught)}: {', '.join(caught)}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "sd":
        sd(sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "power":
        power(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) == 5 else 0.0)
    else:
        sys.exit(__doc__)
