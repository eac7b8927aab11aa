package pricing

import "math"

// Elementary functions for the hot paths. They are the textbook series,
// written out so the compiler can inline and interleave them: math.Exp and
// math.Log cost ~10 ns each on the target machine, and math.Erfc twice that
// plus two exponentials. Every multiply-add goes through mulAdd or an
// explicit float64(x*y), which rounds the product before the add: the Go
// spec lets a compiler fuse x*y+z into an FMA on some targets (arm64 and
// GOAMD64=v3 do, even across statements; amd64 v1 does not), and
// math.FMA on amd64 v1 is a CPU-feature branch plus a call that defeats
// inlining. Forcing the rounding keeps every platform bit-identical and
// the code branch-free. Accuracy against the math package is tested in
// fastmath_test.go.

const (
	invSqrt2Pi = 0.398942280401432677939946059934381868 // 1/√(2π)
	log2e      = 1.44269504088896340735992468100189214  // 1/ln 2

	// fdlibm's split of ln 2 = ln2Hi + ln2Lo: ln2Hi has 32 trailing zero
	// bits, so n·ln2Hi (and n·ln2Hi/64) is exact for any |n| < 2^20.
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10

	// expFast's argument range: e^x is a normal float64 and 2^n scaling is
	// one exponent add. Outside it (and for NaN) math.Exp is used.
	expArgMin = -708.0
	expArgMax = 709.0

	// roundShifter rounds a float64 of magnitude < 2^51 to an integer and
	// leaves that integer in the low bits of the mantissa.
	roundShifter = 0x1.8p52

	minNormal = 0x1p-1022
)

// expFast returns e^x with an error below 2 ulp (math.Exp outside
// [expArgMin, expArgMax]).
//
// x = (64m + j)·(ln 2)/64 + r with |r| ≤ (ln 2)/128 (Cody–Waite reduction
// with an exact high part), so e^x = 2^m · 2^{j/64} · e^r, with 2^{j/64}
// from a correctly rounded table and e^r = 1 + r + r²/2! + … + r⁵/5!
// (the omitted r⁶/6! is below 4e-17).
func expFast(x float64) float64 {
	if !(x > expArgMin && x < expArgMax) {
		return math.Exp(x)
	}
	const (
		inv   = 64 * log2e
		ln2Hi = ln2Hi / 64 // trailing zeros kept: n·ln2Hi is exact
		ln2Lo = ln2Lo / 64
	)
	t := float64(x*inv) + roundShifter
	n := t - roundShifter
	r := (x - float64(n*ln2Hi)) - float64(n*ln2Lo)
	ni := int64(math.Float64bits(t) - math.Float64bits(roundShifter))
	r2 := r * r
	r4 := r2 * r2
	// e^r − 1 = r + r²·(1/2 + r/6) + r⁴·(1/24 + r/120), Estrin's scheme.
	pm1 := mulAdd(r4, mulAdd(1.0/120, r, 1.0/24), mulAdd(r2, mulAdd(1.0/6, r, 0.5), r))
	// 2^m with m = ni>>6 in [−1022, 1022] here: a normal power of two.
	scale := math.Float64frombits(uint64(ni>>6+1023) << 52)
	t2 := exp2Table[ni&63]
	return mulAdd(t2, pm1, t2) * scale
}

