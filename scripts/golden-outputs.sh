#!/usr/bin/env bash
# Writes every output nestprobe makes from fixed inputs (no live machine): each render format of the
# committed reports, compare and qualify in every format, fleet over its fixture in every format, diagnose
# of every snapshot fixture. The files under Tests/Golden were written by it; `scripts/golden-outputs.sh
# BIN --check` writes them again into a scratch folder and fails on any byte that differs, so a move or a
# refactor cannot change an output unnoticed. Regenerate with `scripts/golden-outputs.sh BIN Tests/Golden` when a change of output is meant.
#
#   scripts/golden-outputs.sh [BIN] [OUT | --check]
set -euo pipefail
bin=${1:-.build/release/nestprobe}
target=${2:---check}
cd "$(dirname "$0")/.."
# The revision and the clock are the only inputs that change between runs: no revision, and the
# qualification's own time of making (createdAt, the first one in its JSON) is blanked below.
unset NESTPROBE_GIT_REVISION
# No fixed hash seed: every output must come out the same whatever Swift's per-process seed (the level
# estimate sums its weights in the evidence's order and the levels' order, never a dictionary's), so
# the check runs with the seed random, as the users' runs do.
unset SWIFT_DETERMINISTIC_HASHING
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
if [ "$target" = --check ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
else
    out=$target
    rm -rf "$out"
    mkdir -p "$out"
fi

# Exit status 0 and the documented verdicts of compare (2, 4, 5) and qualify (3) are outputs too.
run() {
    local name=$1
    shift
    local status=0
    "$bin" "$@" >"$out/$name" 2>/dev/null || status=$?
    case $name in qualify.*.json) sed -i -E '0,/"createdAt" : "[^"]*"/s//"createdAt" : "(blanked)"/' "$out/$name" ;; esac
    echo "$name $status" >>"$out/status.txt"
}

reports=(Reports/pvm-host-genoa/bench.json Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json Fuzz/seeds/report/small.json)
for report in "${reports[@]}"; do
    name=$(echo "$report" | tr '/' '_' | sed 's/\.json$//')
    for format in text markdown html openmetrics junit; do
        run "render.$name.$format" render "$report" --format "$format"
    done
    for policy in Reports/policies/*.json; do
        pname=$(basename "$policy" .json)
        run "qualify.$name.$pname.txt" qualify --policy "$policy" "$report"
        run "qualify.$name.$pname.json" qualify --policy "$policy" "$report" --json
    done
done
for format in text markdown junit json; do
    run "compare.self.$format" compare Fuzz/seeds/report/small.json Fuzz/seeds/report/small.json --format "$format"
    run "compare.genoa.$format" compare Reports/pvm-host-genoa/bench.json Tests/ReportTests/Fixtures/pvm-host-genoa.bench.json --format "$format"
done
# fleet over its fixture (made by Tests/ReportTests/Fixtures/fleet/make_fleet.py): exit 65, two files unreadable.
for format in text markdown csv html junit json; do
    run "fleet.fixture.$format" fleet Tests/ReportTests/Fixtures/fleet --format "$format"
done
for snapshot in Tests/ProbeTests/Fixtures/snapshots/*.json Tests/ProbeTests/Fixtures/dumps/*; do
    name=$(basename "$snapshot")
    run "diagnose.$name.json" diagnose --snapshot "$snapshot" --json
    run "diagnose.$name.txt" diagnose --snapshot "$snapshot"
done

if [ "$target" = --check ]; then
    if diff -r Tests/Golden "$out" >"$out.diff"; then
        echo "golden outputs: $(ls Tests/Golden | wc -l) files, all byte-identical"
        rm -f "$out.diff"
    else
        head -60 "$out.diff" >&2
        rm -f "$out.diff"
        echo "golden outputs differ from Tests/Golden (above); regenerate only if the change is meant" >&2
        exit 1
    fi
fi
