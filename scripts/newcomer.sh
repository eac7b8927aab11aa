#!/usr/bin/env bash
# The newcomer's path, as the README tells it: from a fresh clone, `make run`
# starts the appliance with its embedded defaults, and a pre-trade verdict
# computed from a real risk epoch comes back (ballastctl check over the
# binary protocol with the printed demo token) in under a minute.
#
# It clones the checkout's committed HEAD (a working tree with uncommitted
# changes is cloned all the same, and said so: CI runs on a clean
# checkout) into a temporary directory and runs `make run` there, as is:
# the default ports (HTTP 8080, SBE 9070) and /dev/shm/ballast must be free
# (`make test` runs this last, after every test, and the tests move
# ballastd to free ports); the data directory is the clone's own. The
# whole `make run` process group is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=60       # seconds from `make run` to a verdict
stop_wait=15    # seconds for ballastd's graceful shutdown before SIGKILL
tmp=$(mktemp -d)
pgid=
cleanup() {
	if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
		kill -TERM -- "-$pgid" 2>/dev/null || true
		for _ in $(seq $((stop_wait * 10))); do
			kill -0 -- "-$pgid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pgid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

clone=$tmp/clone
if repo=$(git rev-parse --show-toplevel 2>/dev/null); then
	if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
		echo "newcomer: the working tree has uncommitted changes; cloning the committed HEAD ($(git -C "$repo" rev-parse --short HEAD)) anyway"
	fi
	git clone -q "$repo" "$clone"
else
	# A source tree without git (an unpacked archive): a copy, less what
	# a build or a run leaves behind.
	echo "newcomer: not a git checkout: copying the source tree instead of cloning it"
	mkdir "$clone"
	tar -C . --exclude=./bin --exclude=./ballast-data --exclude=./hdl/build -cf - . | tar -C "$clone" -xf -
fi
log=$tmp/make-run.log

now_ms() { date +%s%3N; }
start=$(now_ms)
# make run in its own session (so its process group is ballastd's too).
(cd "$clone" && exec setsid make --no-print-directory run) >"$log" 2>&1 &
pgid=$!
verdict=
while [ $(( $(now_ms) - start )) -lt $((budget * 1000)) ]; do
	if ! kill -0 "$pgid" 2>/dev/null; then
		echo "newcomer: make run exited; its output:" >&2
		cat "$log" >&2
		exit 1
	fi
	if [ -x "$clone/bin/ballastctl" ] &&
		verdict=$(BALLAST_TOKEN=demo-admin "$clone/bin/ballastctl" check --account 1001 --instrument 1 --side buy --qty 10 --price 0 --timeout 2s 2>/dev/null) &&
		grep -Eq '^(ACCEPT|REJECT) .*epoch [1-9]' <<<"$verdict"; then
		break
	fi
	verdict=
	sleep 0.5
done
elapsed_ms=$(( $(now_ms) - start ))
if [ -z "$verdict" ]; then
	echo "newcomer: no verdict from a risk epoch within ${budget}s of make run; its output:" >&2
	cat "$log" >&2
	exit 1
fi
grep -q 'demo tokens' "$log" || { echo "newcomer: the start-up lines do not print the demo tokens" >&2; exit 1; }
printf 'newcomer: a verdict %d.%01ds after make run in a fresh clone: %s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000 / 100)) "$verdict"
