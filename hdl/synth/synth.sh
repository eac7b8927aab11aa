#!/usr/bin/env bash
# FPGA resource estimates of the RTL units from Yosys: synth_xilinx out of
# context (-flatten -noiopad) for one top at a time, then a table of LUT, FF,
# DSP, block RAM, UltraRAM, distributed RAM and carry cells.
#
# Usage: hdl/synth/synth.sh [top ...]
#   top: fxp_<unit> (a fixed-point function unit, hdl/rtl/fxp) or
#   ballast_<op> (a kernel unit, hdl/rtl/kern/ballast_<op>.sv with its
#   sub-modules hdl/rtl/kern/<op>_*.sv). Default: every fxp unit and every
#   kernel unit present.
#   FAMILY=xcup|xcu|xc7 (default xcup, UltraScale+), YOSYS=yosys,
#   JOBS=2 (tops synthesised in parallel), PARAMS="NAME=VALUE ..."
#   (parameters of every top, e.g. "LANES=4" or "COLS_MAX=4096").
# Logs and per-top statistics land in hdl/build/synth/<top>.{log,stat}; the
# table goes to standard output (Markdown).
#
# Yosys 0.23 does not know the SystemVerilog string type: the sources are
# read from a copy (hdl/build/synth/src.*, removed at exit) in which `parameter string` and
# `localparam string` lose the word `string`; nothing else changes. The
# coefficient ROMs are initialised from hdl/mem ($readmemh at elaboration,
# MEM_DIR = "hdl/mem" relative to the repository root, where Yosys runs), so
# synthesis sees the real tables and maps them to block RAM or LUTs.
#
# Counts are Yosys's technology mapping, not a place-and-route: Yosys 0.23
# maps carry chains to CARRY4 cells on every family (UltraScale+ has CARRY8,
# one per two CARRY4), keeps the INV cells a vendor flow folds into LUTs
# (counted here as LUTs), and reports SRL16E/SRLC32E shift registers (LUTs
# used as delay lines) apart. Timing is not estimated.
set -euo pipefail
cd "$(dirname "$0")/../.."

YOSYS=${YOSYS:-yosys}
FAMILY=${FAMILY:-xcup}
JOBS=${JOBS:-2}
PARAMS=${PARAMS:-}

die() {
	echo "synth: $*" >&2
	exit 1
}

command -v "$YOSYS" >/dev/null 2>&1 || die "$YOSYS not found (apt-get install yosys, or scripts/hdl.sh deps)"
case "$FAMILY" in
xcup | xcu | xc7) ;;
*) die "FAMILY=$FAMILY: want xcup, xcu or xc7" ;;
esac

