#!/usr/bin/env python3
"""Synthetic series with known steps, and the change points Apache Otava finds in them.

Writes expected.json beside this script: 30 series of 200 points (1,000 cycles, 5 % Gaussian noise) with
one to three steps of ±10 % at known places, and 20 flat series of the same noise; for each, the steps and
the change points of Otava's E-divisive means with a permutation test (otava.analysis.
compute_change_points_orig, the method of Matteson & James that nestprobe's EDivisive implements), kept
when the medians either side differ by at least 5 % as nestprobe reports them. HistoryTests compares
nestprobe's change points with these. scripts/check-oracles.py reruns this and compares.
"""
import json
import os

import numpy as np
from otava.analysis import compute_change_points_orig

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(20261205)


def stepped(n, steps):
    level = np.ones(n) * 1000.0
    for at, factor in steps:
        level[at:] *= factor
    return level * (1 + 0.05 * rng.standard_normal(n))


def otava(series, seed):
    points, _ = compute_change_points_orig(list(series), max_pvalue=0.01, seed=seed)
    found = sorted(int(p.index) for p in points)
    # Report as nestprobe does: a split counts when the medians of its two segments differ by ≥ 5 %.
    cuts = [0] + found + [len(series)]
    kept = []
    for k, index in enumerate(found):
        before = float(np.median(series[cuts[k]:cuts[k + 1]]))
        after = float(np.median(series[cuts[k + 1]:cuts[k + 2]]))
        if abs(after / before - 1) >= 0.05:
            kept.append(index)
    return kept


cases = []
for i in range(30):
    count = 1 + i % 3
    while True:
        places = sorted(rng.choice(np.arange(15, 186), size=count, replace=False).tolist())
        if all(b - a >= 30 for a, b in zip(places, places[1:])):
            break
    steps = [(int(at), 1.1 if rng.rand() < 0.5 else 1 / 1.1) for at in places]
    series = stepped(200, steps)
    cases.append({"name": f"step-{i}", "values": [round(v, 3) for v in series],
                  "steps": [at for at, _ in steps], "otava": otava(np.round(series, 3), i)})
for i in range(20):
    series = stepped(200, [])
    cases.append({"name": f"flat-{i}", "values": [round(v, 3) for v in series], "steps": [],
                  "otava": otava(np.round(series, 3), 100 + i)})

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump({"series": cases}, f, indent=1)
    f.write("\n")
