#!/usr/bin/env python3
"""Writes the fuzz seeds (Fuzz/seeds/TARGET/*.json): small documents cut from the committed fixtures, and
the inputs of issue 9 that once stopped nestprobe — numbers at the top of what the schema allows.
Run from the repository root; the files are committed, so this only documents how they were made."""
import copy
import json
import os

def write(target, name, document, replace=None):
    text = json.dumps(document, indent=1, sort_keys=True)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path = f"Fuzz/seeds/{target}/{name}.json"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text + "\n")

report = json.load(open("Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json"))
small = copy.deepcopy(report)
keep = {"rdtsc/real", "cpuid-0/real", "hlt/real", "rdtsc/long64-cpl0", "cpuid-0/long64-cpl0", "pio-in/real"}
small["cases"] = [c for c in small["cases"] if c["id"] in keep or c["status"] != "ok"][:10]
for c in small["cases"]:
    c["samplesCycles"] = c["samplesCycles"][:12]
for h in small["hostLevel"]:
    h["samplesCycles"] = h["samplesCycles"][:12]
small["table"] = [r for r in small["table"] if r["caseID"] in keep][:4]
write("report", "small", small)
with_baseline = next(i for i, c in enumerate(small["cases"]) if c["status"] == "ok" and c.get("baselineMedianCycles") is not None)
ok = [i for i, c in enumerate(small["cases"]) if c["status"] == "ok"]

d = copy.deepcopy(small); d["cases"][with_baseline]["baselineMedianCycles"] = 1e19
write("report", "baseline-1e19", d)
d = copy.deepcopy(small)
for i in ok:
    d["cases"][i]["samplesCycles"] = [2**64 - 1] * 12
write("report", "samples-max", d)
d = copy.deepcopy(small); d["cases"][ok[0]]["netMedianNanoseconds"] = 1e19
write("report", "net-ns-1e19", d)
d = copy.deepcopy(small); d["context"]["levelConfidence"] = 1e17
write("report", "confidence-1e17", d)
d = copy.deepcopy(small); d["table"][0]["multiplier"] = "MAX"
write("report", "multiplier-max", d, {'"MAX"': "1.7976931348623157e308"})
d = copy.deepcopy(small); d["cases"][with_baseline]["baselineMedianCycles"] = "MAX"
d["hostLevel"][0]["statistics"]["cycles"]["p50"] = "MAX"
write("report", "baseline-max", d, {'"MAX"': "1.7976931348623157e308"})

snapshot = json.load(open("Tests/ProbeTests/Fixtures/snapshots/pvm-host-genoa.json"))
snapshot["hostTiming"]["value"]["samplesCycles"] = snapshot["hostTiming"]["value"]["samplesCycles"][:16]
snapshot["hostTiming"]["value"]["overheadCycles"] = snapshot["hostTiming"]["value"]["overheadCycles"][:16]
write("snapshot", "pvm-small", snapshot)
d = copy.deepcopy(snapshot); d["hostTiming"]["value"]["samplesCycles"] = [10**19] * 16
write("snapshot", "timing-1e19", d)
d = copy.deepcopy(snapshot); d["hostTiming"]["value"]["samplesCycles"] = [2**64 - 1] * 16
d["hostTiming"]["value"]["tsc"]["hz"] = 1e6
write("snapshot", "timing-max-slow-tsc", d)

policy = json.load(open("Reports/policies/fast-exits.json"))
d = copy.deepcopy(policy)
d["rules"]["cases"]["cpuid-0/host"] = {"p50Cycles": "MAX"}
d["rules"]["multipliers"]["cpuid-0/long64-cpl0"] = {"max": "MAX"}
write("policy", "limits-max", d, {'"MAX"': "1.7976931348623157e308"})
d = copy.deepcopy(policy)
d["rules"]["cases"]["cpuid-0/host"] = {"p50Cycles": 1e-300}
d["rules"]["multipliers"]["cpuid-0/long64-cpl0"] = {"max": 1e-300}
write("policy", "limits-tiny", d)
