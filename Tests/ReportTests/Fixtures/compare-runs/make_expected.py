#!/usr/bin/env python3
"""Expected run-level statistics for nestprobe compare, computed independently with SciPy and NumPy.

Writes expected.json beside this script, which Tests/ReportTests/RunStatisticsOracleTests.swift reads:

- mannWhitney: fixed sets of run figures with scipy.stats.mannwhitneyu(x, y, alternative="two-sided")'s U
  and p, method="exact" where there are no ties and both sides hold at most 50 values (as nestprobe), else
  method="asymptotic" (tie and continuity correction); and the smallest p the exact test can reach,
  2 / C(n + m, n), from exact integers.
- holm: p-value vectors with Holm-Bonferroni adjusted values, by sorting and a running maximum in NumPy.
- normalQuantiles: scipy.stats.norm.ppf at fixed probabilities.
- detectable: the minimum detectable change (formula in Sources/Report/DetectableChange.swift) from the
  pooled robust log spread, computed here with NumPy medians and SciPy's normal quantiles.
- bootstrap: run sets (each run a list of samples, or only a median) with the 95 % two-stage bootstrap
  interval of median-of-run-medians(new) / median-of-run-medians(base), resampled textbook style (draw run
  indices, then every sample of each drawn run) with NumPy's PCG64 -- another generator and another way of
  drawing than nestprobe's, so the two agree only within Monte Carlo error. That error is measured here:
  REPLICATES independent NumPy intervals at nestprobe's 10,000 resamples give each endpoint's standard
  deviation s; the expected endpoint is their mean, and the tolerance is 4 s sqrt(1 + 1/REPLICATES) (the
  standard deviation of the difference between one nestprobe run and the mean, four times: a chance
  failure about once in 16,000 endpoints if the algorithms agree), but at least FLOOR: on quantized
  samples (the TSC under kvm_pvm moves in steps of 26 cycles) an endpoint can sit on one value in every
  replicate and still move by a lattice step now and then; 0.002 of the ratio is 0.2 percentage points
  of change, a tenth of the smallest threshold a gate would use. The interval of the one-stage bootstrap
  that pools all samples (the pseudo-replication nestprobe must not do) is recorded too, so the test can
  show that the tolerance is tight enough to tell the two apart.

Run from anywhere:  python3 Tests/ReportTests/Fixtures/compare-runs/make_expected.py
"""

import json
import math
import os

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
RESAMPLES = 10_000
REPLICATES = 16
FLOOR = 0.002
MAXIMUM_EXACT = 50


def runs_of(rng, count, samples, center, between, within, quantum=None):
    """count runs; each run's level is lognormal around center, its samples lognormal around the level."""
    out = []
    for _ in range(count):
        level = center * math.exp(rng.normal(0, between))
        values = level * np.exp(rng.normal(0, within, samples))
        if quantum:
            values = np.round(values / quantum) * quantum
        out.append([float(v) for v in values])
    return out


def mann_whitney_sets():
    rng = np.random.default_rng(20250611)
    lognormal = lambda n, shift, sigma: [float(v) for v in 1000 * shift * np.exp(rng.normal(0, sigma, n))]
    return [
        ("5 vs 5, fully separated", [1.0, 2, 3, 4, 5], [6.0, 7, 8, 9, 10]),
        ("5 vs 5, interleaved", [1.0, 3, 5, 7, 9], [2.0, 4, 6, 8, 10]),
        ("1 vs 1", [3.0], [4.0]),
        ("3 vs 8", lognormal(3, 1, 0.05), lognormal(8, 1.03, 0.05)),
        ("10 vs 10, 5 % shift", lognormal(10, 1, 0.05), lognormal(10, 1.05, 0.05)),
        ("7 vs 12, no shift", lognormal(7, 1, 0.1), lognormal(12, 1, 0.1)),
        ("20 vs 20, 10 % shift", lognormal(20, 1, 0.08), lognormal(20, 1.1, 0.08)),
        ("50 vs 50, 2 % shift", lognormal(50, 1, 0.05), lognormal(50, 1.02, 0.05)),
        ("50 vs 13, separated", lognormal(50, 1, 0.01), lognormal(13, 1.5, 0.01)),
        ("ties, 10 vs 10", [26.0 * v for v in [10, 11, 11, 12, 13, 13, 13, 14, 15, 16]],
         [26.0 * v for v in [11, 12, 13, 13, 14, 15, 15, 16, 17, 18]]),
        ("60 vs 40, above the exact size", lognormal(60, 1, 0.05), lognormal(40, 1.01, 0.05)),
    ]


def mann_whitney():
    out = []
    for name, x, y in mann_whitney_sets():
        ties = len(set(x + y)) < len(x) + len(y)
        method = "exact" if not ties and max(len(x), len(y)) <= MAXIMUM_EXACT else "asymptotic"
        result = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
        smallest = min(1.0, 2 / math.comb(len(x) + len(y), len(x)))
        out.append({"name": name, "x": x, "y": y, "method": method, "u": float(result.statistic),
                    "p": float(result.pvalue), "smallestP": smallest})
    return out


def holm_adjust(p):
    p = np.asarray(p, float)
    k = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1, (k - np.arange(k)) * p[order])
    adjusted = np.empty(k)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [float(v) for v in adjusted]


