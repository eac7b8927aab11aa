package cpu

// Kernel names the implementation of the hot aggregation loop, chosen at
// start-up from the CPU's features (klauspost/cpuid/v2).
type Kernel string

// Aggregation kernels.
const (
	// KernelScalar is portable Go: one 64-bit multiply-add per scenario.
	KernelScalar Kernel = "scalar"
	// KernelAVX512 keeps a block's 32 account losses in four 512-bit
	// registers and adds each position's loss row with VPMULLQ/VPADDQ
	// (needs AVX-512F and AVX-512DQ).
	KernelAVX512 Kernel = "avx512"
)

// Best is the fastest kernel this CPU supports.
func Best() Kernel {
	if hasAVX512 {
		return KernelAVX512
	}
	return KernelScalar
}

// Supported reports whether k runs on this CPU.
func Supported(k Kernel) bool {
	switch k {
	case KernelScalar:
		return true
	case KernelAVX512:
		return hasAVX512
	}
	return false
}

// aggregateScalar adds the positions' scaled loss rows into acc.
func aggregateScalar(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	for j, i := range inst {
		q := qty[j]
		row := loss[int(i)*BlockScenarios:][:BlockScenarios]
		for k, l := range row {
			acc[k] += q * l
		}
	}
}
