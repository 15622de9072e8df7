#!/usr/bin/env bash
# Runs the release `nestprobe bench` in a child cgroup whose pids.max is only what one guest needs plus a
# few (as in a container), under the shared KVM lock, and says whether every guest case that should run ran.
#
#   scripts/bench-in-pids-cgroup.sh [PIDS_MAX] [-- BENCH ARGUMENTS...]
#
# PIDS_MAX defaults to 8: nestprobe's main thread, Dispatch's watchdog thread, the one thread KVM starts in
# this process for each VM (kvm-nx-lpage-recovery, Linux 6.13+), and room for the runtime's own. Before
# guests were torn down when their case returned, finished ones kept that thread for up to 2 s and every
# guest case failed with KVM_RUN EAGAIN under a limit like this one.
#
# Uses cgroup v2 where its pids controller is available (enabling it for the child), else the cgroup v1
# pids hierarchy. Prints "SKIP: why" and exits 0 where neither can be written (not root, read-only,
# no pids controller). Otherwise exits with bench's own status: 0 when every guest case ran or was skipped
# with a reason, 70 when some failed.

set -euo pipefail

limit=8
if [[ $# -gt 0 && $1 != -- ]]; then
    limit=$1
    shift
fi
[[ ${1:-} == -- ]] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${NESTPROBE:-$root/.build/release/nestprobe}
lock=${NESTPROBE_KVM_LOCK:-/tmp/nestprobe-kvm.lock}

skip() {
    echo "SKIP: $*"
    exit 0
}

[[ -x $binary ]] || skip "no release binary at $binary (swift build -c release)"
[[ -e /dev/kvm ]] || skip "no /dev/kvm here"

# Find a pids controller we can make a child in.
parent=""
kind=""
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [[ -n $v2 && -r $v2/cgroup.controllers ]] && grep -qw pids "$v2/cgroup.controllers"; then
    parent=$v2
    kind="cgroup v2 at $v2"
else
    v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/self/mounts)
    if [[ -n $v1 ]]; then
        parent=$v1
        kind="cgroup v1 pids hierarchy at $v1 (cgroup v2${v2:+ at $v2} has no pids controller here)"
    fi
fi
[[ -n $parent ]] || skip "no cgroup pids controller is mounted"
[[ -w $parent ]] || skip "$parent is not writable (run as root, or delegate a cgroup to this user)"

group="$parent/nestprobe-pids-$$"
mkdir "$group" 2>/dev/null || skip "cannot create a cgroup under $parent"
cleanup() { rmdir "$group" 2>/dev/null || true; }
trap cleanup EXIT
if [[ $kind == cgroup\ v2* ]]; then
    echo +pids >"$parent/cgroup.subtree_control" 2>/dev/null || skip "cannot enable the pids controller in $parent"
fi
echo "$limit" >"$group/pids.max"

report=$(mktemp --suffix=.bench.json)
echo "cgroup: $group ($kind), pids.max = $(cat "$group/pids.max")"
echo "running: $binary bench ${*:-} -o $report (under $lock)"
set +e
# flock stays outside the cgroup; the shell moves itself in and becomes nestprobe.
flock "$lock" sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$group" \
    "$binary" bench --quiet -o "$report" "$@" >/dev/null
status=$?
set -e
peak=$(cat "$group/pids.peak" 2>/dev/null || echo "?")
refused=$(awk '$1 == "max" { print $2 }' "$group/pids.events" 2>/dev/null || echo "?")
echo "bench exit status: $status; pids.peak = $peak of $limit; forks refused by pids.max: ${refused:-0}"
python3 - "$report" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
cases = report["cases"]
count = {s: sum(1 for c in cases if c["status"] == s) for s in ("ok", "skipped", "failed")}
print(f"guest cases: {count['ok']} ok, {count['skipped']} skipped with a reason, {count['failed']} failed")
for case in cases:
    if case["status"] == "failed":
        print(f"  FAILED {case['id']}: {case.get('reason', '')}")
EOF
rm -f "$report"
exit $status
