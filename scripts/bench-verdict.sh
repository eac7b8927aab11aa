#!/usr/bin/env bash
# The verdict service's figures (issue 5): starts ballastd with the demo
# universe and a light simulated feed on loopback, drives it with
# `ballast-sim load` — open-loop OrderChecks over SBE/TCP, SBE/shared memory
# and HTTP, pipelined maximum throughput over TCP, durable fills (closed
# loop, and open loop at a fixed rate) — and writes
# the JSON lines and a Markdown table to DIR (default bench/results/STAMP).
# The load generator and the appliance share this machine's cores; the
# report says how many.
#
#   scripts/bench-verdict.sh [DIR]
# VERDICT_DURATION (default 3s) and VERDICT_WARMUP (1s) set each run.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-bench/results/$(date -u +%Y-%m-%dT%H%M%SZ)}
mkdir -p "$dir"
dur=${VERDICT_DURATION:-3s}
warm=${VERDICT_WARMUP:-1s}
sbe=127.0.0.1:${VERDICT_SBE_PORT:-19071}
http=127.0.0.1:${VERDICT_HTTP_PORT:-18081}
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
go build -o "$tmp/" ./cmd/ballastd ./cmd/ballast-sim ./cmd/ballastctl
token=bench-admin
appliance=("$tmp/ballastd" --data "$tmp/data" --sbe "$sbe" --http "$http" --shm "$tmp/shm"
	--token "admin=$token" --msg-rate 2000 --scenarios 2000 --epoch-every 2s --stats-every 1h)
"${appliance[@]}" 2> "$dir/verdict-ballastd.log" &
pid=$!
for _ in $(seq 1 200); do
	if BALLAST_TOKEN=$token "$tmp/ballastctl" account 1001 --transport http --http "http://$http" >/dev/null 2>&1; then
		break
	fi
	sleep 0.1
done
BALLAST_TOKEN=$token "$tmp/ballastctl" account 1001 --transport http --http "http://$http" >/dev/null
out=$dir/verdict.jsonl
: > "$out"
load() { # args of ballast-sim load
	echo "bench: ballast-sim load $*" >&2
	BALLAST_TOKEN=$token "$tmp/ballast-sim" load --json --http "http://$http" --duration "$dur" --warmup "$warm" "$@" \
		| sed "s#$tmp/ballast-sim#ballast-sim#" >> "$out" || echo "bench: run failed: $*" >&2
}
load --transport tcp --addr "$sbe" --mode open --rate 10000
load --transport tcp --addr "$sbe" --mode open --rate 50000
load --transport tcp --addr "$sbe" --mode open --rate 100000
load --transport shm --shm-dir "$tmp/shm" --mode open --rate 10000
load --transport shm --shm-dir "$tmp/shm" --mode open --rate 100000
load --transport http --mode open --rate 5000 --conns 4
load --transport http --mode open --rate 20000 --conns 4
load --transport tcp --addr "$sbe" --mode max --conns 2 --inflight 256
load --transport shm --shm-dir "$tmp/shm" --mode max --conns 1 --inflight 64
load --transport tcp --addr "$sbe" --mode fills --conns 1
load --transport tcp --addr "$sbe" --mode open-fills --rate 2000
load --transport tcp --addr "$sbe" --mode fills --conns 16
load --transport tcp --addr "$sbe" --mode fills --conns 64
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
note="Against \`${appliance[*]/#$tmp\//}\` (demo universe, simulated feed at 2,000 msg/s, epochs every 2 s) on $(uname -srm), $(nproc) cores, commit $commit, $(date -u +%Y-%m-%dT%H:%MZ); made by scripts/bench-verdict.sh (make bench). The load generator and the appliance share the cores."
go run ./bench/loadreport -in "$out" -note "$note" > "$dir/verdict.md"
cat "$dir/verdict.md"
