#!/usr/bin/env bash
# Keeps what fuzzing found: merges each target's working corpus (Fuzz/work/TARGET/corpus, grown by
# Fuzz/run.sh) with the kept one into a minimal set with the same coverage (libFuzzer -merge=1 into an
# empty folder), leaves out what run.sh seeds anyway (the committed fixtures and Fuzz/seeds), and, when the
# rest is over the budget, drops the largest inputs until it fits. The result replaces Fuzz/corpus/TARGET,
# which is committed; run.sh seeds every run from it.
#
#   Fuzz/keep.sh [TARGET...]     TARGET: snapshot, report, compare, policy (default: all four)
#
# Needs the harness Fuzz/run.sh built (.build-fuzz/nestprobe-fuzz) and a run of it to merge from.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${NESTPROBE_CORPUS_BYTES:-2000000}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(snapshot report compare policy)
binary=.build-fuzz/nestprobe-fuzz
[ -x "$binary" ] || { echo "keep.sh: $binary: not built (run Fuzz/run.sh first)" >&2; exit 66; }

# The SHA-1 of every seed run.sh copies in, as libFuzzer names corpus files.
seeds() {
    case $1 in
    snapshot) printf '%s\0' Tests/ProbeTests/Fixtures/snapshots/*.json Tests/ProbeTests/Fixtures/dumps/* Fuzz/seeds/snapshot/*.json ;;
    report | compare)
        find Tests/ReportTests/Fixtures -name '*.bench.json' -size -2M -print0
        printf '%s\0' Fuzz/seeds/report/*.json ;;
    policy) printf '%s\0' Reports/policies/*.json Fuzz/seeds/policy/*.json ;;
    esac | xargs -0 sha1sum | cut -d' ' -f1
}

for target in "${targets[@]}"; do
    work=Fuzz/work/$target/corpus kept=Fuzz/corpus/$target
    [ -d "$work" ] || { echo "keep.sh: $work: no corpus (run Fuzz/run.sh first)" >&2; exit 66; }
    merged=$(mktemp -d)
    mkdir -p "$kept"
    NESTPROBE_FUZZ_TARGET=$target NESTPROBE_ROOT=$PWD "$binary" -merge=1 -max_len=1048576 -rss_limit_mb=4096 \
        -timeout=20 "$merged" "$work" "$kept" >"Fuzz/work/$target.merge.log" 2>&1
    for sum in $(seeds "$target"); do rm -f "$merged/$sum"; done
    # Largest first out, until the rest fits the budget.
    while [ "$(du -cb "$merged" | tail -1 | cut -f1)" -gt "$budget" ]; do
        rm -f "$merged/$(ls -S "$merged" | head -1)"
    done
    rm -rf "$kept"
    mv "$merged" "$kept"
    chmod 755 "$kept"
    echo "== $target: $(ls "$kept" | wc -l) inputs, $(du -cb "$kept" | tail -1 | cut -f1) bytes in $kept" >&2
done
