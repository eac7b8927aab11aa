//go:build !amd64

package vec

const useAVX = false

func addScaledAVX(dst, src *float64, n int, q float64) { panic("vec: no AVX kernel") }

func accumulateAVX(dst *float64, base *float64, stride, off int, idx *uint32, qty *float64, n int) {
	panic("vec: no AVX kernel")
}
