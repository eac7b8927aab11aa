package cpu

import "github.com/ballast-risk/ballast/accel/fxp"

// Kernel names the implementation of the hot aggregation loop (the int64
// multiply-accumulate of every account's positions on a block), chosen at
// start-up from the CPU's features (klauspost/cpuid/v2). Every kernel
// computes the same integers. Revaluation is scalar Go on every CPU (its
// table look-ups and data-dependent branches do not vectorise profitably;
// see the package benchmarks).
type Kernel string

// Aggregation kernels.
const (
	// KernelScalar is portable Go: one 64-bit multiply-add per scenario.
	KernelScalar Kernel = "scalar"
	// KernelAVX2 keeps a block's 32 account losses in eight 256-bit
	// registers; AVX2 has no 64-bit multiply, so each product is three
	// VPMULUDQ (lo·lo + (lo·hi + hi·lo) << 32) (needs AVX2).
	KernelAVX2 Kernel = "avx2"
	// KernelAVX512 keeps a block's 32 account losses in four 512-bit
	// registers and adds each position's loss row with VPMULLQ/VPADDQ
	// (needs AVX-512F and AVX-512DQ).
	KernelAVX512 Kernel = "avx512"
)

// Kernels lists every kernel, fastest first.
var Kernels = []Kernel{KernelAVX512, KernelAVX2, KernelScalar}

// Best is the fastest kernel this CPU supports.
func Best() Kernel {
	for _, k := range Kernels {
		if Supported(k) {
			return k
		}
	}
	return KernelScalar
}

// Supported reports whether k runs on this CPU.
func Supported(k Kernel) bool {
	switch k {
	case KernelScalar:
		return true
	case KernelAVX2:
		return hasAVX2
	case KernelAVX512:
		return hasAVX512
	}
	return false
}

// aggregator returns k's aggregation function (k supported).
func aggregator(k Kernel) func(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	switch k {
	case KernelAVX512:
		return aggregateAVX512
	case KernelAVX2:
		return aggregateAVX2
	}
	return aggregateScalar
}

// aggregateScalar adds the positions' scaled loss rows into acc:
// acc[k] += qty[j]·loss[inst[j]·BlockScenarios + k], in int64 with
// wrap-around (the range rule keeps the lanes that are read exact).
func aggregateScalar(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	qty = qty[:len(inst)]
	for j, i := range inst {
		q := qty[j]
		row := (*[BlockScenarios]int64)(loss[int(i)*BlockScenarios:])
		for k, l := range row {
			acc[k] += q * l
		}
	}
}

// revalScalar writes the losses of one instrument on a tile row: REVAL's
// loop for the tail columns (ValueDGV under the delta-gamma-vega model).
func revalScalar(ip *fxp.InstrumentParams, dgv bool, x []int32, m []uint32, loss []int64) {
	m = m[:len(x)]
	loss = loss[:len(x)]
	if dgv {
		for k, xv := range x {
			loss[k] = ip.Loss(ip.ValueDGV(xv, m[k]))
		}
		return
	}
	for k, xv := range x {
		loss[k] = ip.Loss(ip.Value(xv, m[k]))
	}
}
