# cotter front door. `make` builds build/cotter; `make test` runs the whole
# suite under ASan+UBSan; `make demo` runs a live sync against local servers.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
PREFIX     ?= /usr/local

.PHONY: all deps build install test test-unit test-integration asan fuzz fuzz-smoke demo bench bench-check bench-snapshot soak format lint clean docs

all: build

deps:
	@scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# `make install PREFIX=DIR` (default /usr/local; DESTDIR for packaging):
# cotter into PREFIX/bin, so `cotter` is on the PATH as the README writes it.
# Builds only when there is no build yet (`make && sudo make install` does
# not rebuild as root).
install:
	@[ -x $(BUILD)/cotter ] || $(MAKE) build
	@install -d $(DESTDIR)$(PREFIX)/bin
	@install -m 0755 $(BUILD)/cotter $(DESTDIR)$(PREFIX)/bin/cotter
	@echo "installed $(DESTDIR)$(PREFIX)/bin/cotter"

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCOTTER_SANITIZE=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCOTTER_FUZZ=ON -DCOTTER_SANITIZE=ON -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# A short fuzzing run of every target over the committed corpus.
fuzz-smoke: fuzz
	@scripts/fuzz.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-20}

test: deps lint asan fuzz-smoke
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j 2 --timeout 1200

test-unit: deps asan
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -L unit

test-integration: deps asan
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -L integration

demo: deps build
	@scripts/demo.sh

bench: deps build
	@bench/run.sh
	@bench/steady.sh

# long crash runs (make test runs 20 rounds of each): SOAK_ROUNDS kills per run
SOAK_ROUNDS ?= 200
soak: deps build
	@COTTER_BIN=$(abspath $(BUILD))/cotter COTTER_CRASH_ROUNDS=$(SOAK_ROUNDS) COTTER_WRITERS=6 bash tests/integration/test_crash.sh
	@COTTER_BIN=$(abspath $(BUILD))/cotter COTTER_CRASH_ROUNDS=$(SOAK_ROUNDS) COTTER_WRITERS=6 bash tests/integration/test_crash_parallel.sh

bench-check: deps build
	@bench/check.sh

bench-snapshot: deps build
	@bench/snapshot.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

lint:
	@scripts/lint.sh

docs: build
	@$(BUILD)/cotter config-doc > docs/config.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
