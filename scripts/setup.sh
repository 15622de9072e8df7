#!/usr/bin/env bash
# Installs what nestprobe needs to build and test on a fresh Debian machine: libcpuid-dev (through
# pkg-config), and Python's jsonschema for validating reports against Reports/schema. Idempotent.
set -euo pipefail

need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libcpuid 2>/dev/null || need+=(libcpuid-dev)
if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]} with apt-get" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ]; then
    if ! python3 -c 'import jsonschema' 2>/dev/null; then
        echo "setup: installing jsonschema with pip" >&2
        python3 -m pip install -q jsonschema
    fi
fi
