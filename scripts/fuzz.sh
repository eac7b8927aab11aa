#!/usr/bin/env bash
# Runs every Fuzz target in the module for a short time (FUZZTIME, default 3s).
# go test -fuzz takes one target per invocation, and each invocation costs
# about 2 s of go command on top of the fuzzing. So the targets are listed
# in one go test -list call, each package's fuzz-instrumented test binary is
# built once (go test -c -fuzz), and every target runs that binary in the
# package's directory, with go test's own fuzz cache.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime expires (golang/go#75804, fixed in Go 1.27): a
# race at the deadline, with no failing input. A real failure always writes
# its input to testdata/fuzz/<target>/. So a target that fails with exactly
# that signature and wrote no input is run once more; anything else fails,
# and so does the same signature twice in a row.
set -euo pipefail
fuzztime=${FUZZTIME:-3s}
log=$(mktemp)
bin=$(mktemp -d)
trap 'rm -rf "$log" "$bin"' EXIT
fuzzcache=$(go env GOCACHE)/fuzz

corpus_files() { # dir of the package, target
	{ find "$1/testdata/fuzz/$2" -type f 2>/dev/null || true; } | sort
}

# "pkg Target" lines: go test -list prints a package's targets, then its
# "ok  <pkg>" line.
targets=$(go test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { pending = pending " " $1; next }
	/^ok / { n = split(pending, t, " "); for (i = 1; i <= n; i++) print $2, t[i]; pending = ""; next }
	/^(\?|FAIL)/ { if (pending != "") { print "fuzz: cannot list " $2 > "/dev/stderr"; exit 1 } }
')
if [ -z "$targets" ]; then
	echo "fuzz: no targets found" >&2
	exit 1
fi

count=0
built=
while read -r pkg t; do
	if [ "$pkg" != "$built" ]; then
		dir=$(go list -f '{{.Dir}}' "$pkg")
		go test -c -fuzz . -o "$bin/fuzz.test" "$pkg"
		built=$pkg
	fi
	for attempt in 1 2; do
		echo "fuzz: $pkg $t ($fuzztime)"
		before=$(corpus_files "$dir" "$t")
		if (cd "$dir" && "$bin/fuzz.test" -test.run '^$' -test.fuzz "^${t}\$" \
			-test.fuzztime "$fuzztime" -test.fuzzcachedir "$fuzzcache/$pkg") >"$log" 2>&1; then
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
done <<<"$targets"
echo "fuzz: $count targets passed"