TOPS=()
if [ $# -gt 0 ]; then
	TOPS=("$@")
else
	for f in $(ls hdl/rtl/fxp/fxp_*.sv | grep -v -e '_pkg\.sv$' -e 'fxp_qtab\.sv$' -e 'fxp_exp2\.sv$' | sort); do
		TOPS+=("$(basename "$f" .sv)")
	done
	for f in $(ls hdl/rtl/kern/ballast_*.sv 2>/dev/null | sort); do
		TOPS+=("$(basename "$f" .sv)")
	done
fi

out=hdl/build/synth
mkdir -p "$out"
# A private copy per run, so that runs may overlap.
src=$(mktemp -d "$out/src.XXXXXX")
trap 'rm -rf "$src"' EXIT

# strip FILE: the copy of FILE that Yosys reads.
strip() {
	local f=$1 dst=$src/$(basename "$1")
	sed -E 's/\b(localparam|parameter)([[:space:]]+)string\b/\1/' "$f" >"$dst"
	echo "$dst"
}

common=()
for f in hdl/rtl/ballast_regs_pkg.sv hdl/rtl/ballast_tables_pkg.sv hdl/rtl/ballast_pkg.sv hdl/rtl/fxp/fxp_pkg.sv \
	$(ls hdl/rtl/fxp/*.sv | grep -v '_pkg\.sv$' | sort) hdl/rtl/ballast_philox4x32.sv hdl/rtl/ballast_fifo.sv; do
	common+=("$(strip "$f")")
done

# sources TOP: the files of TOP (the common ones, plus a kernel's own).
declare -A srcs
for t in "${TOPS[@]}"; do
	case "$t" in
	fxp_*)
		[ -f "hdl/rtl/fxp/$t.sv" ] || die "no unit $t in hdl/rtl/fxp"
		srcs[$t]="${common[*]}"
		;;
	ballast_*)
		op=${t#ballast_}
		[ -f "hdl/rtl/kern/$t.sv" ] || die "no kernel unit $t in hdl/rtl/kern"
		files=("${common[@]}")
		for f in $(ls hdl/rtl/kern/"${op}"_*.sv 2>/dev/null | sort) "hdl/rtl/kern/$t.sv"; do
			files+=("$(strip "$f")")
		done
		srcs[$t]="${files[*]}"
		;;
	*) die "top $t: want fxp_<unit> or ballast_<op>" ;;
	esac
done

# synth_top TOP FILES: synthesise TOP, write $out/TOP.{log,stat}.
synth_top() {
	local t=$1 files=$2 chparam="" kv
	for kv in $PARAMS; do
		chparam="$chparam -chparam ${kv%%=*} ${kv#*=}"
	done
	if ! "$YOSYS" -q -l "$out/$t.log" -p "read_verilog -sv $files; hierarchy -top $t$chparam; \
		synth_xilinx -family $FAMILY -top $t -flatten -noiopad; \
		tee -q -o $out/$t.stat stat" >/dev/null 2>&1; then
		echo "synth: yosys failed on $t (log: $out/$t.log)" >&2
		tail -n 20 "$out/$t.log" >&2
		return 1
	fi
	# A front-end warning of these kinds means Yosys read the RTL differently
	# from Verilator (the counts would be of another circuit).
	# (Not one of them: memory_dff declining to merge a read-address
	# register with an asynchronous reset into a RAM's read port, which
	# ballast_fifo has; the memory is mapped all the same.)
	if grep -E "$misread" "$out/$t.log" | grep -v 'address FF has async set and/or reset' >&2; then
		echo "synth: yosys misread $t (log: $out/$t.log)" >&2
		return 1
	fi
}
export -f synth_top
misread='implicitly declared|has no driver|is assigned in a block|conflicting driver|multiple drivers|[Nn]ot supported|[Uu]nsupported|[Ii]gnoring'
export YOSYS FAMILY PARAMS out misread

start=$(date +%s)
for t in "${TOPS[@]}"; do
	printf '%s\t%s\n' "$t" "${srcs[$t]}"
done | xargs -P "$JOBS" -d '\n' -I{} bash -c 'IFS=$'"'"'\t'"'"' read -r t f <<<"$1"; synth_top "$t" "$f"' _ {} ||
	die "synthesis failed"
secs=$(($(date +%s) - start))

# cells STATFILE: the cell counts of the top's statistics as "NAME COUNT" lines.
cells() {
	awk '/Number of cells:/ {on = 1; next} on && NF == 2 && $2 ~ /^[0-9]+$/ {print $1, $2} on && NF == 0 {on = 0}' "$1"
}

printf '\nYosys %s, synth_xilinx -family %s -flatten -noiopad%s, %d s\n\n' \
	"$("$YOSYS" -V | awk '{print $2}')" "$FAMILY" "${PARAMS:+, $PARAMS}" "$secs"
printf '| %-16s | %6s | %6s | %4s | %5s | %6s | %6s | %4s | %6s | %6s | %5s |\n' \
	top LUT FF DSP SRL RAMB18 RAMB36 URAM LUTRAM CARRY4 MUXF
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ------------------ -------- -------- ------ ------- -------- -------- ------ -------- -------- -------
for t in "${TOPS[@]}"; do
	cells "$out/$t.stat" | awk -v top="$t" '
		$1 ~ /^LUT[1-6]$/ || $1 == "INV" {lut += $2}
		$1 ~ /^FD[RSCP]E$/              {ff += $2}
		$1 ~ /^DSP48E[12]$/             {dsp += $2}
		$1 ~ /^SRL(16E|C32E)$/          {srl += $2}
		$1 ~ /^RAMB18/                  {b18 += $2}
		$1 ~ /^RAMB36/                  {b36 += $2}
		$1 ~ /^URAM288/                 {uram += $2}
		$1 ~ /^RAM(32|64|128|256|512)/  {lram += $2}
		$1 ~ /^CARRY[48]$/              {carry += $2}
		$1 ~ /^MUXF[789]$/              {muxf += $2}
		END {printf "| %-16s | %6d | %6d | %4d | %5d | %6d | %6d | %4d | %6d | %6d | %5d |\n",
			top, lut, ff, dsp, srl, b18, b36, uram, lram, carry, muxf}'
done
