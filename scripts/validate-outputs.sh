#!/usr/bin/env bash
# Runs the built nestprobe on this machine and on every snapshot fixture, and validates each JSON
# document it writes against Reports/schema with Python's jsonschema (a real, independent validator).
set -euo pipefail
bin=${1:-.build/release/nestprobe}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out" "$out.fleet"' EXIT

"$bin" capture -o "$out/live.snapshot.json"
"$bin" diagnose --json -o "$out/live.diagnosis.json"
"$bin" diagnose --snapshot "$out/live.snapshot.json" --json -o "$out/replayed.diagnosis.json"
# bench exits 69/77 without a usable /dev/kvm but still writes its report (this level's figures alone), and 70
# when some guest case failed (the report says which and why; it is still a report to validate).
status=0
"$bin" bench --budget 2s --quiet -o "$out/live.bench.json" >/dev/null || status=$?
case $status in 0|69|77) ;; 70) echo "bench: some guest cases failed (exit 70); validating its report" >&2 ;;
    *) echo "bench failed with exit $status" >&2; exit 1 ;; esac
for f in Tests/ProbeTests/Fixtures/snapshots/*.json Tests/ProbeTests/Fixtures/dumps/*; do
    name=$(basename "$f")
    "$bin" diagnose --snapshot "$f" --json -o "$out/fixture-$name.diagnosis.json"
done
# compare (the live report with itself: no change), qualify (an example policy), and the policies themselves.
# A report against itself: the same runs on both sides, so "same" (0), or "inconclusive" (5) when the report has
# too few runs for the test to reach its level.
status=0
"$bin" compare "$out/live.bench.json" "$out/live.bench.json" --json -o "$out/self.compare.json" || status=$?
case $status in 0|5) ;; *) echo "compare failed with exit $status" >&2; exit 1 ;; esac
status=0
"$bin" qualify --policy Reports/policies/pvm-host.json "$out/live.bench.json" --json -o "$out/live.qualification.json" || status=$?
case $status in 0|3) ;; *) echo "qualify failed with exit $status" >&2; exit 1 ;; esac
for p in Reports/policies/*.json; do cp "$p" "$out/$(basename "$p" .json).policy.json"; done
# history check --format json over the real series of Reports/history (30 reports, then one with an injected
# user-space delay): exit 2, a regression in the newest window.
"$bin" history add --db "$out/history.sqlite" Reports/history/series-2026-12-06/r[0-9][0-9].json \
    Reports/history/series-2026-12-06/r31-inject.json >/dev/null
status=0
"$bin" history check --db "$out/history.sqlite" --window 1 --format json -o "$out/series.history-check.json" || status=$?
case $status in 2) ;; *) echo "history check failed with exit $status (2 expected)" >&2; exit 1 ;; esac
# fleet over everything above (each file directly in the folder is its own host), written beside it afterwards:
# 0, or 3 when the live report does not qualify under the pvm-host policy.
status=0
"$bin" fleet "$out" --json -o "$out.fleet" || status=$?
case $status in 0|3) mv "$out.fleet" "$out/all.fleet.json" ;; *) echo "fleet failed with exit $status" >&2; exit 1 ;; esac
python3 scripts/validate.py Reports/schema "$out"
# The bench report as OpenMetrics, checked by Prometheus's own linter.
"$bin" render "$out/live.bench.json" --format openmetrics -o "$out/live.prom"
promtool check metrics < "$out/live.prom"
echo "promtool: $(grep -c '^nestprobe_' "$out/live.prom") samples in live.prom accepted"
