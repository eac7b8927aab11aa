package tables

import (
	"math"
	"math/big"
)

// The generator evaluates exp and erfc in math/big arithmetic, which is
// integer arithmetic underneath and therefore gives the same bits on every
// platform and CPU (the math package's Exp and Erfc are assembly on amd64 and
// use fused multiply-adds when the CPU has them). Results are rounded once to
// float64; the tables need about 2^-40 relative accuracy, and 128 bits leave
// more than 70 correct bits even after the cancellation in the erf series
// (below). The output does not change with a higher precision.
const bigPrec = 128

// piDigits is π to 100 decimal places (far beyond bigPrec).
const piDigits = "3.1415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"

var (
	bigPi      = mustParse(piDigits)
	bigSqrtPi  = new(big.Float).SetPrec(bigPrec).Sqrt(bigPi)
	bigSqrt2   = new(big.Float).SetPrec(bigPrec).Sqrt(newBig(2))
	bigSqrt2Pi = new(big.Float).SetPrec(bigPrec).Sqrt(new(big.Float).SetPrec(bigPrec).Mul(newBig(2), bigPi))
)

func newBig(x float64) *big.Float { return new(big.Float).SetPrec(bigPrec).SetFloat64(x) }

func mustParse(s string) *big.Float {
	f, _, err := big.ParseFloat(s, 10, bigPrec, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	return f
}

// bigExp returns e^x for |x| ≤ 64: e^(x/2^10) by its Taylor series, squared
// ten times.
func bigExp(x *big.Float) *big.Float {
	const halvings = 10
	r := new(big.Float).SetPrec(bigPrec).SetMantExp(x, -halvings)
	sum := newBig(1)
	term := newBig(1)
	d := new(big.Float).SetPrec(bigPrec)
	for n := 1; n < 200; n++ {
		term.Mul(term, r)
		term.Quo(term, d.SetInt64(int64(n)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < -(bigPrec+16) {
			break
		}
	}
	for i := 0; i < halvings; i++ {
		sum.Mul(sum, sum)
	}
	return sum
}

// exp2 returns 2^y for y in [0, 1].
func exp2(y float64) float64 {
	ln2 := bigLn2()
	x := new(big.Float).SetPrec(bigPrec).Mul(newBig(y), ln2)
	f, _ := bigExp(x).Float64()
	return f
}

var ln2Cache *big.Float

// bigLn2 returns ln 2 = Σ 1/(k·2^k), k ≥ 1.
func bigLn2() *big.Float {
	if ln2Cache != nil {
		return ln2Cache
	}
	sum := newBig(0)
	for k := 1; k < bigPrec+20; k++ {
		t := new(big.Float).SetPrec(bigPrec).SetMantExp(newBig(1), -k)
		t.Quo(t, newBig(float64(k)))
		sum.Add(sum, t)
	}
	ln2Cache = sum
	return sum
}

// normTail returns N(−a) = erfc(a/√2)/2 for a in [0, 8], from the Taylor
// series of erf, erf(z) = 2/√π · Σ (−1)^n z^(2n+1)/(n!(2n+1)). For z ≤ 5.7
// the largest term is below 2^48 and erfc(z) above 2^-53, so 128-bit
// arithmetic leaves more than 25 correct bits beyond float64's 53 relative
// to N(−a) even at a = 8.
func normTail(a float64) float64 {
	z := newBig(a)
	z.Quo(z, bigSqrt2)
	z2 := new(big.Float).SetPrec(bigPrec).Mul(z, z)
	p := new(big.Float).SetPrec(bigPrec).Set(z) // (−1)^n z^(2n+1)/n!
	sum := new(big.Float).SetPrec(bigPrec).Set(z)
	c := new(big.Float).SetPrec(bigPrec)
	d := new(big.Float).SetPrec(bigPrec)
	zf, _ := z2.Float64()
	for n := 1; n < 2000; n++ {
		p.Mul(p, z2)
		p.Quo(p, d.SetInt64(int64(-n)))
		c.Quo(p, d.SetInt64(int64(2*n+1)))
		sum.Add(sum, c)
		if float64(n) > zf && c.MantExp(nil) < -(bigPrec+16) {
			break
		}
	}
	// erf = 2/√π·sum; N(−a) = (1 − erf)/2 = 1/2 − sum/√π.
	sum.Quo(sum, bigSqrtPi)
	r := new(big.Float).SetPrec(bigPrec).Sub(newBig(0.5), sum)
	f, _ := r.Float64()
	return f
}

// log2EM1Q34 returns round((log2(e) − 1)·2^34) = round(2^34/ln 2 − 2^34).
func log2EM1Q34() int64 {
	two34 := new(big.Float).SetPrec(bigPrec).SetMantExp(newBig(1), 34)
	q := new(big.Float).SetPrec(bigPrec).Quo(two34, bigLn2())
	q.Sub(q, two34)
	q.Add(q, newBig(0.5))
	i, _ := q.Int64() // truncates toward zero: floor for positive
	return i
}

// log2EHalfQ32 returns round(log2(e)/2·2^32) = round(2^31/ln 2).
func log2EHalfQ32() int64 {
	q := new(big.Float).SetPrec(bigPrec).Quo(new(big.Float).SetPrec(bigPrec).SetMantExp(newBig(1), 31), bigLn2())
	q.Add(q, newBig(0.5))
	i, _ := q.Int64()
	return i
}

// log2Sqrt2PiQ32 returns round(log2(√(2π))·2^32) = round(2^31·ln(2π)/ln 2),
// with ln(2π) = ln 2 + ln π and ln π = 2·atanh((π−1)/(π+1)) summed as a
// series.
func log2Sqrt2PiQ32() int64 {
	s := new(big.Float).SetPrec(bigPrec).Quo(
		new(big.Float).SetPrec(bigPrec).Sub(bigPi, newBig(1)),
		new(big.Float).SetPrec(bigPrec).Add(bigPi, newBig(1)))
	s2 := new(big.Float).SetPrec(bigPrec).Mul(s, s)
	sum := newBig(0)
	p := new(big.Float).SetPrec(bigPrec).Set(s) // s^(2n+1)
	d := new(big.Float).SetPrec(bigPrec)
	for n := 0; n < 2000; n++ {
		t := new(big.Float).SetPrec(bigPrec).Quo(p, d.SetInt64(int64(2*n+1)))
		sum.Add(sum, t)
		if t.MantExp(nil) < -(bigPrec + 16) {
			break
		}
		p.Mul(p, s2)
	}
	lnPi := sum.Mul(sum, newBig(2))
	ln2 := bigLn2()
	q := new(big.Float).SetPrec(bigPrec).Add(ln2, lnPi) // ln(2π)
	q.Quo(q, ln2)                                       // log2(2π)
	q.SetMantExp(q, 31)                                 // ·2^32/2
	q.Add(q, newBig(0.5))
	i, _ := q.Int64()
	return i
}

// roundHalfUp returns floor(x + 0.5) for |x| < 2^62.
func roundHalfUp(x float64) int64 { return int64(math.Floor(x + 0.5)) }
