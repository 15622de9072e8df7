#!/usr/bin/env bash
# A test stage run in the background while later stages run, so that `make test` overlaps a stage that
# compiles (the fuzz harness: ~4 minutes of both cores in CI) with stages that mostly wait (sshd hosts,
# debootstrap downloads, the KVM lock).
#
#   scripts/stage.sh start NAME COMMAND...   starts COMMAND with its output in .build/stage-NAME.log
#   scripts/stage.sh wait NAME               waits for it, prints its output, exits with its status
#
# A stage started and never waited for ends on its own; `start` refuses a NAME already running.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?start or wait}
name=${2:?a stage name}
mkdir -p .build
log=.build/stage-$name.log
rc=.build/stage-$name.rc
case $action in
start)
    shift 2
    if [ -f ".build/stage-$name.pid" ] && kill -0 "$(cat ".build/stage-$name.pid")" 2>/dev/null; then
        echo "stage $name: already running" >&2
        exit 1
    fi
    rm -f "$rc"
    echo "stage $name: started in the background: $*"
    (
        status=0
        "$@" >"$log" 2>&1 || status=$?
        echo "$status" >"$rc"
    ) </dev/null >/dev/null 2>&1 &
    echo $! >".build/stage-$name.pid"
    ;;
wait)
    [ -f ".build/stage-$name.pid" ] || { echo "stage $name: never started" >&2; exit 1; }
    while [ ! -f "$rc" ]; do
        if ! kill -0 "$(cat ".build/stage-$name.pid")" 2>/dev/null && [ ! -f "$rc" ]; then
            sleep 1
            [ -f "$rc" ] || { cat "$log" 2>/dev/null; echo "stage $name: ended without a status" >&2; exit 1; }
        fi
        sleep 1
    done
    cat "$log"
    status=$(cat "$rc")
    rm -f ".build/stage-$name.pid"
    echo "stage $name: exit $status"
    exit "$status"
    ;;
*)
    echo "stage.sh: start or wait, not $action" >&2
    exit 64
    ;;
esac
