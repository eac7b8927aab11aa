#!/usr/bin/env bash
# The newcomer's path, as the README tells it: from a fresh clone, `make run`
# starts the appliance with its embedded defaults, and a pre-trade verdict
# comes back (ballastctl check over the binary protocol with the printed
# demo token) in under a minute. `make test` runs this last; it needs the
# default ports (8080, 9070) and /dev/shm/ballast free, and uses a
# temporary data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=60
tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
start=$(date +%s)
# make run, with the data directory moved out of the checkout.
make --no-print-directory build >/dev/null
./bin/ballastd --data "$tmp/data" 2> "$tmp/ballastd.log" &
pid=$!
verdict=
while [ $(( $(date +%s) - start )) -lt $budget ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "newcomer: ballastd exited; log:" >&2
		cat "$tmp/ballastd.log" >&2
		exit 1
	fi
	if verdict=$(BALLAST_TOKEN=demo-admin ./bin/ballastctl check --account 1001 --instrument 1 --side buy --qty 10 --price 0 --timeout 2s 2>/dev/null) &&
		grep -Eq '^(ACCEPT|REJECT) .*epoch [1-9]' <<<"$verdict"; then
		break
	fi
	verdict=
	sleep 0.5
done
if [ -z "$verdict" ]; then
	echo "newcomer: no verdict from a risk epoch within ${budget}s of make run; log:" >&2
	cat "$tmp/ballastd.log" >&2
	exit 1
fi
grep -q 'demo tokens' "$tmp/ballastd.log" || { echo "newcomer: the start-up lines do not print the demo tokens" >&2; exit 1; }
echo "newcomer: a verdict $(( $(date +%s) - start ))s after make run: $verdict"
