#!/usr/bin/env python3
"""The newest-report test's figures, computed with NumPy, for HistoryTests to compare with NewestReportTest.

Writes expected.json beside this script: 12 synthetic cases of 30 earlier reports and a newest one (report
medians in cycles; Gaussian noise of 1–8 % on a log scale, one-report blips of +25 % in some, the newest
report 0–20 % off), and for each case the newest report's signed robust z-score and the earlier reports'
absolute leave-one-out scores (log figures; centre numpy.median, scale 1.4826 × the median absolute
deviation), each score's tail probability (scipy.stats.t.sf of |z| / √(1 + π / 2m), 0.4 m degrees of
freedom, m the reports it came from), then each case's p-value against the pooled tails of all 12:
(1 + pooled tails ≤ its own) / (pool + 1). Also two edge cases: a series that never varied (scale from the mean absolute deviation, then
infinite scores), and 250 earlier reports (past 200, scored about all of them, not left out).
scripts/check-oracles.py reruns this and compares.
"""
import json
import math
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.RandomState(20261206)


def spread(logs):
    centre = float(np.median(logs))
    distances = np.abs(np.asarray(logs) - centre)
    mad = 1.4826 * float(np.median(distances))
    mean = float(np.mean(distances)) * math.sqrt(math.pi / 2)
    return centre, (mad if mad > 0 else mean)


def score(value, centre, scale):
    if scale > 0:
        return (value - centre) / scale
    if value == centre:
        return 0.0
    return math.inf if value > centre else -math.inf


def scores(newest, past, leave_one_out_limit=200):
    logs = np.log(np.asarray(past, dtype=float))
    centre, scale = spread(logs)
    newest_score = score(math.log(newest), centre, scale)
    if len(logs) > leave_one_out_limit:
        past_scores = [abs(score(v, centre, scale)) for v in logs]
    else:
        past_scores = []
        for i in range(len(logs)):
            c, s = spread(np.delete(logs, i))
            past_scores.append(abs(score(logs[i], c, s)))
    return newest_score, past_scores


def tail(z, m):
    if math.isinf(z):
        return 0.0
    return float(2 * stats.t.sf(abs(z) / math.sqrt(1 + math.pi / (2 * m)), 0.4 * m))


def finite(x):
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


cases = []
for k in range(12):
    noise = [0.01, 0.02, 0.04, 0.08][k % 4]
    past = 1000.0 * np.exp(noise * rng.standard_normal(30))
    if k % 3 == 2:
        past[rng.randint(30)] *= 1.25
    shift = [1.0, 1.05, 1.2][k % 3]
    newest = float(1000.0 * shift * math.exp(noise * rng.standard_normal()))
    z, past_scores = scores(newest, past)
    cases.append({"past": [float(v) for v in past], "newest": newest, "deviation": z, "pastDeviations": past_scores,
                  "tail": tail(z, 30), "pastTails": [tail(v, 29) for v in past_scores]})

pool = np.sort(np.concatenate([c["pastTails"] for c in cases]))
for c in cases:
    c["pValue"] = float((1 + np.sum(pool <= c["tail"])) / (len(pool) + 1))

flat_z, flat_scores = scores(1010.0, [1000.0] * 29 + [1002.0])
constant_z, constant_scores = scores(1010.0, [1000.0] * 30)
long_past = 1000.0 * np.exp(0.03 * rng.standard_normal(250))
long_z, long_scores = scores(1100.0, long_past)
expected = {
    "cases": cases,
    "edges": [
        {"past": [1000.0] * 29 + [1002.0], "newest": 1010.0, "deviation": finite(flat_z),
         "pastDeviations": [finite(v) for v in flat_scores]},
        {"past": [1000.0] * 30, "newest": 1010.0, "deviation": finite(constant_z),
         "pastDeviations": [finite(v) for v in constant_scores]},
        {"past": [float(v) for v in long_past], "newest": 1100.0, "deviation": long_z, "pastDeviations": long_scores,
         "tail": tail(long_z, 250), "pastTails": [tail(v, 250) for v in long_scores]},
    ],
}
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"wrote {len(cases)} cases, pool of {len(pool)}")
