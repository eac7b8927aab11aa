package pricing

import (
	"fmt"
	"math"
)

const (
	// iterationsMax bounds the root finder's steps (typically 2–6 are used).
	iterationsMax = 100
	// impliedVolMax is the largest volatility ImpliedVol searches, per
	// √year (10,000 %).
	impliedVolMax = 100.0
	// sRelTol is the relative step in σ√T at which the root finder stops.
	sRelTol = 1e-14
	// timeValueUlpsMin: the time value of an in-the-money option must
	// exceed this many ulps of its price to carry volatility information.
	timeValueUlpsMin = 8
)

// ImpliedVol returns the volatility σ at which the option's value is price;
// in.Sigma is ignored. Errors wrap ErrInvalid (bad inputs or a negative or
// non-finite price) or ErrNoImpliedVol: T = 0, a price below the intrinsic
// value (Kd−A)+ / (A−Kd)+, at or above the upper bound (A for calls, Kd for
// puts, A = df·F and Kd = df·K), a time value indistinguishable from the
// rounding of the intrinsic value, or a volatility above impliedVolMax.
//
// The price is reduced to its time value, which is the value of the
// out-of-the-money option of the same strike (put–call parity), and σ√T is
// found by Halley's method kept inside a bracket (bisection when a step
// leaves it) on a scaled objective: ln v(s) − ln v* for prices below half
// the bound, where far out-of-the-money prices are exponentially small in
// 1/s², and ln(U − v(s)) − ln(U − v*) above, where the price approaches its
// bound U exponentially in s². U − v is evaluated without cancellation.
func ImpliedVol(in Inputs, price float64) (float64, error) {
	in.Sigma = 0
	if err := in.validate(); err != nil {
		return 0, err
	}
	if !(price >= 0 && price <= math.MaxFloat64) {
		return 0, &InputError{Field: "price", Value: price, Reason: "must be non-negative and finite"}
	}
	if in.T == 0 {
		return 0, fmt.Errorf("%w: T = 0 leaves no time value", ErrNoImpliedVol)
	}
	df := expFast(-in.R * in.T)
	x := lnRatio(in.S, in.K)
	A := float64(in.S * df)
	if in.Model == ModelBSM {
		x += float64((in.R - in.Q) * in.T)
		A = float64(in.S * expFast(-in.Q*in.T))
	}
	Kd := float64(in.K * df)
	if !(A <= math.MaxFloat64 && Kd <= math.MaxFloat64) {
		return 0, ErrRange
	}
	var intrinsic, upper float64
	if in.Kind == Call {
		intrinsic, upper = max(A-Kd, 0), A
	} else {
		intrinsic, upper = max(Kd-A, 0), Kd
	}
	switch {
	case price < intrinsic:
		return 0, fmt.Errorf("%w: price %g below the intrinsic value %g", ErrNoImpliedVol, price, intrinsic)
	case price >= upper:
		return 0, fmt.Errorf("%w: price %g at or above the upper bound %g", ErrNoImpliedVol, price, upper)
	}
	tv := price - intrinsic
	if tv <= 0 || (intrinsic > 0 && tv <= timeValueUlpsMin*0x1p-52*price) {
		return 0, fmt.Errorf("%w: time value %g of price %g is indistinguishable from zero", ErrNoImpliedVol, tv, price)
	}
	s, err := solveTotalVol(x, A, Kd, tv)
	if err != nil {
		return 0, err
	}
	sigma := s / math.Sqrt(in.T)
	if !(sigma <= impliedVolMax) {
		return 0, fmt.Errorf("%w: volatility above %g", ErrNoImpliedVol, impliedVolMax)
	}
	return sigma, nil
}

