#!/usr/bin/env python3
"""The oracle for compare's replicate test (Sources/Report/ReplicateJudge.swift, SpecialFunctions.swift),
computed independently with SciPy and NumPy into expected.json beside this file.

- digamma, trigamma, tetragamma: scipy.special.digamma / polygamma; the inverse of trigamma by
  scipy.optimize.brentq (root finding, not Newton as the Swift code does);
- Student's t: scipy.stats.t.sf (two-sided p) and t.isf (quantile); the incomplete beta:
  scipy.special.betainc;
- the shorth (mean of the shortest half) by brute force over every window;
- the empirical-Bayes prior (Smyth 2004's method of moments, limma's fitFDist) and a whole replicate
  judgement of fixed rows: report shifts, moderated t, Holm, interval and detectable change.
Rerun by scripts/check-oracles.py, which fails when the committed file and a fresh run disagree.
"""
import json
import math
import os

import numpy as np
from scipy import optimize, special, stats

HERE = os.path.dirname(os.path.abspath(__file__))


def shorth(values):
    x = sorted(v for v in values if math.isfinite(v))
    n = len(x)
    h = n // 2 + 1
    widths = [x[i + h - 1] - x[i] for i in range(n - h + 1)]
    best = min(range(len(widths)), key=lambda i: (widths[i], i))
    return float(np.mean(x[best:best + h]))


def trigamma_inverse(y):
    return optimize.brentq(lambda x: special.polygamma(1, x) - y, 1e-8, 1e9, xtol=1e-14, rtol=1e-14, maxiter=500)


def prior(variances, d):
    logs = np.log([v for v in variances if v > 0 and math.isfinite(v)])
    e = logs - special.digamma(d / 2) + math.log(d / 2)
    mean = float(np.mean(e))
    excess = float(np.var(e, ddof=1)) - float(special.polygamma(1, d / 2))
    if excess > 0:
        d0 = 2 * trigamma_inverse(excess)
        return d0, math.exp(mean + special.digamma(d0 / 2) - math.log(d0 / 2))
    return math.inf, math.exp(mean)


def holm(p):
    order = sorted(range(len(p)), key=lambda i: (p[i], i))
    out, running = [1.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out


def judge(rows, alpha):
    nb, nn = len(rows[0]["base"]), len(rows[0]["new"])
    d = nb + nn - 2
    variances = []
    for r in rows:
        b, n = np.array(r["base"]), np.array(r["new"])
        variances.append(float((((b - b.mean()) ** 2).sum() + ((n - n.mean()) ** 2).sum()) / d))
    d0, s0 = prior(variances, d)
    level = alpha / len(rows)
    out = []
    for r, v in zip(rows, variances):
        diff = float(np.mean(r["new"]) - np.mean(r["base"]))
        if math.isinf(d0):
            var, df = s0, math.inf
        else:
            var, df = (d0 * s0 + d * v) / (d0 + d), d0 + d
        se = math.sqrt(var * (1 / nb + 1 / nn))
        t = diff / se
        dist = stats.norm if math.isinf(df) else stats.t(df)
        p = float(2 * dist.sf(abs(t)))
        half = float(dist.isf(0.025)) * se
        detect = (float(dist.isf(level / 2)) + float(dist.isf(0.2))) * se
        pct = lambda x: (math.exp(x) - 1) * 100
        out.append({"id": r["id"], "change": pct(diff), "interval": [pct(diff - half), pct(diff + half)],
                    "t": t, "degrees": df if math.isfinite(df) else None, "p": p, "detectable": pct(detect)})
    for row, adjusted in zip(out, holm([o["p"] for o in out])):
        row["adjustedP"] = adjusted
    return {"priorDegrees": d0 if math.isfinite(d0) else None, "priorVariance": s0, "rows": out}


def main():
    grid = [0.05, 0.3, 0.5, 1, 1.5, 2, 3.7, 7.9, 8, 12.5, 50, 1000]
    polygamma = [{"x": x, "digamma": float(special.digamma(x)), "trigamma": float(special.polygamma(1, x)),
                  "tetragamma": float(special.polygamma(2, x))} for x in grid]
    inverse = [{"y": y, "x": trigamma_inverse(y)} for y in [1e-5, 0.01, 0.2, 0.5, 1, 1.6449, 3, 40, 5000]]
    t_cases = []
    for df in [1, 2, 3.5, 6, 14.2, 60, 300]:
        for t in [0, 0.4, 1.3, 2.1, 3.3, 6, 15]:
            t_cases.append({"t": t, "degrees": df, "p": float(2 * stats.t.sf(t, df))})
    quantiles = [{"p": p, "degrees": df, "t": float(stats.t.isf(p / 2, df))}
                 for df in [1, 3, 6, 20.5, 200] for p in [0.4, 0.05, 0.01, 0.05 / 40, 1e-6]]
    beta = [{"x": x, "a": a, "b": b, "value": float(special.betainc(a, b, x))}
            for (a, b) in [(0.5, 0.5), (3, 0.5), (10, 2.5), (40, 0.5)] for x in [0.01, 0.2, 0.5, 0.93, 0.999]]
    rng = np.random.default_rng(20261206)
    shorths = []
    for n in [1, 2, 5, 12, 33]:
        values = [float(v) for v in np.round(rng.normal(0, 0.05, n), 6)]
        if n >= 12:  # a third of the rows moved together, as an injected slowdown moves them
            for i in range(n // 3):
                values[i] += 0.2
        shorths.append({"values": values, "shorth": shorth(values)})
    # A replicate judgement: 30 rows, 4 reports a side, each row its own noise, rows 0–5 slowed by 12 %.
    rows = []
    sd = rng.uniform(0.01, 0.06, 30)
    for i in range(30):
        base = rng.normal(math.log(1000 + 500 * i), sd[i], 4)
        new = rng.normal(math.log(1000 + 500 * i) + (math.log(1.12) if i < 6 else 0), sd[i], 4)
        rows.append({"id": f"row-{i}", "base": [round(float(v), 9) for v in base],
                     "new": [round(float(v), 9) for v in new], "thresholdPercent": 5})
    flat = [{"id": r["id"], "base": r["base"], "new": r["new"], "thresholdPercent": 5} for r in rows]
    # Raw report figures = the rows above plus each report's machine level; the judge must take it out.
    levels = [0.03, -0.05, 0.11, 0.0, 0.2, 0.17, 0.25, 0.19]
    raw = [[v + levels[j] for j, v in enumerate(r["base"] + r["new"])] for r in rows]
    shifts = []
    for j in range(8):
        means = [float(np.mean(r)) for r in raw]
        shifts.append(shorth([r[j] - m for r, m in zip(raw, means)]))
    document = {
        "polygamma": polygamma, "trigammaInverse": inverse, "tTwoSided": t_cases, "tQuantile": quantiles,
        "incompleteBeta": beta, "shorth": shorths,
        "prior": [{"variances": [0.0004, 0.0009, 0.0016, 0.0001, 0.0025, 0.0012], "degrees": 6,
                   "result": dict(zip(["d0", "s0"], prior([0.0004, 0.0009, 0.0016, 0.0001, 0.0025, 0.0012], 6)))}],
        "judgement": {"alpha": 0.05, "rows": flat, "result": judge(flat, 0.05)},
        "reportShifts": {"raw": raw, "shifts": shifts},
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(document, f, indent=1, allow_nan=False, default=lambda v: None)
        f.write("\n")


if __name__ == "__main__":
    main()
