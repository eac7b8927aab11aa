#!/usr/bin/env bash
# The RTL checks (hdl/README.md). Usage: scripts/hdl.sh deps|lint|tb|all
#   deps  installs Verilator (>= 5.006, for --binary --timing), Yosys, make and
#         g++ from Debian's packages when missing and we may (root or
#         passwordless sudo), like scripts/deps.sh
#   lint  verilator --lint-only -Wall of the whole top and of every fixed-point
#         function unit (hdl/lint/*.vlt waivers)
#   tb    generates the test vectors (go run ./accel/internal/tbvec), builds
#         and runs every testbench
#   all   lint, then tb
# Never skips silently: a missing tool is installed or the script exits
# nonzero saying which and why.
set -euo pipefail
cd "$(dirname "$0")/.."

VERILATOR=${VERILATOR:-verilator}
GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	GO=/usr/local/go/bin/go
fi
verilator_min=5.006

die() {
	echo "hdl: $*" >&2
	exit 1
}

# version_ge A B: A >= B for dotted versions.
version_ge() {
	[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

missing_packages() {
	local need=()
	command -v "$VERILATOR" >/dev/null 2>&1 || need+=(verilator)
	command -v yosys >/dev/null 2>&1 || need+=(yosys)
	command -v make >/dev/null 2>&1 || need+=(make)
	command -v g++ >/dev/null 2>&1 || need+=(g++)
	echo "${need[@]:-}"
}

deps() {
	local need
	need=$(missing_packages)
	if [ -n "$need" ]; then
		local sudo
		if [ "$(id -u)" -eq 0 ]; then
			sudo=""
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
			sudo="sudo -n"
		else
			die "missing $need and not root (no passwordless sudo): install them (apt-get install $need) to lint and simulate the RTL"
		fi
		echo "hdl: installing $need" >&2
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086
		$sudo apt-get update -qq >/dev/null || die "apt-get update failed"
		# shellcheck disable=SC2086
		$sudo apt-get install -y -qq --no-install-recommends $need >/dev/null || die "apt-get install $need failed"
	fi
	command -v "$VERILATOR" >/dev/null 2>&1 || die "$VERILATOR not found (after installing the verilator package)"
	local v
	v=$("$VERILATOR" --version | awk '{print $2}')
	version_ge "$v" "$verilator_min" || die "verilator $v is older than $verilator_min (needs --binary --timing)"
}

# need_sim: what lint and tb cannot run without.
need_sim() {
	deps
}

case "${1:-}" in
deps)
	deps
	echo "hdl: $("$VERILATOR" --version), $(yosys -V 2>/dev/null | head -n1)"
	;;
lint)
	need_sim
	make -s -C hdl lint fxp-lint VERILATOR="$VERILATOR"
	;;
tb)
	need_sim
	command -v "$GO" >/dev/null 2>&1 || die "go not found: the test vectors come from the Go golden code"
	make -s -C hdl tb fxp-tb VERILATOR="$VERILATOR" GO="$GO"
	;;
all)
	"$0" lint
	"$0" tb
	;;
*)
	die "usage: scripts/hdl.sh deps|lint|tb|all"
	;;
esac
