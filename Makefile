# Ballast — the two commands users need are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 3s
# Packages with goroutines sharing memory: always tested under the race detector.
RACE_PKGS := ./feedhandler/... ./sim/... ./cmd/... ./engine/... ./accel/...

.PHONY: audit-toolchain newcomer all build run test test-unit test-race fuzz bench-smoke bench lint fmt vet deps nocgo clean hdl hdl-test gen gen-check

all: build

deps:
	@scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

## newcomer: the README's first steps — make run, then a verdict within a minute.
newcomer:
	@scripts/newcomer.sh

## run: start the appliance with its embedded defaults (see README).
run: build
	./bin/ballastd

## test: the whole suite — lint, vet, generated files, RTL lint and testbenches,
## unit and integration tests (the Verilator co-simulation included), race, fuzz,
## benchmark smoke.
test: deps lint vet audit-toolchain nocgo gen-check hdl hdl-test test-unit test-race fuzz bench-smoke newcomer
	@echo "make test: all checks passed"

## audit-toolchain: rebuild everything with an instrumented compiler and fail if
## go1.26's dead-auto pass drops a store through a conditional pointer
## (the header of scripts/audit-deadauto.sh explains the bug).
audit-toolchain:
	@scripts/audit-deadauto.sh

## hdl: build the Verilator simulations of the RTL (hdl/build/ballast-vsim, and
## ballast-vsim-lanes4 with four REVAL lanes),
## installing Verilator from Debian's packages when it is missing.
hdl:
	@scripts/hdl.sh deps
	$(MAKE) --no-print-directory -C hdl vsim vsim-lanes4

## hdl-test: Verilator lint (-Wall) and every RTL testbench.
hdl-test:
	@scripts/hdl.sh all

## gen: regenerate the function tables, the register map (Go, RTL, docs) and the SBE
## codecs (engine/sbe, from ballast-sbe.xml).
gen:
	$(GO) generate ./accel/... ./engine/sbe/...

# gen-check fails when a generated file is stale.
gen-check:
	$(GO) run ./accel/internal/gen -root . -check
	$(GO) run ./engine/sbe/internal/gen -root . -check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Everything except the cgo-only AF_PACKET source must build without cgo.
nocgo:
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) vet ./feedhandler/source/

test-unit:
	$(GO) test -count=1 ./...

test-race:
	$(GO) test -count=1 -race $(RACE_PKGS)

fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

bench-smoke:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./... > /dev/null
	@echo "bench-smoke: every benchmark ran once"

## bench: run the benchmarks and the harness (cmd/ballast-bench) and record
## results under bench/results/STAMP/ (BENCH_QUICK=1: the harness's --quick).
bench: deps
	@scripts/bench.sh

clean:
	rm -rf bin