// otmEval returns, at total volatility s > 0, the value v of the
// out-of-the-money option (the call when A ≤ Kd, else the put), w = U − v
// with U = min(A, Kd) computed without cancellation, the vega B = ∂v/∂s,
// and d1·d2.
func otmEval(x, s, A, Kd float64) (v, w, B, d1d2 float64) {
	d1 := x/s + float64(0.5*s)
	d2 := d1 - s
	if x <= 0 {
		B = A * (invSqrt2Pi * expFast(-0.5*d1*d1))
	} else {
		B = Kd * (invSqrt2Pi * expFast(-0.5*d2*d2))
	}
	bm1 := float64(B * mills(math.Abs(d1)))
	bm2 := float64(B * mills(math.Abs(d2)))
	aUp, aDn := bm1, A-bm1
	if d1 > 0 {
		aUp, aDn = A-bm1, bm1
	}
	kUp, kDn := bm2, Kd-bm2
	if d2 > 0 {
		kUp, kDn = Kd-bm2, bm2
	}
	if A <= Kd {
		v = aUp - kUp
	} else {
		v = kDn - aDn
	}
	w = aDn + kUp
	d1c := max(-dClamp, min(d1, dClamp))
	d2c := max(-dClamp, min(d2, dClamp))
	return v, w, B, d1c * d2c
}

// solveTotalVol finds s > 0 with otmEval(x, s, A, Kd).v = tv, where
// 0 < tv < min(A, Kd).
func solveTotalVol(x, A, Kd, tv float64) (float64, error) {
	U := min(A, Kd)
	lower := tv <= 0.5*U
	lnTarget := math.Log(tv)
	if !lower {
		lnTarget = math.Log(U - tv)
	}
	// Initial guess: the larger of the far-out-of-the-money asymptote
	// s ≈ |x|/√(−2 ln b) and the at-the-money slope s ≈ √(2π)·b, with b the
	// time value in units of √(A·Kd); above half the bound, the
	// at-the-money tail U − v ≈ U·e^{−s²/8}.
	norm := math.Sqrt(A) * math.Sqrt(Kd)
	var s float64
	if lower {
		b := tv / norm
		s = math.Sqrt(2*math.Pi) * b
		if lb := math.Log(b); lb < 0 {
			s = max(s, math.Abs(x)/math.Sqrt(-2*lb))
		}
	} else {
		s = math.Sqrt(-8 * math.Log((U-tv)/U))
	}
	if !(s > 0 && s <= math.MaxFloat64) {
		s = 1
	}
	lo, hi := 0.0, math.Inf(1)
	for range iterationsMax {
		v, w, B, d1d2 := otmEval(x, s, A, Kd)
		if v < tv {
			lo = s
		} else if v > tv {
			hi = s
		} else {
			return s, nil
		}
		// Objective f and its derivatives in s (v' = B, v'' = B·d1·d2/s).
		var f, f1, f2 float64
		if lower {
			f = math.Log(v) - lnTarget
			f1 = B / v
			f2 = f1*d1d2/s - float64(f1*f1)
		} else {
			f = math.Log(w) - lnTarget
			f1 = -B / w
			f2 = f1*d1d2/s - float64(f1*f1)
		}
		step := -f / f1
		if h := 1 - float64(0.5*step*f2/f1); h >= 0.5 && h <= 2 {
			step /= h // Halley's correction when it is tame
		}
		next := s + step
		if !(next > lo && next < hi) {
			switch {
			case lo == 0:
				next = hi / 4
			case math.IsInf(hi, 1):
				next = lo * 4
			case hi > 4*lo:
				next = math.Sqrt(lo * hi)
			default:
				next = 0.5 * (lo + hi)
			}
		}
		if math.Abs(next-s) <= sRelTol*s || (hi-lo) <= sRelTol*hi && hi < math.Inf(1) {
			return next, nil
		}
		if next > impliedVolMax*1e3 || next < 1e-300 {
			break
		}
		s = next
	}
	return 0, fmt.Errorf("%w: no convergence in %d iterations", ErrNoImpliedVol, iterationsMax)
}
