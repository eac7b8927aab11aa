# Ballast — the two commands users need are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 5s
# Packages with goroutines sharing memory: always tested under the race detector.
RACE_PKGS := ./feedhandler/... ./sim/... ./cmd/... ./engine/... ./accel/...

.PHONY: all build run test test-unit test-race fuzz bench-smoke bench lint fmt vet deps nocgo clean

all: build

deps:
	@scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

## run: start the appliance with its embedded defaults (see README).
run: build
	./bin/ballastd

## test: the whole suite — lint, vet, unit and integration tests, race, fuzz, benchmark smoke.
test: deps lint vet nocgo test-unit test-race fuzz bench-smoke
	@echo "make test: all checks passed"

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

## bench: run the benchmarks and record results under bench/results/.
bench: deps
	@scripts/bench.sh

clean:
	rm -rf bin
