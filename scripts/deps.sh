#!/usr/bin/env bash
# Installs the system tools the test suite needs, from Debian's packages, when
# they are missing and we are allowed to (root, or passwordless sudo).
# Usage: scripts/deps.sh [test|bench]
set -euo pipefail

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v gcc >/dev/null 2>&1 || need+=(gcc)   # cgo: AF_PACKET source
[ -e /usr/include/linux/if_packet.h ] || need+=(linux-libc-dev)
# Headless browser for the dashboard's end-to-end test (engine/dashboard),
# with the fonts it renders the page in (a Recommends, skipped below).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)

if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "deps: missing ${need[*]} and not root: install them to run the whole suite" >&2
	exit 0
fi

echo "deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
