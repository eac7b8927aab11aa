#!/usr/bin/env bash
# make bench: runs the Go benchmarks of every hot path and records the output,
# with the exact command, commit and machine, under bench/results/.
# BENCHTIME (default 1s) and BENCH (default .) narrow a run.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
pattern=${BENCH:-.}
pkgs=${BENCH_PKGS:-./...}
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out=bench/results/$stamp-go-bench.txt
mkdir -p bench/results
cmd="go test -run '^\$' -bench '$pattern' -benchtime $benchtime -benchmem $pkgs"
{
	echo "# command: $cmd"
	echo "# commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+dirty')"
	echo "# date:    $stamp"
	echo "# machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "# go:      $(go version)"
} > "$out"
eval "$cmd" 2>&1 | tee -a "$out"
echo "bench: results written to $out"
