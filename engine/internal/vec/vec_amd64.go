package vec

import "github.com/klauspost/cpuid/v2"

var (
	useAVX  = cpuid.CPU.Supports(cpuid.AVX)
	useAVX2 = cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.POPCNT)
)

func init() {
	switch {
	case useAVX2:
		Kernel = "avx2"
	case useAVX:
		Kernel = "avx"
	}
}

//go:noescape
func addScaledAVX(dst, src *float64, n int, q float64)

//go:noescape
func accumulateAVX(dst *float64, base *float64, stride, off int, idx *uint32, qty *float64, n int)

//go:noescape
func addScaledToAVX(dst, l, p *float64, n int, q float64)

//go:noescape
func addScaledFilterAVX2(out, l, p *float64, n int, q, t float64, perm *uint32) int

//go:noescape
func filterAVX2(out, v *float64, n int, t float64, perm *uint32) int

//go:noescape
func gatherAddScaledAVX2(dst, l, p *float64, idx *int32, n, np int, q float64) bool
