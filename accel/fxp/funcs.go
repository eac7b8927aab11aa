package fxp

import "math/bits"

// InvNorm returns the standard normal quantile of u = (w + 0.5)·2^-32 in
// sQ3.28 (ZFrac fraction bits): the kernel's map from one Philox output word
// to a normal deviate.
//
// The input folds to v = w for w < 2^31 (u < ½) and v = ^w (= 2^32−1−w)
// otherwise, so that v < 2^31 addresses the lower tail p = (v+0.5)·2^-32 and
// the result is negated for the upper half: InvNorm(^w) = −InvNorm(w)
// exactly. Entries 0..127 of the table hold Φ⁻¹ at v = 0..127 directly (t =
// 0); for v ≥ 128, with k = 31 − clz(v) (the octave, 7..30), the entry is
// 128 + 128·(k−7) + (the 7 bits of v below its leading one), and the offset
// is t = (2r+1)·2^(7−k+23) with r the k−7 low bits of v (t = (r+½)/2^(k−7)
// in uQ0.24, exact).
func InvNorm(w uint32) int32 {
	v := w
	if w >= 1<<31 {
		v = ^w
	}
	var i uint32
	var t int64
	if v < invNormDirect {
		i = v
	} else {
		k := uint32(bits.Len32(v)) - 1 // 7..30
		lo := k - invNormSubBits       // bits below the sub-segment index
		i = invNormDirect + (k-invNormSubBits)<<invNormSubBits + (v>>lo)&(1<<invNormSubBits-1)
		r := int64(v & (1<<lo - 1))
		t = (2*r + 1) << (invNormTFrac - 1 - lo)
	}
	z := int32(eval(&invNormTab[i], t, invNormTFrac, invNormGuard))
	if w >= 1<<31 {
		return -z
	}
	return z
}

// invNormDirect is the number of directly tabulated InvNorm inputs.
const invNormDirect = 1 << invNormSubBits

// Exp returns e^x for a log-return x in sQ4.27 (XFrac), clamped to
// [−XMax, XMax] (±8), in scaled form. With L = Log2EM1Q34 (log2(e) − 1 in
// uQ0.34, 33 bits), y = x·2^5 + rshr(x·L, 29) is x·log2(e) in sQ4.32;
// k = y >> 32 (floor) and f = y mod 2^32; the exp2 table, entry f >> 24 at
// offset f mod 2^24 (uQ0.24), gives m = 2^(f/2^32)·2^30, saturated to
// 2^31−1; e^x = m·2^(k−30). The relative error is below 1e-9.
func Exp(x int32) Scaled {
	xc := satI64(int64(x), -XMax, XMax)
	return exp2Q32(xc<<(32-XFrac) + Rshr(xc*Log2EM1Q34, XFrac+34-32))
}

// exp2Q32 returns 2^y for y in sQ.32 (|y| < 2^40): k = y >> 32, f = y mod
// 2^32, m = exp2 table entry f >> 24 at offset f mod 2^24, saturated to
// 2^31−1; 2^y = m·2^(k−30).
func exp2Q32(y int64) Scaled {
	k := y >> 32
	f := y & (1<<32 - 1)
	m := eval(&exp2Tab[f>>24], f&(1<<24-1), exp2TFrac, exp2Guard)
	m = min(m, 1<<31-1)
	return Scaled{M: int32(m), E: int32(k) - 30}
}

// Recip returns 1/a for a positive a in scaled form (2^30 ≤ M < 2^31): the
// recip table, entry (M >> 21) mod 512 at offset M mod 2^21 (uQ0.21), gives
// r = 2^61/M in (2^30, 2^31]; 1/a = r·2^(−E−61), renormalised when r = 2^31.
// A non-positive a returns the zero Scaled (the kernel never passes one).
// The relative error is below 1e-9.
func Recip(a Scaled) Scaled {
	if a.M <= 0 {
		return Scaled{}
	}
	m := int64(a.M)
	r := eval(&recipTab[(m>>21)&511], m&(1<<21-1), recipTFrac, recipGuard)
	e := -int32(a.E) - 61
	if r >= 1<<31 {
		return Scaled{M: 1 << 30, E: e + 1}
	}
	return Scaled{M: int32(r), E: e}
}

// Rsqrt returns 1/√a for a positive a in scaled form. With a = (M/2^30)·2^F,
// F = E+30: for even F the rsqrt table entry is (M >> 21) mod 512 (m in
// [1, 2)), for odd F it is 512 + that (m = 2·M/2^30 in [2, 4)) and F is
// decreased by one; the offset is M mod 2^21 (uQ0.21); the entry gives
// r = 2^31/√m in (2^30, 2^31] and 1/√a = r·2^(−31−F/2). A non-positive a
// returns the zero Scaled. The relative error is below 1e-9.
func Rsqrt(a Scaled) Scaled {
	if a.M <= 0 {
		return Scaled{}
	}
	m := int64(a.M)
	f := int32(a.E) + 30
	i := (m >> 21) & 511
	if f&1 != 0 {
		i += 512
		f--
	}
	r := eval(&rsqrtTab[i], m&(1<<21-1), rsqrtTFrac, rsqrtGuard)
	e := -31 - f>>1
	if r >= 1<<31 {
		return Scaled{M: 1 << 30, E: e + 1}
	}
	return Scaled{M: int32(r), E: e}
}

// dAbs returns |d| clamped to 2^31−1 (just below 8.0 in sQ3.28).
func dAbs(d int64) int64 {
	d = satI64(d, -(1<<31 - 1), 1<<31-1)
	if d < 0 {
		return -d
	}
	return d
}

// NormCDF returns N(d) in uQ1.31 (PFrac) for d in sQ3.28 (ZFrac; any int64,
// |d| clamped to 2^31−1, just below 8). With a = |d|, the normcdf table,
// entry a >> 20 at offset a mod 2^20 (uQ0.20), gives T = N(−a), clamped to
// [0, 2^30]; N(d) = T for d < 0 and 2^31 − T otherwise. The absolute error
// is below 1e-9.
func NormCDF(d int64) uint32 {
	a := dAbs(d)
	t := eval(&normCDFTab[a>>20], a&(1<<20-1), normCDFTFrac, normCDFGuard)
	t = satI64(t, 0, 1<<30)
	if d < 0 {
		return uint32(t)
	}
	return uint32(POne - t)
}

// NormPDF returns φ(d) = e^(−d²/2)/√(2π) in scaled form for d in sQ3.28
// (ZFrac; |d| clamped to 2^31−1 as in NormCDF), through the exp2 table:
// with a = |d|, v = rshr(a·Log2EHalfQ32, 31) (a·log2(e)/2 in sQ3.29) and
// y = rshr(a·v, 25) + Log2Sqrt2PiQ32 (d²·log2(e)/2 + log2√(2π) in uQ.32),
// φ = 2^−y. The relative error is below 1e-8 (most of it the rounding of
// v, 2^-30·a in the exponent).
func NormPDF(d int64) Scaled {
	a := dAbs(d)
	v := Rshr(a*Log2EHalfQ32, 31)
	return exp2Q32(-(Rshr(a*v, ZFrac+29-32) + Log2Sqrt2PiQ32))
}
