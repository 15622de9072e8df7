#!/usr/bin/env python3
"""The oracle of nestprobe fleet's outlier rule, computed with NumPy, independently of the Swift code.

Writes input.json (groups of positive figures, made with a seeded random.Random: lognormal noise around a
base, some hosts moved on purpose, groups too small to judge, groups without spread) and expected.json (per
group, null when it is too small, else per value ln(value / group median), the score in scaled MADs (null
for a zero spread) and whether it is an outlier). The rule (Sources/Report/Fleet+Outliers.swift): on
x = ln(value), centre = median(x), spread = 1.4826 * median(|x - centre|); an outlier when
|x - centre| > k * spread (any departure when spread is 0) and |x - centre| > ln(minimumRatio); groups with
fewer than minimumGroup values are not judged. scripts/check-oracles.py reruns this and compares.
"""
import json
import math
import os
import random

import numpy as np

K, MINIMUM_RATIO, MINIMUM_GROUP = 3.5, 1.6, 5
here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261206)


def noisy(base, n, sigma):
    return [base * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


groups = [
    noisy(3100, 3, 0.03),                      # too small to judge
    noisy(3100, 5, 0.03),                      # the smallest judged group, no planted outlier
    noisy(9200, 6, 0.02) + [9200 * 1.8],       # one host 80 % slower
    noisy(1700, 8, 0.04) + [1700 * 0.55],      # one host 1.8 times faster
    noisy(18000, 12, 0.03) + [18000 * 1.4],    # 40 % slower: beyond k MADs, not beyond the floor
    noisy(2200, 20, 0.08) + [2200 * 1.3, 2200 * 2.5],  # a wide group: 30 % passes, 150 % does not
    [5000.0] * 6 + [5000.0 * 1.7],             # no spread: any departure beyond the floor counts
    [5000.0] * 6 + [5000.0 * 1.5],             # no spread, but only 50 %
    noisy(800, 40, 0.01),                      # A/A-like: tight, no outlier expected
]
groups = [[round(v, 3) for v in g] for g in groups]

expected = []
for values in groups:
    if len(values) < MINIMUM_GROUP:
        expected.append(None)
        continue
    x = np.log(np.array(values, dtype=np.float64))
    centre = float(np.median(x))
    spread = 1.4826 * float(np.median(np.abs(x - centre)))
    rows = []
    for xi in x:
        d = float(xi - centre)
        far = abs(d) > K * spread if spread > 0 else d != 0
        rows.append({"logRatio": d, "score": d / spread if spread > 0 else None,
                     "outlier": bool(far and abs(d) > math.log(MINIMUM_RATIO))})
    expected.append(rows)

with open(os.path.join(here, "input.json"), "w") as f:
    json.dump({"k": K, "minimumRatio": MINIMUM_RATIO, "minimumGroup": MINIMUM_GROUP, "groups": groups}, f, indent=1)
    f.write("\n")
with open(os.path.join(here, "expected.json"), "w") as f:
    json.dump({"groups": expected}, f, indent=1)
    f.write("\n")
print("fleet-outliers: %d groups, %d outliers" % (
    len(groups), sum(r["outlier"] for g in expected if g for r in g)))
