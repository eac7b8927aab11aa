package fxp

import "math/bits"

// poly2 is one table entry: the coefficients of a quadratic segment.
type poly2 struct{ c0, c1, c2 int64 }

// Rshr is the contract's one rounding rule: x/2^n rounded half up,
// (x + 2^(n−1)) >> n with an arithmetic shift, for 0 ≤ n ≤ 63. It is written
// as (x >> n) + ((x >> (n−1)) & 1), which is the same number and cannot
// overflow.
func Rshr(x int64, n uint) int64 {
	if n == 0 {
		return x
	}
	return x>>n + (x>>(n-1))&1
}

// eval evaluates a table entry at the offset t (tFrac fraction bits):
// y = c0 + rshr((c1 + rshr(c2·t, tFrac))·t, tFrac), then rshr(y, guard).
func eval(e *poly2, t int64, tFrac, guard uint) int64 {
	p := Rshr(e.c2*t, tFrac)
	p = Rshr((e.c1+p)*t, tFrac)
	return Rshr(e.c0+p, guard)
}

// Scaled is a number in scaled form, M·2^E: a signed 32-bit mantissa,
// normalised so that 2^30 ≤ |M| < 2^31 (or M = 0 and E = 0), and an
// exponent. It is the contract's intermediate for quantities whose range is
// too wide for one fixed-point format (e^x, reciprocals, products of
// Greeks): a product of two mantissas is a 62-bit integer, and
// renormalising it is a count of leading zeros and one rounding shift.
type Scaled struct {
	M int32
	E int32
}

// Norm returns v·2^e in scaled form: v is shifted so that its magnitude
// lands in [2^30, 2^31), by a left shift (exact) or by Rshr; a rounding
// that reaches 2^31 is halved (exactly) and the exponent incremented.
func Norm(v int64, e int) Scaled {
	if v == 0 {
		return Scaled{}
	}
	mag := uint64(v)
	if v < 0 {
		mag = -mag
	}
	sh := bits.Len64(mag) - MantBits
	var m int64
	if sh > 0 {
		m = Rshr(v, uint(sh))
		if m == 1<<30<<1 {
			m >>= 1
			sh++
		}
	} else {
		m = v << uint(-sh)
	}
	return Scaled{M: int32(m), E: int32(e + sh)}
}

// Mul returns a·b: the 62-bit product of the mantissas, renormalised.
func Mul(a, b Scaled) Scaled {
	return Norm(int64(a.M)*int64(b.M), int(a.E)+int(b.E))
}

// Neg returns −a (exact).
func (a Scaled) Neg() Scaled { return Scaled{M: -a.M, E: a.E} }

// Fixed returns a rounded to frac fraction bits: M·2^(E+frac), by Rshr when
// the shift is to the right, exactly when it is to the left, saturated to
// ±(2^63−1) when the result does not fit an int64.
func (a Scaled) Fixed(frac int) int64 {
	sh := int(a.E) + frac
	switch {
	case a.M == 0:
		return 0
	case sh >= 0:
		if sh > 32 {
			if a.M < 0 {
				return -1<<63 + 1
			}
			return 1<<63 - 1
		}
		return int64(a.M) << uint(sh)
	case sh < -40:
		return 0
	}
	return Rshr(int64(a.M), uint(-sh))
}

// Float returns a as a float64 (exact), for host-side use and tests.
func (a Scaled) Float() float64 {
	return float64(a.M) * pow2(int(a.E))
}

// pow2 returns 2^e for |e| ≤ 1000.
func pow2(e int) float64 {
	f := 1.0
	for e > 0 {
		step := min(e, 60)
		f *= float64(uint64(1) << uint(step))
		e -= step
	}
	for e < 0 {
		step := min(-e, 60)
		f /= float64(uint64(1) << uint(step))
		e += step
	}
	return f
}

// satI64 clamps v to [lo, hi].
func satI64(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
