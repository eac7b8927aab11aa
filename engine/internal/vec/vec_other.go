//go:build !amd64

package vec

const (
	useAVX  = false
	useAVX2 = false
)

func addScaledAVX(dst, src *float64, n int, q float64) { panic("vec: no AVX kernel") }

func accumulateAVX(dst *float64, base *float64, stride, off int, idx *uint32, qty *float64, n int) {
	panic("vec: no AVX kernel")
}

func addScaledToAVX(dst, l, p *float64, n int, q float64) { panic("vec: no AVX kernel") }

func addScaledFilterAVX2(out, l, p *float64, n int, q, t float64, perm *uint32) int {
	panic("vec: no AVX2 kernel")
}

func filterAVX2(out, v *float64, n int, t float64, perm *uint32) int { panic("vec: no AVX2 kernel") }

func gatherAddScaledAVX2(dst, l, p *float64, idx *int32, n, np int, q float64) bool {
	panic("vec: no AVX2 kernel")
}