def holm():
    vectors = [
        [0.01, 0.04, 0.03, 0.005],
        [0.5],
        [0.001, 0.001, 0.2, 0.9, 0.0001, 0.04],
        [1e-12, 0.3, 0.02, 0.011, 0.012, 0.9, 0.0049, 0.7, 0.05, 0.6],
        [0.2, 0.3, 0.4],
    ]
    return [{"p": v, "adjusted": holm_adjust(v)} for v in vectors]


def normal_quantiles():
    ps = [1e-300, 1e-20, 1e-9, 1e-5, 0.000833, 0.01, 0.025, 0.2, 0.5, 0.8, 0.975, 0.99916, 1 - 1e-9]
    return [{"p": p, "z": float(stats.norm.ppf(p))} for p in ps]


def pooled_log_spread(base, new):
    deviations = []
    for side in (base, new):
        logs = np.log(side)
        deviations.extend(np.abs(logs - np.median(logs)))
    return 1.4826 * float(np.median(deviations))


def detectable():
    out = []
    for entry in mann_whitney_sets()[3:]:
        name, x, y = entry
        for rows in (1, 30):
            level = 0.05 / rows
            reachable = 2 / math.comb(len(x) + len(y), len(x)) <= level
            spread = pooled_log_spread(x, y)
            z = stats.norm.ppf(1 - level / 2) + stats.norm.ppf(0.8)
            scale = math.sqrt(1 / len(x) + 1 / len(y)) * math.sqrt(math.pi / 3)
            mde = (math.exp(z * spread * scale) - 1) * 100 if reachable else None
            out.append({"name": name, "x": x, "y": y, "level": level, "spread": spread, "percent": mde})
    return out


def side_figures(rng, runs, resamples):
    """Median of run medians for each of `resamples` two-stage resamples of one side."""
    n = len(runs)
    chosen = rng.integers(0, n, size=(resamples, n))
    medians = np.empty((resamples, n))
    for r, run in enumerate(runs):
        where = chosen == r
        count = int(where.sum())
        if count == 0:
            continue
        if len(run["samples"]) == 0:
            medians[where] = run["median"]
            continue
        samples = np.asarray(run["samples"])
        draws = samples[rng.integers(0, len(samples), size=(count, len(samples)))]
        medians[where] = np.median(draws, axis=1)
    return np.median(medians, axis=1)


def interval(rng, base, new, resamples):
    ratios = side_figures(rng, new, resamples) / side_figures(rng, base, resamples)
    return np.percentile(ratios, [2.5, 97.5])


def pooled_interval(rng, base, new, resamples):
    """The one-stage bootstrap over all samples of a side, as if they were independent."""
    x = np.concatenate([r["samples"] for r in base])
    y = np.concatenate([r["samples"] for r in new])
    mx = np.median(x[rng.integers(0, len(x), size=(resamples, len(x)))], axis=1)
    my = np.median(y[rng.integers(0, len(y), size=(resamples, len(y)))], axis=1)
    return [float(v) for v in np.percentile(my / mx, [2.5, 97.5])]


def as_runs(sample_lists, median_only=()):
    out = []
    for i, samples in enumerate(sample_lists):
        if i in median_only:
            out.append({"median": float(np.median(samples)), "samples": []})
        else:
            out.append({"median": float(np.median(samples)), "samples": samples})
    return out


def bootstrap_sets():
    rng = np.random.default_rng(611)
    return [
        ("10 vs 10 runs of 60, 8 % slower", as_runs(runs_of(rng, 10, 60, 2000, 0.05, 0.03)),
         as_runs(runs_of(rng, 10, 60, 2160, 0.05, 0.03))),
        ("5 vs 5 runs of 41, same", as_runs(runs_of(rng, 5, 41, 800, 0.1, 0.02)),
         as_runs(runs_of(rng, 5, 41, 800, 0.1, 0.02))),
        ("12 vs 9 runs of 31, quantized to 26", as_runs(runs_of(rng, 12, 31, 1300, 0.04, 0.05, 26)),
         as_runs(runs_of(rng, 9, 31, 1400, 0.04, 0.05, 26))),
        ("8 vs 8, three runs median only", as_runs(runs_of(rng, 8, 50, 500, 0.06, 0.04), median_only=(1, 4, 6)),
         as_runs(runs_of(rng, 8, 50, 470, 0.06, 0.04), median_only=(0, 7))),
    ]


def bootstrap():
    out = []
    rng = np.random.default_rng(20250612)
    for name, base, new in bootstrap_sets():
        replicates = np.array([interval(rng, base, new, RESAMPLES) for _ in range(REPLICATES)])
        spread = replicates.std(axis=0, ddof=1)
        tolerance = np.maximum(4 * spread * math.sqrt(1 + 1 / REPLICATES), FLOOR)
        out.append({
            "name": name, "base": base, "new": new,
            "ratioCI95": [float(v) for v in replicates.mean(axis=0)],
            "tolerance": [float(v) for v in tolerance],
            "pooledRatioCI95": pooled_interval(rng, [r for r in base if r["samples"]],
                                               [r for r in new if r["samples"]], RESAMPLES),
        })
    return out


def main():
    document = {
        "generator": "make_expected.py with scipy %s, numpy %s" % (scipy.__version__, np.__version__),
        "resamples": RESAMPLES,
        "replicates": REPLICATES,
        "mannWhitney": mann_whitney(),
        "holm": holm(),
        "normalQuantiles": normal_quantiles(),
        "detectable": detectable(),
        "bootstrap": bootstrap(),
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(document, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
