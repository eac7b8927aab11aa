package cpu

import "github.com/klauspost/cpuid/v2"

// aggAVX512 and aggAVX2 are the assembly aggregation kernels
// (agg_amd64.s): acc[0:32] += qty[j]·loss[inst[j]·32 : inst[j]·32+32] for
// j < n. Every inst[j] must index a row of loss (the plan's positions are
// validated against its instruments).
//
//go:noescape
func aggAVX512(acc *[BlockScenarios]int64, loss *int64, inst *uint32, qty *int64, n int)

//go:noescape
func aggAVX2(acc *[BlockScenarios]int64, loss *int64, inst *uint32, qty *int64, n int)

//go:noescape
func aggStoreAVX512(dst *float64, loss *int64, inst *uint32, qty *int64, n int)

// sfence orders the non-temporal stores of aggStoreAVX512 before later
// stores (the block's completion).
func sfence()

// hasAVX512 reports the features aggAVX512 needs: AVX-512F for the 512-bit
// registers and AVX-512DQ for VPMULLQ (the 64-bit low multiply); hasAVX2
// those of aggAVX2.
var (
	hasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ)
	hasAVX2   = cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2)
)

// aggregateAVX512 adds the positions' scaled loss rows into acc.
func aggregateAVX512(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	if len(inst) == 0 {
		return
	}
	qty = qty[:len(inst)]
	aggAVX512(acc, &loss[0], &inst[0], &qty[0], len(inst))
}

// aggregateAVX2 adds the positions' scaled loss rows into acc.
func aggregateAVX2(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	if len(inst) == 0 {
		return
	}
	qty = qty[:len(inst)]
	aggAVX2(acc, &loss[0], &inst[0], &qty[0], len(inst))
}

// storeAVX512 sets dst[0:32] to the bits of the positions' summed loss rows
// (dst holds BlockScenarios values), streaming them past the cache; the
// caller calls fenceStores before the rows are read elsewhere.
func storeAVX512(dst []float64, loss []int64, inst []uint32, qty []int64) {
	dst = dst[:BlockScenarios]
	qty = qty[:len(inst)]
	if len(inst) == 0 {
		clear(dst)
		return
	}
	aggStoreAVX512(&dst[0], &loss[0], &inst[0], &qty[0], len(inst))
}

// fenceStores issues SFENCE.
func fenceStores() { sfence() }
