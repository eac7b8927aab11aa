// Package vec holds the engine's float64 vector kernels: the position
// aggregation of a risk batch, the scaled add of one loss vector into
// another, and the post-trade pass of the incremental pre-trade check (a
// scaled add fused with a threshold filter). Each kernel has a portable Go
// version, which is the
// specification, and on amd64 an AVX version selected at start-up with
// klauspost/cpuid; both compute every element with the same two roundings
// (a product, then a sum — never a fused multiply-add) in the same order, so
// they agree bit for bit (the tests check it).
package vec

import "math"

// Block is the scenario count Accumulate works on at a time: 32 float64, eight
// 256-bit registers of accumulators.
const Block = 32

// Kernel names the implementation in use: "avx2" (every kernel
// vectorised), "avx" (all but AddScaledFilter and Filter) or "go".
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

// AddScaledTo sets dst[k] = l[k] + float64(q·p[k]) for every k < len(dst):
// one leg of a post-trade loss vector. l and p must be at least as long as
// dst; dst may be l itself.
func AddScaledTo(dst, l []float64, q float64, p []float64) {
	l, p = l[:len(dst)], p[:len(dst)]
	if useAVX && len(dst) >= 16 {
		n := len(dst) &^ 15
		addScaledToAVX(&dst[0], &l[0], &p[0], n, q)
		dst, l, p = dst[n:], l[n:], p[n:]
	}
	addScaledToGo(dst, l, q, p)
}

func addScaledToGo(dst, l []float64, q float64, p []float64) {
	l, p = l[:len(dst)], p[:len(dst)]
	for k := range dst {
		dst[k] = l[k] + float64(q*p[k])
	}
}

// GatherAddScaled sets dst[j] = l[j] + float64(q·p[idx[j]]) for every
// j < len(dst): one leg of the post-trade losses at a list of scenarios
// (the pre-trade tail of an account), whose p values are scattered over the
// vector and usually not in cache. l and idx must be at least as long as
// dst; dst may be l itself. It panics if an index lies outside p. The AVX2
// version validates the indices first, then prefetches every p[idx[j]]
// before it computes any, so that the cache misses overlap instead of
// waiting on the reorder window, and gathers four at a time (VGATHERDPD).
func GatherAddScaled(dst, l []float64, q float64, p []float64, idx []int32) {
	l, idx = l[:len(dst)], idx[:len(dst)]
	if useAVX2 && len(dst) >= 8 && len(p) > 0 && len(p) <= math.MaxInt32 {
		n := len(dst) &^ 7
		if !gatherAddScaledAVX2(&dst[0], &l[0], &p[0], &idx[0], n, len(p), q) {
			panic("vec: GatherAddScaled index out of range")
		}
		dst, l, idx = dst[n:], l[n:], idx[n:]
	}
	gatherAddScaledGo(dst, l, q, p, idx)
}

func gatherAddScaledGo(dst, l []float64, q float64, p []float64, idx []int32) {
	l, idx = l[:len(dst)], idx[:len(dst)]
	for j, s := range idx {
		dst[j] = l[j] + float64(q*p[s])
	}
}

// AddScaledFilter computes v = l[k] + float64(q·p[k]) for every k < len(l)
// and appends to out, in increasing k, the values with v >= t (IEEE
// comparison: −0 >= +0, and a NaN never passes); it returns their count.
// p and out must be at least as long as l; out is written only below the
// returned count plus 3.
func AddScaledFilter(out, l []float64, q float64, p []float64, t float64) int {
	p, out = p[:len(l)], out[:len(l)]
	c := 0
	if useAVX2 && len(l) >= 16 {
		n := len(l) &^ 15
		c = addScaledFilterAVX2(&out[0], &l[0], &p[0], n, q, t, &compactPerm[0][0])
		l, p = l[n:], p[n:]
	}
	return c + addScaledFilterGo(out[c:], l, q, p, t)
}

func addScaledFilterGo(out, l []float64, q float64, p []float64, t float64) int {
	p = p[:len(l)]
	c := 0
	for k, x := range l {
		if v := x + float64(q*p[k]); v >= t {
			out[c] = v
			c++
		}
	}
	return c
}

// Filter appends to out, in increasing k, the values v[k] >= t (IEEE
// comparison, as AddScaledFilter) and returns their count. out must be at
// least as long as v; it is written only below the returned count plus 3.
// out may be v itself (an in-place filter): every value is read before
// the store that could overwrite it.
func Filter(out, v []float64, t float64) int {
	out = out[:len(v)]
	c := 0
	if useAVX2 && len(v) >= 16 {
		n := len(v) &^ 15
		c = filterAVX2(&out[0], &v[0], n, t, &compactPerm[0][0])
		v = v[n:]
	}
	return c + filterGo(out[c:], v, t)
}

func filterGo(out, v []float64, t float64) int {
	c := 0
	for _, x := range v {
		if x >= t {
			out[c] = x
			c++
		}
	}
	return c
}

// compactPerm[m] is the VPERMPS index vector that moves the float64 lanes
// whose bits are set in the 4-bit mask m to the front, in lane order.
var compactPerm = func() (t [16][8]uint32) {
	for m := range t {
		k := 0
		for i := range 4 {
			if m>>i&1 != 0 {
				t[m][2*k], t[m][2*k+1] = uint32(2*i), uint32(2*i+1)
				k++
			}
		}
	}
	return t
}()
