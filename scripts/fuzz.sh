#!/usr/bin/env bash
# Runs every Fuzz target in the module for a short time (FUZZTIME, default 5s).
# go test -fuzz takes one target per invocation, so we list them first.
set -euo pipefail
fuzztime=${FUZZTIME:-5s}
pkgs=$(go list ./...)
count=0
for pkg in $pkgs; do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		echo "fuzz: $pkg $t ($fuzztime)"
		go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz.$$.log 2>&1 || {
			cat /tmp/fuzz.$$.log; rm -f /tmp/fuzz.$$.log; exit 1; }
		count=$((count + 1))
	done
done
rm -f /tmp/fuzz.$$.log
echo "fuzz: $count targets passed"
