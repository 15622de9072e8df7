# nestprobe: `make run` builds and runs the diagnosis; `make test` runs every test; `make dist` writes the static
# binaries; `make image` the core's container image.
# Both install what they need first (scripts/setup.sh: libcpuid-dev, jsonschema, numpy, scipy; for the tests also QEMU,
# busybox-static, cpio and Debian's kernel for the SVM test bed). `make bed` runs the bed's tests alone.

SWIFT ?= swift
export NESTPROBE_GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null)
BIN := .build/release/nestprobe
VERSION := $(shell sed -n 's/.*static let string = "\(.*\)"/\1/p' Sources/Documents/Version.swift)
# The static binaries `make test` links from its own build (`make dist` writes dist/nestprobe-VERSION-linux-x86_64
# and dist/nestprobe-history-VERSION-linux-x86_64; the tests find the second beside the first).
TEST_DIST := .build/dist/nestprobe-$(VERSION)-linux-x86_64
# `make test` builds with every warning an error, so the build stays at 0 warnings.
WERROR := -Xswiftc -warnings-as-errors
# `make test` compiles the package once, in release: the binary the scripts run and the tests, which
# `@testable import` the modules, so they are compiled for testing (`swift build` does not do that in release).
TESTABLE := -Xswiftc -enable-testing

.PHONY: run test bed setup build release validate clean fuzz-smoke lint docs policies dist image

run: release
	$(BIN) $(ARGS)

setup:
	./scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# The portable binaries: the core nestprobe and nestprobe-history (which `nestprobe history` runs from beside
# it), each static and stripped with no shared library, stamped with the git revision, and their SHA-256, in
# dist/ (README, "Install"; docs/PORTABLE.md). scripts/dist.py links them from the release build's objects;
# `--sizes` says what each part of each costs.
dist: setup
	$(SWIFT) build -c release --product nestprobe
	$(SWIFT) build -c release --product nestprobe-history
	python3 scripts/dist.py

# The container image of that binary, from deploy/kubernetes/Containerfile, without a daemon or a registry: umoci
# builds it (scripts/image.py) into dist/nestprobe-image-VERSION.oci.tar, an OCI image layout of one layer, with
# its SHA-256 (README, "Kubernetes"). The same commit and binary make the same bytes.
image: dist
	./scripts/setup.sh --image
	python3 scripts/image.py --bin dist/nestprobe-$(VERSION)-linux-x86_64

# The lint first (seconds; a finding fails the run), then the schema checks and the SVM test bed, so the test
# runner's summary stays the last line of the output. The fuzz smoke run (20 s a target from the kept corpus)
# runs in the background from after the SciPy oracles to before the history tests (scripts/stage.sh): its
# instrumented build takes ~4 minutes of both cores in CI, which the fleet stages below, mostly waiting on
# sshd hosts, downloads and the KVM lock, leave free; its output and status come where it is waited for. The
# SciPy oracles come before them too, and so do the fleet tests: deploy/kubernetes/ validated offline,
# ansible/qualify-fleet.yml run against namespace hosts on this machine (scripts/netns-hosts.sh, about 80 s
# here). The history tests (scripts/history-tests.py and the Swift tests) run beside a throwaway PostgreSQL
# server on loopback. The Swift tests run from the same release build as the binary, so CI compiles GRDB,
# postgres-nio, SwiftNIO and BoringSSL once, not a second time in debug. The static binary is linked from that
# same build (no second compile) and run in clean Debian 11 and 12 roots (scripts/dist-tests.py; the roots are
# made once with debootstrap and kept in .cache/roots). Its container image is built twice (the same bytes) and run
# with crun (scripts/image-tests.py: 16 s here at load 1.5, 45 s at load 8, plus any wait for the KVM lock).
test: setup lint
	$(SWIFT) build -c release --build-tests $(TESTABLE) $(WERROR)
	python3 scripts/dist.py --out .build/dist
	./scripts/setup.sh --test
	./scripts/validate-outputs.sh $(BIN)
	python3 scripts/check-oracles.py
	./scripts/stage.sh start fuzz Fuzz/run.sh 20
	./scripts/golden-outputs.sh $(BIN) --check
	python3 scripts/docs-tests.py --bin $(BIN)
	python3 scripts/readme-workflows.py --bin $(BIN)
	python3 scripts/testbed-tests.py --bin $(BIN)
	python3 scripts/kubernetes-tests.py --bin $(BIN)
	python3 scripts/ansible-tests.py --bin $(TEST_DIST)
	python3 scripts/image-tests.py --bin $(TEST_DIST)
	./scripts/with-postgres.sh python3 scripts/dist-tests.py --bin $(TEST_DIST)
	./scripts/stage.sh wait fuzz
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
	python3 scripts/embed-policies.py --check
	SWIFT=$(SWIFT) ./scripts/format-all.sh --check

# The man page and the bash/zsh/fish completions, generated from the commands (scripts/make-docs.sh): into
# $(DOCS)/man/nestprobe.1 and $(DOCS)/completions/. `make test` checks them (scripts/docs-tests.py).
DOCS ?= .build/docs
docs: release
	./scripts/make-docs.sh $(BIN) $(DOCS)

# The built-in policies: Reports/policies/*.json into Sources/Report/BuiltinPolicy+Shipped.swift (run after
# editing a policy; `make lint` fails while the two differ).
policies:
	python3 scripts/embed-policies.py

clean:
	rm -rf .build dist
