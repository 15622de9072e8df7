#!/usr/bin/env bash
# Builds the libFuzzer harness (Fuzz/Harness.swift) against nestprobe's modules compiled with coverage
# and AddressSanitizer, seeds a corpus per target from the committed fixtures, Fuzz/seeds and the kept
# corpus Fuzz/corpus/TARGET, and fuzzes each target: the decoder and the work done on what it decodes.
#
#   Fuzz/run.sh [SECONDS] [TARGET...]     TARGET: snapshot, report, compare, policy (default: all four)
#   Fuzz/run.sh 300 policy                five minutes on the policy target
#   Fuzz/run.sh 20                        the smoke run of `make fuzz-smoke`: 20 s on each target
#
# Build products go to .build-fuzz, corpora and crash files to Fuzz/work (both git-ignored); Fuzz/keep.sh
# merges what a run found into the kept corpus.
# A crash leaves Fuzz/work/TARGET/crash-* and a non-zero exit; rerun one with
#   NESTPROBE_FUZZ_TARGET=TARGET NESTPROBE_ROOT=. .build-fuzz/nestprobe-fuzz Fuzz/work/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(snapshot report compare policy)

scratch=.build-fuzz
debug=$scratch/x86_64-unknown-linux-gnu/debug
binary=$scratch/nestprobe-fuzz

# 1. The modules, instrumented: SwiftPM compiles them (no linking: the harness brings libFuzzer's main).
# Optimized (-O after SwiftPM's -Onone): unoptimized generic code sorts a few thousand samples so slowly
# under AddressSanitizer that compare's inputs ran into libFuzzer's timeout; the checks stay on.
swift build --scratch-path "$scratch" --target Bench -Xswiftc -sanitize=fuzzer,address -Xswiftc -O >&2
swift build --scratch-path "$scratch" --target Report -Xswiftc -sanitize=fuzzer,address -Xswiftc -O >&2

# 2. The harness, linked with the modules' objects and the C shims.
objects=()
for module in Documents KVM Probe Bench Report CKVM CGuest; do
    for object in "$debug/$module.build"/*.o; do objects+=("$object"); done
done
# Report names a machine by a SHA-256 (swift-crypto 4): its modules, BoringSSL's C and assembly objects and
# XKCP's (Keccak, for SHA-3, which swift-crypto 4 links into Crypto).
for module in Crypto CryptoBoringWrapper CCryptoBoringSSL CCryptoBoringSSLShims CXKCP CXKCPShims; do
    while IFS= read -r object; do objects+=("$object"); done < <(find "$debug/$module.build" -name '*.o' | sort)
done
swiftc -sanitize=fuzzer,address -parse-as-library -g -O -module-name NestprobeFuzz \
    -I "$debug/Modules" \
    -Xcc -fmodule-map-file="$debug/CKVM.build/module.modulemap" -Xcc -ISources/CKVM/include \
    -Xcc -fmodule-map-file="$debug/CGuest.build/module.modulemap" -Xcc -ISources/CGuest/include \
    -Xcc -fmodule-map-file=Sources/CLibCPUID/module.modulemap $(pkg-config --cflags-only-I libcpuid | sed 's/-I/-Xcc -I/g') \
    Fuzz/Harness.swift "${objects[@]}" $(pkg-config --libs libcpuid) -o "$binary"

# 3. Seeds: every committed fixture of the kind, the example policies, Fuzz/seeds/KIND (small documents
# and the inputs that once stopped nestprobe) and the kept corpus Fuzz/corpus/TARGET (what earlier runs
# found, minimized by Fuzz/keep.sh). The corpus in Fuzz/work grows from run to run.
seed() {
    local target=$1 dir=Fuzz/work/$1/corpus
    mkdir -p "$dir"
    case $target in
    snapshot) cp Tests/ProbeTests/Fixtures/snapshots/*.json Tests/ProbeTests/Fixtures/dumps/* Fuzz/seeds/snapshot/*.json "$dir"/ ;;
    report | compare)
        find Tests/ReportTests/Fixtures -name '*.bench.json' -size -2M -exec cp {} "$dir"/ \;
        cp Fuzz/seeds/report/*.json "$dir"/ ;;
    policy) cp Reports/policies/*.json Fuzz/seeds/policy/*.json "$dir"/ ;;
    esac
    if [ -d "Fuzz/corpus/$target" ]; then find "Fuzz/corpus/$target" -type f -exec cp -t "$dir" {} + ; fi
}

status=0
for target in "${targets[@]}"; do
    seed "$target"
    echo "== $target: ${seconds}s" >&2
    # -max_len: room for a whole fixture report (about 0.7 MB); -rss_limit_mb: ASan's shadow needs room.
    code=0
    NESTPROBE_FUZZ_TARGET=$target NESTPROBE_ROOT=$PWD "$binary" "Fuzz/work/$target/corpus" \
        -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
        -artifact_prefix="Fuzz/work/$target/" -dict=Fuzz/json.dict >"Fuzz/work/$target.log" 2>&1 || code=$?
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|^Done|ERROR|Fatal error|^artifact_prefix|Test unit written" \
        "Fuzz/work/$target.log" >&2 || true
    if [ "$code" -ne 0 ]; then
        echo "== $target: the fuzzer stopped with exit $code; see Fuzz/work/$target.log" >&2
        status=1
    fi
done
exit $status