// logFast returns ln x for positive normal finite x with an error below
// 2 ulp (math.Log otherwise).
//
// x = 2^e·m with m in [√½, √2), f = (m−1)/(m+1), and
// ln m = 2·atanh f = 2f + 2f·f²·(1/3 + f²/5 + … + f^18/19); |f| ≤ 0.172, so
// the omitted terms are below 3e-17 relative.
func logFast(x float64) float64 {
	if !(x >= minNormal && x <= math.MaxFloat64) {
		return math.Log(x)
	}
	const sqrtHalfBits = 0x3fe6a09e667f3bcd // √½
	bits := math.Float64bits(x)
	e := int64(bits-sqrtHalfBits) >> 52
	m := math.Float64frombits(bits - uint64(e)<<52)
	f := (m - 1) / (m + 1)
	s := f * f
	s2 := s * s
	s4 := s2 * s2
	a0 := mulAdd(1.0/5, s, 1.0/3)
	a1 := mulAdd(1.0/9, s, 1.0/7)
	a2 := mulAdd(1.0/13, s, 1.0/11)
	a3 := mulAdd(1.0/17, s, 1.0/15)
	b0 := mulAdd(a1, s2, a0)
	b1 := mulAdd(1.0/19, s2, a3)
	b1 = mulAdd(b1, s2, a2)
	p := mulAdd(b1, s4, b0)
	f2 := f + f
	ef := float64(e)
	lo := mulAdd(f2*s, p, float64(ef*ln2Lo))
	return float64(ef*ln2Hi) + (f2 + lo)
}

// mills returns the Mills ratio M(z) = N(−z)/φ(z) of the standard normal
// distribution for z ≥ 0 (relative error ≈ 1 ulp): piecewise polynomials
// below millsTableZMax and the asymptotic series z·M(z) ~ Σ(−1)^k(2k−1)!!/z^{2k}
// above (see internal/tablegen). M(+Inf) = 0; a NaN argument gives NaN.
func mills(z float64) float64 {
	if z < millsTableZMax {
		i := int(z * millsPieceInv)
		if i < 0 { // only for a negative argument
			i = 0
		}
		return millsPiece(&millsPoly[i], z-float64((float64(i)+0.5)*millsPieceWidth))
	}
	return millsTail(z)
}

// mills2 returns mills(z1), mills(z2): one call whose two evaluations
// the CPU interleaves.
func mills2(z1, z2 float64) (float64, float64) {
	if z1 < millsTableZMax && z2 < millsTableZMax {
		i1 := max(int(z1*millsPieceInv), 0)
		i2 := max(int(z2*millsPieceInv), 0)
		return millsPiece(&millsPoly[i1], z1-float64((float64(i1)+0.5)*millsPieceWidth)),
			millsPiece(&millsPoly[i2], z2-float64((float64(i2)+0.5)*millsPieceWidth))
	}
	return mills(z1), mills(z2)
}

// millsPiece evaluates one degree-8 piece by Estrin's scheme (short
// dependency chains); internal/tablegen checks the table with this exact
// evaluation.
func millsPiece(c *[millsDegree + 1]float64, u float64) float64 {
	u2 := u * u
	u4 := u2 * u2
	p01 := mulAdd(c[1], u, c[0])
	p23 := mulAdd(c[3], u, c[2])
	p45 := mulAdd(c[5], u, c[4])
	p67 := mulAdd(c[7], u, c[6])
	q0 := mulAdd(p23, u2, p01)
	q1 := mulAdd(p67, u2, p45)
	return mulAdd(mulAdd(c[8], u4, q1), u4, q0)
}

// millsTail is the asymptotic series, for z ≥ millsTableZMax.
func millsTail(z float64) float64 {
	r := 1 / z
	u := r * r
	p := millsAsym[millsAsymDegree]
	for k := millsAsymDegree - 1; k >= 0; k-- {
		p = mulAdd(p, u, millsAsym[k])
	}
	return p * r
}

// mulAdd returns x·y + z with the product rounded first (never fused).
func mulAdd(x, y, z float64) float64 { return float64(x*y) + z }

// normCDF returns N(x), the standard normal distribution function, with
// relative accuracy in both tails.
func normCDF(x float64) float64 {
	phi := invSqrt2Pi * expFast(-0.5*x*x)
	if x > 0 {
		return 1 - float64(phi*mills(x))
	}
	return phi * mills(-x)
}

// normPDF returns φ(x).
func normPDF(x float64) float64 { return invSqrt2Pi * expFast(-0.5*x*x) }

// mills evaluates exactly millsDegree+1 coefficients: fail to compile if
// the generated table's degree changes.
var _ = [1]int{}[millsDegree-8]
