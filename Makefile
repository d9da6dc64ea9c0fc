# weft: `make` builds, `make run` starts the server, `make test` runs every test.
# Each target first installs whatever is missing (scripts/install-deps).
BUILD   ?= build
JOBS    ?= $(shell nproc)
DATA    ?= ./weft-data
LISTEN  ?= 127.0.0.1:8080

# ccache, when installed, keeps a rebuild after `git pull` or a branch switch short.
# Paths are hashed relative to the checkout, so another clone of the same
# commit (a CI run, a second work tree) reuses what this one compiled.
LAUNCHER := $(if $(shell command -v ccache 2>/dev/null),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache,)
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all deps build build-server ui run test test-asan test-tsan bench clean format

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(LAUNCHER)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	@if [ -f ui/package.json ]; then scripts/build-ui; fi

# `make run` builds what it runs: the weft binary and the UI, no test programs.
build-server: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target weft
	@if [ -f ui/package.json ]; then scripts/build-ui; fi

run: build-server
	$(BUILD)/weft serve --data $(DATA) --listen $(LISTEN)

test: build
	scripts/run-tests

# Sanitizer builds with clang, each kind in a folder of its own (build-asan/,
# shared with the fuzz harnesses, and build-tsan/). JOBS is passed on.
test-asan: deps
	JOBS=$(JOBS) scripts/test-sanitized asan

test-tsan: deps
	JOBS=$(JOBS) scripts/test-sanitized tsan

bench: build
	scripts/run-benchmarks

format:
	git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'bench/*.h' \
	  'fuzz/*.cpp' 'fuzz/*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz ui/dist

# ---- fuzzing (fuzz/) --------------------------------------------------------
# libFuzzer harnesses built with clang, AddressSanitizer and UBSan in
# build-asan/ (the libraries are the ASan tests' own); `make fuzz
# FUZZ_SECONDS=N` runs each for N seconds and fails when one finds a crash
# (docs/hardening.md).
FUZZ_SECONDS ?= 60
FUZZERS      ?= expr_fuzz template_fuzz cron_fuzz flow_fuzz webhook_fuzz journal_fuzz \
                connection_fuzz http_fuzz

.PHONY: fuzz fuzz-build
fuzz-build: deps
	JOBS=$(JOBS) FUZZERS="$(FUZZERS)" scripts/test-sanitized fuzz-build

fuzz: deps
	JOBS=$(JOBS) FUZZERS="$(FUZZERS)" FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/test-sanitized fuzz
