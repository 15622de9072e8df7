# nestprobe: `make run` builds and runs the diagnosis; `make test` runs every test.
# Both install what they need first (scripts/setup.sh: libcpuid-dev, jsonschema).

SWIFT ?= swift
export NESTPROBE_GIT_REVISION := $(shell git rev-parse --short HEAD 2>/dev/null)
BIN := .build/release/nestprobe

.PHONY: run test setup build release validate clean

run: release
	$(BIN) $(ARGS)

setup:
	./scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release

# Schema checks first, so the test runner's summary stays the last line of the output.
test: release
	./scripts/setup.sh --test
	./scripts/validate-outputs.sh $(BIN)
	$(SWIFT) test

clean:
	rm -rf .build
