package pricing

import "math"

// Prepared is one option with its per-instrument constants precomputed,
// for the Monte Carlo revaluation (millions of calls per risk epoch). It is
// a plain value: copy it, keep slices of it, share it read-only between
// goroutines.
type Prepared struct {
	x0    float64 // ln(F/K) before the shock
	s     float64 // σ√T
	a0    float64 // A = df·F, the discounted forward (S·e^{−qT} under BSM)
	lnA0  float64 // ln A, for shocks beyond expFast's range
	kd    float64 // df·K
	value float64 // ValueAfterShock(0, 1)
	put   bool
}

// shockArgMax bounds |x| for which A·e^x is computed as a product;
// beyond it e^{ln A + x} is used so that a large shock on a tiny forward
// (or the reverse) neither overflows nor underflows early.
const shockArgMax = 700

// sTotalMax caps the shocked total volatility σ√T·volMul: far beyond it
// the value is its σ→∞ limit (A for a call, Kd for a put) to the last bit,
// and the cap keeps d1 − s finite.
const sTotalMax = 1e12

// Prepare validates in and precomputes its constants. Its errors are
// Price's.
func Prepare(in Inputs) (Prepared, error) {
	if err := in.validate(); err != nil {
		return Prepared{}, err
	}
	df := expFast(-in.R * in.T)
	x := lnRatio(in.S, in.K)
	a := float64(in.S * df)
	lnA := logFast(in.S) - float64(in.R*in.T)
	if in.Model == ModelBSM {
		x += float64((in.R - in.Q) * in.T)
		a = float64(in.S * expFast(-in.Q*in.T))
		lnA = logFast(in.S) - float64(in.Q*in.T)
	}
	p := Prepared{
		x0:   x,
		s:    float64(in.Sigma * math.Sqrt(in.T)),
		a0:   a,
		lnA0: lnA, // not ln(a): a may have underflowed
		kd:   float64(in.K * df),
		put:  in.Kind == Put,
	}
	if !(a <= math.MaxFloat64) || !(p.kd <= math.MaxFloat64) {
		return Prepared{}, ErrRange
	}
	p.value = p.ValueAfterShock(0, 1)
	if p.value-p.value != 0 {
		return Prepared{}, ErrRange
	}
	return p, nil
}

// Value returns the option's value; it equals ValueAfterShock(0, 1) bit for
// bit and Price of the prepared inputs to within a few ulps.
func (p *Prepared) Value() float64 { return p.value }

// ValueAfterShock returns the option's value after the underlying moves by
// the log-return x (S → S·e^x; F → F·e^x under Black-76) and the volatility
// is multiplied by volMul, with the time to expiry unchanged. It takes no
// logarithm and does not allocate. It is total: for any finite x and
// volMul ≥ 0 the result is finite and non-negative, except +Inf for a call
// whose shocked value exceeds the float64 range (a negative or NaN volMul
// counts as 0; a NaN x gives NaN). ValuesAfterShocks returns the same
// numbers for a block of shocks at about 60 % of the cost.
func (p *Prepared) ValueAfterShock(x, volMul float64) float64 {
	y := p.x0 + x
	var a float64
	if x >= -shockArgMax && x <= shockArgMax {
		a = float64(p.a0 * expFast(x))
	} else {
		a = expFast(p.lnA0 + x)
	}
	kd := p.kd
	s := float64(p.s * volMul)
	if !(s >= sTotalMin) {
		// σ→0 limit: discounted intrinsic value of the shocked forward.
		if p.put {
			if y < 0 {
				return max(kd-a, 0)
			}
			return 0
		}
		if y > 0 {
			return max(a-kd, 0)
		}
		return 0
	}
	s = min(s, sTotalMax)
	d1 := y/s + float64(0.5*s)
	d2 := d1 - s
	var b float64
	if y <= 0 {
		b = a * (invSqrt2Pi * expFast(-0.5*d1*d1))
	} else {
		b = kd * (invSqrt2Pi * expFast(-0.5*d2*d2))
	}
	bm1 := float64(b * mills(math.Abs(d1)))
	bm2 := float64(b * mills(math.Abs(d2)))
	if p.put {
		// Kd·N(−d2) − A·N(−d1)
		kDn, aDn := bm2, bm1
		if d2 <= 0 {
			kDn = kd - bm2
		}
		if d1 <= 0 {
			aDn = a - bm1
		}
		return max(kDn-aDn, 0)
	}
	// A·N(d1) − Kd·N(d2)
	aUp, kUp := bm1, bm2
	if d1 > 0 {
		aUp = a - bm1
	}
	if d2 > 0 {
		kUp = kd - bm2
	}
	return max(aUp-kUp, 0)
}
