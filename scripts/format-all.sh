#!/usr/bin/env bash
# Formats every Swift file of the repository in place with the toolchain's `swift format` and the
# repository's .swift-format, then lints them as `make lint` does. Run it as the last step before a merge
# (formatting while others edit the same files makes conflicts); afterwards `make lint` reports 0 findings.
#
#   scripts/format-all.sh          format in place, then lint (exit 1 when findings remain)
#   scripts/format-all.sh --check  lint only, as `make lint`
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
# Every Swift source tree of the repository; keep in step with the Makefile's LINT_PATHS.
paths=(Sources Tests Benchmarks/Benchmarks Benchmarks/Package.swift Fuzz/Harness.swift Package.swift)
if [ "${1:-}" != "--check" ]; then
    "$SWIFT" format format --in-place --parallel --recursive "${paths[@]}"
fi
exec "$SWIFT" format lint --strict --parallel --recursive "${paths[@]}"
