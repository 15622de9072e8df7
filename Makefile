# nestprobe: `make run` builds and runs the diagnosis; `make test` runs every test.
# Both install what they need first (scripts/setup.sh: libcpuid-dev, jsonschema, numpy, scipy; for the tests also QEMU,
# busybox-static, cpio and Debian's kernel for the SVM test bed). `make bed` runs the bed's tests alone.

SWIFT ?= swift
export NESTPROBE_GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null)
BIN := .build/release/nestprobe

.PHONY: run test bed setup build release validate clean fuzz-smoke

run: release
	$(BIN) $(ARGS)

setup:
	./scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# Schema checks and the SVM test bed first, so the test runner's summary stays the last line of the output.
# The fuzz smoke run (20 s a target from the kept corpus) and the SciPy oracles come before them too. The history
# tests (scripts/history-tests.py and the Swift tests) run beside a throwaway PostgreSQL server on loopback.
test: release
	./scripts/setup.sh --test
	./scripts/validate-outputs.sh $(BIN)
	python3 scripts/check-oracles.py
	Fuzz/run.sh 20
	python3 scripts/testbed-tests.py --bin $(BIN)
	./scripts/with-postgres.sh sh -c 'python3 scripts/history-tests.py --bin $(BIN) && $(SWIFT) test'

# nestprobe inside a QEMU-emulated AMD host with kvm_amd (scripts/testbed.sh; README, "SVM test bed").
bed: release
	./scripts/setup.sh --test
	python3 scripts/testbed-tests.py --bin $(BIN)

# Each libFuzzer target (Fuzz/README.md) for 20 s from the kept corpus: decoders, analysis, compare,
# qualify and every render format (also part of `test`).
fuzz-smoke: setup
	Fuzz/run.sh 20

clean:
	rm -rf .build
