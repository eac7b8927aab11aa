#!/usr/bin/env bash
# make bench: runs the feed handler's and the risk engine's headline
# benchmarks COUNT times (default 3) and records the raw output and a summary table of the figures against
# their targets under bench/results/STAMP/, with the exact commands, commit
# and machine. BENCHTIME (default 1s) sets the time per benchmark run.
# BENCH_ALL=1 also runs every other benchmark in the module once.
# BENCH_FILTER (an extended regexp) keeps only the runs whose
# "package:pattern" matches, e.g. BENCH_FILTER=accel for the accelerator's;
# the verdict service's load runs (scripts/bench-verdict.sh) match "verdict";
# the harness (cmd/ballast-bench: report.md, report.json and the PNG plots
# in the same directory) matches "ballast-bench". BENCH_QUICK=1 runs the
# harness with --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
count=${COUNT:-3}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
dir=bench/results/$stamp
mkdir -p "$dir"
raw=$dir/feed.txt
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"

# package:pattern:benchtime
runs=(
	"./feedhandler/itch:^BenchmarkDecode\$:$benchtime"
	"./feedhandler/book:^BenchmarkApply\$:$benchtime"
	"./feedhandler/ring:^(BenchmarkSPSC|BenchmarkHandoffLatency|BenchmarkHandoffLatencyInPlace|BenchmarkPingPong|BenchmarkLineTransfer)\$:$benchtime"
	"./feedhandler/source:^(BenchmarkUDPReceiveQueued|BenchmarkUDPLoopback|BenchmarkPcapReplay)\$:$benchtime"
	"./feedhandler:^BenchmarkReplay\$:$benchtime"
	"./feedhandler/internal/srcbench:^BenchmarkSourceCompare\$:20000x"
	"./engine/pricing:^(BenchmarkCompute|BenchmarkComputeBatch|BenchmarkValueAfterShock|BenchmarkValuesAfterShocks|BenchmarkImpliedVol)\$:$benchtime"
	"./engine/tail:^(BenchmarkCompute|BenchmarkAccountResetWith|BenchmarkPostTrade)\$:$benchtime"
	"./engine/kernel:^(BenchmarkRevalue|BenchmarkAggregate|BenchmarkRiskBatch)\$:3x"
	"./engine:^(BenchmarkReferenceEpoch|BenchmarkReferenceEpochCPU)\$:3x"
	"./accel/cpu:^(BenchmarkRevalue|BenchmarkScenarios|BenchmarkAggregate|BenchmarkRisk)\$:$benchtime"
	"./accel/device:^BenchmarkVsimRisk\$:2x"
	"./engine:^BenchmarkCheck\$:50000x"
)
{
	echo "# commit: $commit"
	echo "# date:   $stamp"
	echo "# host:   $(uname -srm), $(nproc) cores"
} > "$raw"
cmds=()
for r in "${runs[@]}"; do
	if [ -n "${BENCH_FILTER:-}" ] && ! grep -Eq -- "$BENCH_FILTER" <<<"$r"; then
		continue
	fi
	IFS=: read -r pkg pat bt <<<"$r"
	cmd="go test -run '^\$' -bench '$pat' -benchtime $bt -count $count -benchmem $pkg"
	cmds+=("$cmd")
	echo "bench: $cmd" >&2
	echo "# command: $cmd" >> "$raw"
	eval "$cmd" 2>&1 | tee -a "$raw" | grep -E '^(Benchmark|--- SKIP|\s+.*skip)' >&2 || true
done
if [ "${BENCH_ALL:-0}" = 1 ]; then
	cmd="go test -run '^\$' -bench . -benchtime 1x -benchmem ./..."
	echo "# command: $cmd" >> "$raw"
	eval "$cmd" >> "$raw" 2>&1
fi
if [ -z "${BENCH_FILTER:-}" ] || grep -Eq -- "$BENCH_FILTER" <<<"verdict"; then
	scripts/bench-verdict.sh "$dir"
fi
if [ -z "${BENCH_FILTER:-}" ] || grep -Eq -- "$BENCH_FILTER" <<<"ballast-bench"; then
	echo "bench: go run ./cmd/ballast-bench --dir $dir${BENCH_QUICK:+ --quick}" >&2
	go run ./cmd/ballast-bench --dir "$dir" ${BENCH_QUICK:+--quick}
fi
summary=$dir/feed.md
go run ./bench/report -in "$raw" -cmd "make bench (COUNT=$count BENCHTIME=$benchtime${BENCH_FILTER:+ BENCH_FILTER=$BENCH_FILTER}) at $commit; raw output and per-package commands in feed.txt" > "$summary"
cat "$summary"
echo
echo "bench: raw output in $raw, summary in $summary"
