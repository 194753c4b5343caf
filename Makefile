# Notes service: `make run` starts the whole stack here, `make test` runs every test.
# Settings pass through to scripts/run-stack, e.g.  make run HTTP_PORT=8081 WORKERS=4 STATE_DIR=/tmp/notes2

SWIFT ?= swift
PYTHON ?= python3

# Empty means the scripts' defaults: 8080, the number of CPUs, ./.state.
HTTP_PORT ?=
WORKERS ?=
STATE_DIR ?=
# More notes-supervisor options for `make run`, e.g. SUPERVISOR_ARGS="--server-timing --timeout 5".
SUPERVISOR_ARGS ?=
export HTTP_PORT WORKERS STATE_DIR SUPERVISOR_ARGS

# One step at a time even under -j: `test` relies on its order, and the machine has 2 cores.
.NOTPARALLEL:

# Seconds per libFuzzer target for `make fuzz`; `make test` runs each for FUZZ_SMOKE_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10

.PHONY: help deps build package package-test run test unit-test integration-test fuzz fuzz-smoke asan-test leak-check bench openapi clean

help:
	@echo "make run               install what is missing, build, start PostgreSQL + workers + nginx on"
	@echo "                       127.0.0.1:\$$HTTP_PORT (default 8080); Ctrl-C stops everything"
	@echo "                       SUPERVISOR_ARGS=\"--access-log PATH --server-timing ...\" adds supervisor options"
	@echo "make test              install what is missing, build, run unit and integration tests"
	@echo "make build             release build (scripts/build: swift build -c release --static-swift-stdlib)"
	@echo "make package           the Debian package dist/notes_<version>_amd64.deb (scripts/package: debhelper)"
	@echo "make package-test      the package installed with apt in Debian 12 booted by systemd-nspawn (scripts/package-test)"
	@echo "make unit-test         swift test"
	@echo "make integration-test  pytest Tests/integration against the release binaries"
	@echo "make asan-test         the integration tests against AddressSanitizer builds (scripts/asan-test)"
	@echo "make fuzz              each libFuzzer target of Fuzz/ for FUZZ_SECONDS (60) (scripts/fuzz)"
	@echo "make leak-check        one worker, 10,000 requests, LeakSanitizer (bench/leak-check)"
	@echo "make bench             benchmark on a private stack (bench/run, ~5 min; docs/PERFORMANCE.md);"
	@echo "                       measures the binaries in .build/release as they are: make build first"
	@echo "make openapi           render the OpenAPI document and nginx's route map from the endpoints' declarations"
	@echo "                       (Sources/NotesAPI/OpenAPI/openapi.json, nginx/notes.conf; the overlay: overlay.json)"
	@echo "make deps              scripts/install-deps only"
	@echo "make clean             remove .build, .build-asan, .build-fuzz (never STATE_DIR: it holds the database)"
	@echo "variables: HTTP_PORT, WORKERS, STATE_DIR (and DATABASE_URL, CORS_ORIGINS from the environment)"

deps:
	scripts/install-deps

build:
	scripts/build

package: deps
	scripts/package

# Root, and Debian's mirror on the first run (the Debian 12 root is cached in /var/cache/notes-package-test).
package-test: package
	scripts/package-test

run:
	@scripts/run-stack

# Every test: unit, integration, the integration tests again under AddressSanitizer (and LeakSanitizer at every
# process exit), each fuzz target briefly over its corpus and beyond, and the Debian package under a real systemd.
# About 17 minutes on 2 cores: 14, then 1 for the package (the build is done by then) and 2 for its test in
# Debian 12 (4 the first time on a machine, which debootstraps that root).
test: deps build unit-test integration-test asan-test fuzz-smoke package-test

unit-test:
	$(SWIFT) test --disable-xctest

# The tests start their own cluster, supervisor and nginx from the binaries in NOTES_BIN_DIR.
integration-test: build
	NOTES_BIN_DIR="$$(scripts/build --show-bin-path)" $(PYTHON) -m pytest -q Tests/integration

asan-test: deps
	scripts/asan-test

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

fuzz-smoke: deps
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/fuzz

leak-check: deps
	bench/leak-check

# Its own stack in a temporary directory; DURATION, WARMUP, WORKERS, SCALING... are read by bench/run.
# No dependency on build: the benchmark measures the binaries that are there (it builds only if they are missing).
bench:
	@bench/run

# The document's facts come from the endpoints' declarations, its prose and examples from the overlay; a unit
# test fails until the committed files are what this writes.
openapi:
	$(SWIFT) build --product notes-openapi
	"$$($(SWIFT) build --show-bin-path)/notes-openapi" write Sources/NotesAPI/OpenAPI/overlay.json \
		Sources/NotesAPI/OpenAPI/openapi.json nginx/notes.conf

clean:
	rm -rf .build .build-asan .build-fuzz
