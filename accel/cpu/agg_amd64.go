package cpu

import "github.com/klauspost/cpuid/v2"

// aggAVX512 is the AVX-512 account aggregation (agg_amd64.s).
//
//go:noescape
func aggAVX512(acc *[BlockScenarios]int64, loss *int64, inst *uint32, qty *int64, n int)

// hasAVX512 reports the features aggAVX512 needs: AVX-512F for the 512-bit
// registers and AVX-512DQ for VPMULLQ (the 64-bit low multiply).
var hasAVX512 = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ)

// aggregateAVX512 adds the positions' scaled loss rows into acc.
func aggregateAVX512(acc *[BlockScenarios]int64, loss []int64, inst []uint32, qty []int64) {
	if len(inst) == 0 {
		return
	}
	aggAVX512(acc, &loss[0], &inst[0], &qty[0], len(inst))
}
