#!/usr/bin/env python3
"""Expected statistics for nestprobe compare, computed independently with SciPy and NumPy.

Writes expected.json beside this script. For each named pair of sample sets (base x, new y) it records
scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)'s
U (for x) and p, NumPy's medians, and a percentile-bootstrap 95 % interval of median(y) / median(x)
from scipy.stats.bootstrap with many resamples (a different generator than nestprobe's, so the Swift
test checks that interval to a tolerance, not to the digit).

Run from anywhere:  python3 Tests/ReportTests/Fixtures/compare/make_expected.py
"""

import json
import os

import numpy as np
import scipy
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "pvm-host-genoa.bench.json")


def real_samples(case_id):
    with open(REPORT) as f:
        report = json.load(f)
    for entry in report["cases"] + report["hostLevel"]:
        if entry["id"] == case_id:
            return [int(v) for v in entry["samplesCycles"]]
    raise KeyError(case_id)


def sets():
    rng = np.random.default_rng(20240611)
    lognormal = np.round(rng.lognormal(mean=8.0, sigma=0.15, size=240)).astype(int).tolist()
    pio = real_samples("pio-kernel/real")
    cpuid = real_samples("cpuid-0/host")
    return [
        ("ties, unequal sizes", [1, 2, 2, 3, 3, 3, 4, 5], [2, 3, 3, 4, 4, 6, 7, 7, 8]),
        ("identical sets", [5, 5, 6, 7, 7, 7, 9, 12, 12, 30], [5, 5, 6, 7, 7, 7, 9, 12, 12, 30]),
        ("one value everywhere", [3] * 10, [3] * 12),
        ("no overlap", list(range(1, 31)), list(range(31, 56))),
        ("small shift, heavy ties", [10] * 20 + [11] * 15 + [12] * 5, [10] * 14 + [11] * 16 + [12] * 9 + [13] * 2),
        ("lognormal vs 3 % slower", lognormal, [int(round(v * 1.03)) for v in lognormal[:200]]),
        ("real pio-kernel/real vs itself scaled 1.02", pio, [int(round(v * 1.02)) for v in pio]),
        ("real cpuid-0/host first half vs second half", cpuid[:2000], cpuid[2000:]),
    ]


def bootstrap_ratio(x, y):
    res = stats.bootstrap(
        (np.asarray(x, float), np.asarray(y, float)),
        lambda a, b, axis: np.median(b, axis=axis) / np.median(a, axis=axis),
        paired=False, vectorized=True, n_resamples=20000, method="percentile",
        confidence_level=0.95, random_state=np.random.default_rng(7))
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


def main():
    out = []
    for name, x, y in sets():
        result = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
        out.append({
            "name": name,
            "x": x,
            "y": y,
            "u": float(result.statistic),
            "p": float(result.pvalue),
            "medianX": float(np.median(x)),
            "medianY": float(np.median(y)),
            "bootstrapRatioCI95": bootstrap_ratio(x, y),
        })
    document = {
        "generator": "make_expected.py with scipy %s, numpy %s" % (scipy.__version__, np.__version__),
        "cases": out,
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(document, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
