# nestprobe: `make run` builds and runs the diagnosis; `make test` runs every test.
# Both install what they need first (scripts/setup.sh: libcpuid-dev, jsonschema, numpy, scipy; for the tests also QEMU,
# busybox-static, cpio and Debian's kernel for the SVM test bed). `make bed` runs the bed's tests alone.

SWIFT ?= swift
export NESTPROBE_GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null)
BIN := .build/release/nestprobe
# `make test` builds with every warning an error, so the build stays at 0 warnings.
WERROR := -Xswiftc -warnings-as-errors
# `make test` compiles the package once, in release: the binary the scripts run and the tests, which
# `@testable import` the modules, so they are compiled for testing (`swift build` does not do that in release).
TESTABLE := -Xswiftc -enable-testing

.PHONY: run test bed setup build release validate clean fuzz-smoke lint

run: release
	$(BIN) $(ARGS)

setup:
	./scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# The lint first (seconds; a finding fails the run), then the schema checks and the SVM test bed, so the test
# runner's summary stays the last line of the output. The fuzz smoke run (20 s a target from the kept corpus)
# and the SciPy oracles come before them too, and so do the fleet tests: deploy/kubernetes/ validated offline,
# ansible/qualify-fleet.yml run against namespace hosts on this machine (scripts/netns-hosts.sh, about 80 s
# here). The history tests (scripts/history-tests.py and the Swift tests) run beside a throwaway PostgreSQL
# server on loopback. The Swift tests run from the same release build as the binary, so CI compiles GRDB,
# postgres-nio, SwiftNIO and BoringSSL once, not a second time in debug.
test: setup lint
	$(SWIFT) build -c release --build-tests $(TESTABLE) $(WERROR)
	./scripts/setup.sh --test
	./scripts/validate-outputs.sh $(BIN)
	python3 scripts/check-oracles.py
	Fuzz/run.sh 20
	./scripts/golden-outputs.sh $(BIN) --check
	python3 scripts/testbed-tests.py --bin $(BIN)
	python3 scripts/kubernetes-tests.py --bin $(BIN)
	python3 scripts/ansible-tests.py --bin $(BIN)
	./scripts/with-postgres.sh sh -c 'python3 scripts/history-tests.py --bin $(BIN) && $(SWIFT) test -c release --skip-build'

# nestprobe inside a QEMU-emulated AMD host with kvm_amd (scripts/testbed.sh; README, "SVM test bed").
bed: release
	./scripts/setup.sh --test
	python3 scripts/testbed-tests.py --bin $(BIN)

# Each libFuzzer target (Fuzz/README.md) for 20 s from the kept corpus: decoders, analysis, compare,
# qualify and every render format (also part of `test`).
fuzz-smoke: setup
	Fuzz/run.sh 20

# swift-format with the repository's .swift-format, every finding an error, and where unsafe code may stand
# (part of `test`). The rules and why some are off: docs/ARCHITECTURE.md, "Style and lint".
# `scripts/format-all.sh` formats every file in place.
lint:
	python3 scripts/check-unsafe.py
	SWIFT=$(SWIFT) ./scripts/format-all.sh --check

clean:
	rm -rf .build
