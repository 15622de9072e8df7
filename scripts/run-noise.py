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

  run-noise.py levels REPORT...      the machine's level within and between reports, as compare's replicate
                                     judgement takes it out (issue 11): each run's level (shorth over the
                                     rows run in every run), the judged rows' spread between reports with
                                     the report's level alone and with each run's level first, the share of
                                     a row's variance that lies between reports once the runs are corrected,
                                     and each row's slope on the report's level

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


def shorth(values):
    """Mean of the shortest half (floor(n/2) + 1 values), as compare takes the machine's level."""
    x = sorted(values)
    h = len(x) // 2 + 1
    best = min(range(len(x) - h + 1), key=lambda i: (x[i + h - 1] - x[i], i))
    return float(np.mean(x[best:best + h]))


def judged_by_default(report, case):
    """Whether compare judges the case by default: not an in-kernel exit of an emulated mode, not a row
    that times no exit."""
    if case.get("status") != "ok" or case.get("exitsTo") == "none":
        return False
    mode = next((m for m in report.get("guestExecution", [])
                 if m.get("mode") == case.get("mode") and m.get("cpl") == case.get("cpl")), None)
    return case.get("exitsTo") == "user-space" or not (mode and mode.get("emulated"))


def levels(paths):
    reports = [json.load(open(p)) for p in paths]
    ids = [c["id"] for c in reports[0]["cases"]
           if all(any(d["id"] == c["id"] and d.get("status") == "ok" for d in r["cases"]) for r in reports)]
    runs = {}  # id -> per report: list of (gross, net) per run
    for r in reports:
        cases = {c["id"]: c for c in r["cases"]}
        for i in ids:
            runs.setdefault(i, []).append(
                [(x["medianCycles"], x["medianCycles"] - (x.get("baselineMedianCycles") or 0))
                 for x in cases[i]["perRun"]])
    count = min(len(v) for rr in runs.values() for v in rr)
    complete = [i for i in ids if all(len(v) == count and all(g > 0 for g, _ in v) for v in runs[i])]
    run_levels = []
    for j in range(len(reports)):
        logs = [[math.log(runs[i][j][k][0]) for k in range(count)] for i in complete]
        means = [np.mean(x) for x in logs]
        run_levels.append([shorth([x[k] - m for x, m in zip(logs, means)]) for k in range(count)])
    spread = [max(l) - min(l) for l in run_levels]
    print(f"{len(reports)} reports of {count} runs, {len(complete)} rows run in every run")
    print(f"each run's level within its report: range median {100 * np.median(spread):.1f} %, "
          f"max {100 * max(spread):.1f} % (log)")
    judged = [i for i in complete if judged_by_default(reports[0], next(c for c in reports[0]["cases"] if c["id"] == i))]

    def figures(corrected):
        out = {}
        for i in complete:
            vals = []
            for j in range(len(reports)):
                scale = [math.exp(-lv) for lv in run_levels[j]] if corrected else [1.0] * count
                net = float(np.median([runs[i][j][k][1] * scale[k] for k in range(count)]))
                gross = float(np.median([runs[i][j][k][0] * scale[k] for k in range(count)]))
                vals.append(math.log(net if net > 0 else gross))
            out[i] = vals
        return out

    def report_levels(f):
        means = {i: np.mean(f[i]) for i in complete}
        return [shorth([f[i][j] - means[i] for i in complete]) for j in range(len(reports))]

    results = {}
    for label, corrected in (("report's level only", False), ("each run's level first", True)):
        f = figures(corrected)
        c = report_levels(f)
        sds = {i: float(np.std([f[i][j] - c[j] for j in range(len(reports))], ddof=1)) for i in judged}
        results[label] = (f, c, sds)
        print(f"judged rows' spread between reports, {label}: median {100 * np.median(list(sds.values())):.2f} % "
              f"over {len(judged)} rows")
    f, c, _ = results["each run's level first"]
    print("per judged row: between-report share of the variance (runs corrected), slope on the report's level")
    for i in judged:
        k = count
        per_run = [[math.log(max(runs[i][j][r][1] * math.exp(-run_levels[j][r]), 1e-9)) - c[j] for r in range(k)]
                   for j in range(len(reports))]
        within = float(np.mean([np.var(x, ddof=1) for x in per_run])) if k > 1 else float("nan")
        between = float(np.var([np.mean(x) for x in per_run], ddof=1)) - within / k
        share = max(between, 0.0) / (max(between, 0.0) + within) if within == within else float("nan")
        y = np.array(f[i]) - np.mean(f[i])
        x = np.array(c) - np.mean(c)
        slope = float((x @ y) / (x @ x)) if float(x @ x) > 0 else float("nan")
        print(f"  {i:38s} share {share:4.2f}  slope {slope:5.2f}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "sd":
        sd(sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "levels":
        levels(sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "power":
        power(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) == 5 else 0.0)
    else:
        sys.exit(__doc__)
