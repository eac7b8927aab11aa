package pricing

import "math"

// Slice forms of expFast, logFast and mills for the batch paths. The
// compiler inlines none of the scalar functions (they are over its
// budget), and a call spills every live floating-point register, so a
// batch stage that called them per element would spend as much time on
// calls as on arithmetic, and one element's ~40-cycle chain would have to
// finish before the next one's started. Each function here is one call
// per stage: its loop body is the scalar function's expressions written
// out, and consecutive elements, being independent, overlap in the
// processor. Every element is bit for bit the scalar function's result
// (vecmath_test.go).

// b2u8 is 1 for true and 0 for false (a SETcc, not a branch).
func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// expSlice sets dst[i] = expFast(src[i]) for every i of src; dst is at
// least as long as src and must not overlap it. The loop evaluates the
// series for every element whatever its range (out of range it computes
// garbage, harmlessly), and a second pass, only when some element needs
// it, redoes those with math.Exp as expFast does: the hot loop has no
// branch and no call.
func expSlice(dst, src []float64) {
	dst = dst[:len(src)]
	var out uint8
	for i, x := range src {
		out |= b2u8(!(x > expArgMin && x < expArgMax))
		const (
			inv   = 64 * log2e
			ln2Hi = ln2Hi / 64
			ln2Lo = ln2Lo / 64
		)
		t := float64(x*inv) + roundShifter
		n := t - roundShifter
		r := (x - float64(n*ln2Hi)) - float64(n*ln2Lo)
		ni := int64(math.Float64bits(t) - math.Float64bits(roundShifter))
		r2 := r * r
		r4 := r2 * r2
		pm1 := float64(r4*(float64(1.0/120*r)+1.0/24)) + (float64(r2*(float64(1.0/6*r)+0.5)) + r)
		scale := math.Float64frombits(uint64(ni>>6+1023) << 52)
		t2 := exp2Table[ni&63]
		dst[i] = (float64(t2*pm1) + t2) * scale
	}
	if out != 0 {
		for i, x := range src {
			if !(x > expArgMin && x < expArgMax) {
				dst[i] = math.Exp(x)
			}
		}
	}
}

// logSlice sets dst[i] = logFast(src[i]) for every i of src; dst is at
// least as long as src and must not overlap it. Arguments outside
// logFast's range are redone with math.Log in a second pass, as in
// expSlice.
func logSlice(dst, src []float64) {
	dst = dst[:len(src)]
	var out uint8
	for i, x := range src {
		out |= b2u8(!(x >= minNormal && x <= math.MaxFloat64))
		const sqrtHalfBits = 0x3fe6a09e667f3bcd // √½
		bits := math.Float64bits(x)
		e := int64(bits-sqrtHalfBits) >> 52
		m := math.Float64frombits(bits - uint64(e)<<52)
		f := (m - 1) / (m + 1)
		s := f * f
		s2 := s * s
		s4 := s2 * s2
		a0 := float64(1.0/5*s) + 1.0/3
		a1 := float64(1.0/9*s) + 1.0/7
		a2 := float64(1.0/13*s) + 1.0/11
		a3 := float64(1.0/17*s) + 1.0/15
		b0 := float64(a1*s2) + a0
		b1 := float64(1.0/19*s2) + a3
		b1 = float64(b1*s2) + a2
		p := float64(b1*s4) + b0
		f2 := f + f
		ef := float64(e)
		lo := float64(f2*s*p) + float64(ef*ln2Lo)
		dst[i] = float64(ef*ln2Hi) + (f2 + lo)
	}
	if out != 0 {
		for i, x := range src {
			if !(x >= minNormal && x <= math.MaxFloat64) {
				dst[i] = math.Log(x)
			}
		}
	}
}

// millsCenter[k] is the centre of the Mills-ratio table's piece k,
// (k + ½)·millsPieceWidth: exact, and what mills subtracts.
var millsCenter = func() (c [millsPieces]float64) {
	for k := range c {
		c[k] = (float64(k) + 0.5) * millsPieceWidth
	}
	return c
}()

// millsChunk bounds the elements millsAbsSlice reduces before it
// evaluates their polynomials.
const millsChunk = 64

// millsAbsSlice sets m[i] = mills(|d[i]|) for every i of d; m is at least
// as long as d. It runs in passes over chunks of millsChunk: the range
// reduction, the table polynomials (for every element, whatever its
// range), and, only when some |d[i]| is beyond the table, the asymptotic
// series for those. Each pass's dependency chain is short, so many
// elements are in flight at once.
func millsAbsSlice(m, d []float64) {
	m = m[:len(d)]
	var uBuf [millsChunk]float64
	var kBuf [millsChunk]uint8
	for len(d) > 0 {
		n := min(len(d), millsChunk)
		u, ks, dn, mn := uBuf[:n], kBuf[:n], d[:n], m[:n]
		var tail uint8
		for i, z := range dn {
			z = math.Abs(z)
			k := int(z*millsPieceInv) & (millsPieces - 1) // in range where z < millsTableZMax
			tail |= b2u8(!(z < millsTableZMax))
			ks[i] = uint8(k)
			u[i] = z - millsCenter[k]
		}
		for i, ui := range u {
			c := &millsPoly[ks[i]&(millsPieces-1)]
			u2 := ui * ui
			u4 := u2 * u2
			p01 := float64(c[1]*ui) + c[0]
			p23 := float64(c[3]*ui) + c[2]
			p45 := float64(c[5]*ui) + c[4]
			p67 := float64(c[7]*ui) + c[6]
			q0 := float64(p23*u2) + p01
			q1 := float64(p67*u2) + p45
			mn[i] = float64((float64(c[8]*u4)+q1)*u4) + q0
		}
		if tail != 0 {
			for i, z := range dn {
				if z = math.Abs(z); !(z < millsTableZMax) {
					mn[i] = millsTail(z)
				}
			}
		}
		d, m = d[n:], m[n:]
	}
}
