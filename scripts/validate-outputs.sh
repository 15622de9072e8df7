#!/usr/bin/env bash
# Runs the built nestprobe on this machine and on every snapshot fixture, and validates each JSON
# document it writes against Reports/schema with Python's jsonschema (a real, independent validator).
set -euo pipefail
bin=${1:-.build/release/nestprobe}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bin" capture -o "$out/live.snapshot.json"
"$bin" diagnose --json -o "$out/live.diagnosis.json"
"$bin" diagnose --snapshot "$out/live.snapshot.json" --json -o "$out/replayed.diagnosis.json"
# bench exits 69/77 without a usable /dev/kvm but still writes its report (this level's figures alone).
status=0
"$bin" bench --budget 2s --quiet -o "$out/live.bench.json" >/dev/null || status=$?
case $status in 0|69|77) ;; *) echo "bench failed with exit $status" >&2; exit 1 ;; esac
for f in Tests/ProbeTests/Fixtures/snapshots/*.json Tests/ProbeTests/Fixtures/dumps/*; do
    name=$(basename "$f")
    "$bin" diagnose --snapshot "$f" --json -o "$out/fixture-$name.diagnosis.json"
done
python3 scripts/validate.py Reports/schema "$out"
