#!/usr/bin/env bash
# Runs every Fuzz target in the module for a short time (FUZZTIME, default 5s).
# go test -fuzz takes one target per invocation, so we list them first.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime expires (golang/go#75804, fixed in Go 1.27): a
# race at the deadline, with no failing input. A real failure always writes
# its input to testdata/fuzz/<target>/. So a target that fails with exactly
# that signature and wrote no input is run once more; anything else fails,
# and so does the same signature twice in a row.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

corpus_files() { # dir of the package, target
	{ find "$1/testdata/fuzz/$2" -type f 2>/dev/null || true; } | sort
}

count=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		for attempt in 1 2; do
			echo "fuzz: $pkg $t ($fuzztime)"
			before=$(corpus_files "$dir" "$t")
			if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
				break
			fi
			after=$(corpus_files "$dir" "$t")
			if [ "$attempt" = 1 ] && [ "$before" = "$after" ] &&
				grep -q '^    context deadline exceeded$' "$log" &&
				! grep -q 'Failing input written' "$log"; then
				echo "fuzz: $t hit the fuzz coordinator's deadline race (golang/go#75804), no failing input; running it again"
				continue
			fi
			cat "$log"
			exit 1
		done
		count=$((count + 1))
	done
done
echo "fuzz: $count targets passed"
