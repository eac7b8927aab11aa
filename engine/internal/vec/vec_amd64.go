package vec

import "github.com/klauspost/cpuid/v2"

var useAVX = cpuid.CPU.Supports(cpuid.AVX)

func init() {
	if useAVX {
		Kernel = "avx"
	}
}

//go:noescape
func addScaledAVX(dst, src *float64, n int, q float64)

//go:noescape
func accumulateAVX(dst *float64, base *float64, stride, off int, idx *uint32, qty *float64, n int)
