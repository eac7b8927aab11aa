// Package vec holds the engine's float64 vector kernels: the position
// aggregation of a risk batch and the scaled add of one loss vector into
// another. Each kernel has a portable Go version, which is the
// specification, and on amd64 an AVX version selected at start-up with
// klauspost/cpuid; both compute every element with the same two roundings
// (a product, then a sum — never a fused multiply-add) in the same order, so
// they agree bit for bit (the tests check it).
package vec

// Block is the scenario count Accumulate works on at a time: 32 float64, eight
// 256-bit registers of accumulators.
const Block = 32

// Kernel names the implementation in use ("avx" or "go").
var Kernel = "go"

// AddScaled sets dst[k] += float64(q·src[k]) for every k < len(dst). src must
// be at least as long as dst.
func AddScaled(dst []float64, q float64, src []float64) {
	src = src[:len(dst)]
	if useAVX && len(dst) >= 16 {
		n := len(dst) &^ 15
		addScaledAVX(&dst[0], &src[0], n, q)
		dst, src = dst[n:], src[n:]
	}
	addScaledGo(dst, q, src)
}

func addScaledGo(dst []float64, q float64, src []float64) {
	src = src[:len(dst)]
	for k := range dst {
		dst[k] += float64(q * src[k])
	}
}

// Accumulate sets dst[k] = Σ_j float64(qty[j]·base[idx[j]·stride + off + k])
// for k < Block (dst holds at least Block elements), summing from +0 in j order: the losses of one account over
// one block of scenarios, from its positions (instrument rows idx, contract
// counts qty) in the row-major instrument loss matrix base. It panics if a
// row runs past base.
func Accumulate(dst []float64, base []float64, stride, off int, idx []uint32, qty []float64) {
	dst = dst[:Block]
	qty = qty[:len(idx)]
	for _, i := range idx {
		// Bounds: every row read must lie inside base.
		if o := int(i)*stride + off; o < 0 || o+Block > len(base) {
			panic("vec: Accumulate row out of range")
		}
	}
	if useAVX && len(idx) > 0 {
		accumulateAVX(&dst[0], &base[0], stride, off, &idx[0], &qty[0], len(idx))
		return
	}
	accumulateGo(dst, base, stride, off, idx, qty)
}

func accumulateGo(dst []float64, base []float64, stride, off int, idx []uint32, qty []float64) {
	dst = dst[:Block]
	clear(dst)
	for j, i := range idx {
		q := qty[j]
		row := base[int(i)*stride+off:][:Block]
		for k := range dst {
			dst[k] += float64(q * row[k])
		}
	}
}
