#!/usr/bin/env python3
"""Writes the fleet fixture the tests and the golden outputs read (rerun it to regenerate; it is seeded).

Six kvm_pvm hosts of one machine (genoa-a … genoa-f, from scripts/make-fleet-reports.py's report) with
labels from `label` files, from the Ansible playbook's host.json (genoa-d) and from fleet-labels.json; genoa-e is twice as slow on pio-out-user/long64-cpl0
(the outlier); genoa-a has two bench reports and a qualification that qualified, genoa-b one that did not;
down-z has only the playbook's host.json saying it was down; intel-x has a diagnosis only (its own machine group) and a comparison (left out); broken/ holds a
truncated report and a JSON file with no schema (the two error rows).
"""
import importlib.util
import json
import math
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
spec = importlib.util.spec_from_file_location("fleet", os.path.join(ROOT, "scripts", "make-fleet-reports.py"))
fleet = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fleet)

for name in os.listdir(HERE):
    if os.path.isdir(os.path.join(HERE, name)) or name == "fleet-labels.json":
        shutil.rmtree(os.path.join(HERE, name), ignore_errors=True) if os.path.isdir(os.path.join(HERE, name)) \
            else os.remove(os.path.join(HERE, name))

rng = random.Random(15)
base = fleet.base_report()


def write(path, document, pretty=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        if isinstance(document, str):
            f.write(document)
        else:
            json.dump(document, f, indent=1 if pretty else None, sort_keys=True)
            f.write("\n")


for index, host in enumerate(["genoa-a", "genoa-b", "genoa-c", "genoa-d", "genoa-e", "genoa-f"]):
    factors = {key: round(math.exp(rng.gauss(0, 0.02)), 4) for key in fleet.KEYS}
    if host == "genoa-e":
        factors["pio-out-user/long64-cpl0"] *= 2.0
    for n in range(2 if host == "genoa-a" else 1):
        report = fleet.report_for(base, "6.18.44-fc-v669", factors, "2026-12-0%dT10:00:00Z" % (n + 1))
        write(os.path.join(HERE, host, "bench-%d.json" % n), report, pretty=False)
    if host == "genoa-d":
        write(os.path.join(HERE, host, "host.json"), {"schema": "nestprobe.fleet-host", "version": 1, "host": host,
                                                      "label": "pvm.metal-24xl", "status": "qualified"})
    elif host != "genoa-f":
        write(os.path.join(HERE, host, "label"), "pvm.metal\n")
write(os.path.join(HERE, "fleet-labels.json"), {"genoa-f": "pvm.spot"})
write(os.path.join(HERE, "down-z", "host.json"), {
    "schema": "nestprobe.fleet-host", "version": 1, "host": "down-z", "label": "pvm.metal", "status": "down",
    "detail": "ssh: connect to host 10.215.3.4 port 22: Connection refused"})

with open(os.path.join(ROOT, "Tests", "Golden", "qualify.Fuzz_seeds_report_small.pvm-host.json")) as f:
    failed = json.load(f)
failed["createdAt"] = "2026-12-01T10:05:00Z"
write(os.path.join(HERE, "genoa-b", "qualification.json"), failed)
passed = json.loads(json.dumps(failed))
passed["results"] = [r for r in passed["results"] if r["outcome"] != "fail"]
passed["failed"], passed["qualified"] = 0, True
write(os.path.join(HERE, "genoa-a", "qualification.json"), passed)

shutil.copy(os.path.join(ROOT, "Tests", "Golden", "diagnose.kvm-l1-nested-offered.json.json"),
            os.path.join(HERE, "intel-x", "diagnosis.json") if os.path.isdir(os.path.join(HERE, "intel-x"))
            else (os.makedirs(os.path.join(HERE, "intel-x")) or os.path.join(HERE, "intel-x", "diagnosis.json")))
shutil.copy(os.path.join(ROOT, "Tests", "Golden", "compare.self.json"), os.path.join(HERE, "intel-x", "compare.json"))

with open(os.path.join(HERE, "genoa-c", "bench-0.json")) as f:
    truncated = f.read()[:3000]
write(os.path.join(HERE, "broken", "truncated.json"), truncated)
write(os.path.join(HERE, "broken", "no-schema.json"), {"hello": "world"})
print("fleet fixture written under", HERE)
