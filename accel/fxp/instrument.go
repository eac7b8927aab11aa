package fxp

import (
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
)

// Host bounds of an instrument.
const (
	// NotionalMin and NotionalMax bound S·Multiplier, the money of one
	// contract per unit of normalised value (keeps the loss scale's shift
	// in 1..62).
	NotionalMin = 0x1p-20
	NotionalMax = 0x1p34
	// ForwardRatioMin and ForwardRatioMax bound A/S (the discounted
	// forward per spot, e^(−qT) or e^(−rT)·Carry) and a linear
	// instrument's Carry.
	ForwardRatioMin = 0x1p-4
	ForwardRatioMax = 4.0
	// LogMoneynessAbsMax bounds |ln(F/K)|.
	LogMoneynessAbsMax = 8.0
	// RateAbsMax bounds |r| and |q| (per year).
	RateAbsMax = 1.0
	// ExpiryYearsMax bounds T.
	ExpiryYearsMax = 100.0
)

// InstrumentParams is the fixed-point form of one instrument: the constants
// Value, ValueDGV, Loss and Greeks need, precomputed on the host. It is
// immutable and safe for concurrent use.
type InstrumentParams struct {
	kind   accel.Kind
	model  accel.Model
	linear bool
	put    bool
	carry  Scaled // linear: Carry
	as     Scaled // options: A/S = df·F/S
	kd     Scaled // Kd/S = df·K/S
	lnFK   int32  // ln(F/K) in sQ4.27
	lnFKS  Scaled // ln(F/K) in scaled form, for d1 = ln(F/K)/s' + …
	s      Scaled // σ√T
	// Greeks constants.
	sqrtT, invSigma, thetaC, rate, carryRate, years, atm Scaled
	// Delta-gamma-vega constants: Δ, Γ·S/2 and (vega/S)·σ in scaled form.
	dDelta, dGammaHalf, dVegaSigma Scaled
	v0                             int64  // Value(0, MOne)
	lossM                          uint32 // loss scale S·mult·2^(MoneyFrac−24) = lossM·2^-lossSh
	lossSh                         uint8
	g                              GreeksQ
	spot                           float64
	mult                           float64
	sigma                          float64
}

// GreeksQ are an instrument's price and Greeks per unit, normalised by the
// spot mark S, each in sQ31.32 (VFrac): Price/S, Delta (∂V/∂S), Gamma·S,
// Vega/S (per 1.00 of vol), Theta/S (per year), Rho/S (per 1.00 of rate),
// Vanna (∂²V/∂S∂σ) and Volga/S. AccelGreeks turns them into accel.Greeks per
// contract.
type GreeksQ struct {
	Price, Delta, Gamma, Vega, Theta, Rho, Vanna, Volga int64
}

// NewInstrumentParams converts an instrument to fixed point. The host
// constants are computed in float64 and rounded once: under BSM
// A/S = e^(−qT), ln(F/K) = ln(S/K) + (r−q)·T; under Black-76 A/S =
// e^(−rT)·Carry, ln(F/K) = ln(S·Carry/K); Kd/S = e^(−rT)·K/S in all models;
// A/S, Kd/S, σ√T, √T, 1/σ, σ/(2√T), r, r−q (BSM) or 0, T and
// √T/√(2π) and ln(F/K) (also to sQ4.27) to scaled form; Carry (linear
// kinds) to scaled form. Exponentials
// are engine/pricing.Exp and the logarithm is hostLog, both reproducible bit
// for bit on every platform. Inputs outside the ranges (see the constants)
// are a *RangeError naming the field.
func NewInstrumentParams(in *accel.Instrument) (*InstrumentParams, error) {
	switch {
	case in.Kind < accel.Spot || in.Kind > accel.Put:
		return nil, rangeErr("Kind", float64(in.Kind), "want Spot, Future, Call or Put")
	case !finite(in.S) || in.S <= 0:
		return nil, rangeErr("S", in.S, "spot must be positive and finite")
	case !finite(in.Multiplier) || in.Multiplier <= 0:
		return nil, rangeErr("Multiplier", in.Multiplier, "must be positive and finite")
	case !finite(in.Carry) || in.Carry <= 0:
		return nil, rangeErr("Carry", in.Carry, "must be positive and finite")
	}
	notional := float64(in.S * in.Multiplier)
	if !(notional >= NotionalMin && notional <= NotionalMax) {
		return nil, rangeErr("S·Multiplier", notional, "want [2^-20, 2^34]")
	}
	p := &InstrumentParams{kind: in.Kind, model: in.Model, spot: in.S, mult: in.Multiplier, sigma: in.Sigma}
	p.lossM, p.lossSh = hostMant(math.Ldexp(notional, MoneyFrac-24), LossMantBits, 62)
	if in.Kind == accel.Spot || in.Kind == accel.Future {
		if !(in.Carry >= ForwardRatioMin && in.Carry < ForwardRatioMax) {
			return nil, rangeErr("Carry", in.Carry, "want [2^-4, 4)")
		}
		p.linear = true
		p.carry = ScaledFromFloat(in.Carry)
		if in.Kind == accel.Future {
			if !finite(in.R) || !finite(in.Q) || math.Abs(in.R) > RateAbsMax || math.Abs(in.Q) > RateAbsMax {
				return nil, rangeErr("R, Q", in.R-in.Q, "rates must be finite, |r|, |q| ≤ %g", RateAbsMax)
			}
			if !(in.T >= 0 && in.T <= ExpiryYearsMax) {
				return nil, rangeErr("T", in.T, "want [0, %g]", ExpiryYearsMax)
			}
			p.carryRate = ScaledFromFloat(in.R - in.Q)
			p.years = ScaledFromFloat(in.T)
		}
		p.v0 = p.Value(0, MOne)
		p.g = p.Greeks()
		return p, nil
	}
	if err := p.prepareOption(in); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *InstrumentParams) prepareOption(in *accel.Instrument) error {
	switch {
	case in.Model != accel.BSM && in.Model != accel.Black76:
		return rangeErr("Model", float64(in.Model), "want BSM or Black76")
	case !finite(in.K) || in.K <= 0:
		return rangeErr("K", in.K, "strike must be positive and finite")
	case !(in.T >= 0 && in.T <= ExpiryYearsMax):
		return rangeErr("T", in.T, "want [0, %g]", ExpiryYearsMax)
	case !finite(in.R) || math.Abs(in.R) > RateAbsMax:
		return rangeErr("R", in.R, "want [-%g, %g]", RateAbsMax, RateAbsMax)
	case !finite(in.Q) || math.Abs(in.Q) > RateAbsMax:
		return rangeErr("Q", in.Q, "want [-%g, %g]", RateAbsMax, RateAbsMax)
	case !(in.Sigma >= 0 && in.Sigma <= VolMax):
		return rangeErr("Sigma", in.Sigma, "want [0, %g]", VolMax)
	}
	p.put = in.Kind == accel.Put
	T := in.T
	df := pricing.Exp(-in.R * T)
	var as, lnFK float64
	if in.Model == accel.BSM {
		as = pricing.Exp(-in.Q * T)
		lnFK = hostLog(in.S/in.K) + float64((in.R-in.Q)*T)
		p.carryRate = ScaledFromFloat(in.R - in.Q)
	} else {
		as = float64(df * in.Carry)
		lnFK = hostLog(float64(in.S*in.Carry) / in.K)
	}
	if !(as >= ForwardRatioMin && as < ForwardRatioMax) {
		return rangeErr("A/S", as, "discounted forward per spot must lie in [2^-4, 4)")
	}
	if !(math.Abs(lnFK) <= LogMoneynessAbsMax) {
		return rangeErr("K", in.K, "ln(F/K) = %g must lie in [-%g, %g]", lnFK, LogMoneynessAbsMax, LogMoneynessAbsMax)
	}
	sqrtT := math.Sqrt(T)
	s := float64(in.Sigma * sqrtT)
	if s > 8 {
		return rangeErr("Sigma", in.Sigma, "total vol σ√T = %g must be ≤ 8", s)
	}
	p.as = ScaledFromFloat(as)
	p.kd = ScaledFromFloat(float64(df*in.K) / in.S)
	p.lnFK = int32(fixedFromFloat(lnFK, XFrac))
	p.lnFKS = ScaledFromFloat(lnFK)
	p.s = ScaledFromFloat(s)
	p.sqrtT = ScaledFromFloat(sqrtT)
	if in.Sigma > 0 {
		p.invSigma = ScaledFromFloat(1 / in.Sigma)
	}
	if T > 0 {
		p.thetaC = ScaledFromFloat(in.Sigma / float64(2*sqrtT))
	}
	p.rate = ScaledFromFloat(in.R)
	p.years = ScaledFromFloat(T)
	p.atm = ScaledFromFloat(float64(sqrtT * invSqrt2Pi))
	p.v0 = p.Value(0, MOne)
	p.g = p.Greeks()
	p.dDelta = Norm(p.g.Delta, -VFrac)
	p.dGammaHalf = Norm(p.g.Gamma, -VFrac-1)
	p.dVegaSigma = Mul(Norm(p.g.Vega, -VFrac), ScaledFromFloat(in.Sigma))
	return nil
}

// invSqrt2Pi is 1/√(2π).
const invSqrt2Pi = 0.398942280401432677939946059934381868

// clampX and clampM clamp kernel inputs to their ranges.
func clampX(x int32) int64  { return satI64(int64(x), -XMax, XMax) }
func clampM(m uint32) int64 { return satI64(int64(m), MMin, MMax) }

// optState carries the intermediates of an option valuation to Greeks.
type optState struct {
	a         Scaled // A/S·e^x
	r         Scaled // 1/s'
	d1, d2    int64  // sQ.28
	aN, kN    int64  // a·N(±d1), Kd/S·N(±d2) in sQ31.32
	intrinsic bool
}

// Value returns the instrument's value per unit normalised by its spot mark,
// V(S·e^x, σ·m)/S, in sQ31.32 (VFrac), for a log-return x (sQ4.27, clamped
// to ±XMax) and a vol multiplier m (uQ8.24, clamped to [MMin, MMax]).
//
// Linear kinds: (Carry·Exp(x)).Fixed(32). Options (docs/accel-numerics.md
// has every step): a = A/S·Exp(x) (scaled), y = ln(F/K) + x (sQ5.27),
// σ' = σ√T·m (scaled) and s' = σ'.Fixed(28) (uQ4.28), both saturated at
// SMax. When s' < SMin the option is at its σ→0 limit: N(d1) = N(d2) = 1
// if y > 0 (call) / y < 0 (put), else 0. Otherwise r = Recip(σ') (scaled),
// q = (ln(F/K)·r).Fixed(28) +
// rshr(x·r.M, −(r.E+1)) (y/s' in sQ.28, ln(F/K) in scaled form so that its
// relative precision survives a small s'), d1 = q + rshr(s', 1),
// d2 = d1 − s'. With a·N = rshr(a.M·N, −(a.E+1)) and
// likewise for Kd/S, a call is max(a·N(d1) − Kd/S·N(d2), 0) and a put
// max(Kd/S·N(−d2) − a·N(−d1), 0). The result lies in [0, VMax).
func (p *InstrumentParams) Value(x int32, m uint32) int64 {
	if p.linear {
		return Mul(p.carry, Exp(int32(clampX(x)))).Fixed(VFrac)
	}
	v, _ := p.option(int32(clampX(x)), uint32(clampM(m)))
	return v
}

// option values an option at a clamped x and m.
func (p *InstrumentParams) option(x int32, m uint32) (int64, optState) {
	var st optState
	st.a = Mul(p.as, Exp(x))
	y := int64(p.lnFK) + int64(x)
	sS := Mul(p.s, Norm(int64(m), -MFrac))
	s := sS.Fixed(SFrac)
	if s > SMax {
		s, sS = SMax, Norm(SMax, -SFrac)
	}
	var n1, n2 uint32
	if s < SMin {
		st.intrinsic = true
		if (!p.put && y > 0) || (p.put && y < 0) {
			n1, n2 = POne, POne
		}
	} else {
		st.r = Recip(sS)
		q := Mul(p.lnFKS, st.r).Fixed(ZFrac) + Rshr(int64(x)*int64(st.r.M), uint(-(st.r.E+1)))
		st.d1 = q + Rshr(int64(s), 1)
		st.d2 = st.d1 - int64(s)
		if p.put {
			n1, n2 = NormCDF(-st.d1), NormCDF(-st.d2)
		} else {
			n1, n2 = NormCDF(st.d1), NormCDF(st.d2)
		}
	}
	st.aN = Rshr(int64(st.a.M)*int64(n1), uint(-(st.a.E + 1)))
	st.kN = Rshr(int64(p.kd.M)*int64(n2), uint(-(p.kd.E + 1)))
	v := st.aN - st.kN
	if p.put {
		v = st.kN - st.aN
	}
	return max(v, 0), st
}

// Value0 is the unshocked value Value(0, MOne).
func (p *InstrumentParams) Value0() int64 { return p.v0 }

// Loss returns the loss per contract in money units (int64, 2^-12
// currency) when the instrument's value per unit moves from Value0 to v
// (from Value or ValueDGV): d = rshr(v0 − v, 8) (the change in sQ.24, v0 − v
// first saturated to ±VMax), loss = rshr(d·lossM, lossSh), where
// lossM·2^-lossSh = S·Multiplier·2^(12−24) with lossM in [2^23, 2^24): a
// 39×25-bit product.
func (p *InstrumentParams) Loss(v int64) int64 {
	v = satI64(v, -1<<62, 1<<62)
	d := Rshr(satI64(p.v0-v, -VMax, VMax), LossPreShift)
	return Rshr(d*int64(p.lossM), uint(p.lossSh))
}

// LossScale returns the loss scale: S·Multiplier·2^(MoneyFrac−24) =
// M·2^-Shift, M in [2^23, 2^24).
func (p *InstrumentParams) LossScale() (m uint32, shift uint8) { return p.lossM, p.lossSh }

// ValueDGV returns the delta-gamma-vega approximation of Value, in sQ31.32:
// Value0 + ΔV with ΔV = Δ·e1 + ½Γ·S·e1² + (vega/S)·σ·(m−1), e1 = e^x − 1 —
// accel.DeltaGammaVega per unit, normalised by S (dS = S·e1, dσ = σ(m−1)).
// Linear kinds are exact: ValueDGV = Value. In fixed point:
// e1 = Exp(x).Fixed(32) − 2^32 and m−1 are put in scaled form and the three
// terms are scaled products of the Greeks' constants (Δ, Γ·S/2, vega/S·σ),
// each rounded to sQ31.32 and saturated to ±VMax, and their sum is
// saturated to ±VMax.
func (p *InstrumentParams) ValueDGV(x int32, m uint32) int64 {
	if p.linear {
		return p.Value(x, m)
	}
	e1 := Norm(satI64(Exp(int32(clampX(x))).Fixed(VFrac)-1<<VFrac, -VMax, VMax), -VFrac)
	t1 := satI64(Mul(p.dDelta, e1).Fixed(VFrac), -VMax, VMax)
	t2 := satI64(Mul(p.dGammaHalf, Mul(e1, e1)).Fixed(VFrac), -VMax, VMax)
	dm := Norm(clampM(m)-MOne, -MFrac)
	t3 := satI64(Mul(p.dVegaSigma, dm).Fixed(VFrac), -VMax, VMax)
	return p.v0 + satI64(t1+t2+t3, -VMax, VMax)
}

// Greeks returns the price and Greeks at x = 0, m = 1 (see GreeksQ for the
// normalisation), computed in fixed point from the same intermediates as
// Value: with B = a·φ(d1) (scaled; φ from NormPDF), Δ = ±a·N(±d1),
// Γ·S = B·(1/s), vega/S = B·√T, θ/S = r·V − b·Δ − B·σ/(2√T) (b = r−q under
// BSM, 0 under Black-76), ρ/S = ±T·Kd/S·N(±d2) (BSM) or −T·V (Black-76),
// vanna = −B·d2/σ, volga/S = (vega/S)·d1·d2/σ; every product a Mul and each
// Greek one Fixed(32) per term. In the σ→0 limit (s < SMin) the Greeks are
// engine/pricing's one-sided limits. Linear kinds: Price = Delta = Carry;
// a Future also has θ/S = −(r−q)·Carry and ρ/S = T·Carry.
func (p *InstrumentParams) Greeks() GreeksQ {
	if p.linear {
		c := p.carry.Fixed(VFrac)
		g := GreeksQ{Price: c, Delta: c}
		if p.kind == accel.Future {
			g.Theta = -Mul(p.carryRate, p.carry).Fixed(VFrac)
			g.Rho = Mul(p.years, p.carry).Fixed(VFrac)
		}
		return g
	}
	v, st := p.option(0, MOne)
	g := GreeksQ{Price: v}
	vS := Norm(v, -VFrac)
	if st.intrinsic {
		// h = N(d1) = N(d2) in the limit: 1 in the money, ½ at the forward.
		var h int64
		switch y := p.lnFK; {
		case y > 0:
			h = POne
		case y == 0:
			h = POne / 2
		}
		if p.put {
			h = POne - h
		}
		aH := Rshr(int64(st.a.M)*h, uint(-(st.a.E + 1)))
		kH := Rshr(int64(p.kd.M)*h, uint(-(p.kd.E + 1)))
		g.Delta, g.Rho = aH, Mul(p.years, Norm(kH, -VFrac)).Fixed(VFrac)
		if p.put {
			g.Delta, g.Rho = -aH, -g.Rho
		}
		if p.lnFK == 0 {
			g.Vega = Mul(st.a, p.atm).Fixed(VFrac)
			g.Vanna = Mul(st.a, p.atm).Fixed(VFrac - 1) // half of Vega, not per S
		}
	} else {
		b := Mul(st.a, NormPDF(st.d1))
		g.Delta = st.aN
		g.Rho = Mul(p.years, Norm(st.kN, -VFrac)).Fixed(VFrac)
		if p.put {
			g.Delta, g.Rho = -st.aN, -g.Rho
		}
		g.Gamma = Mul(b, st.r).Fixed(VFrac)
		vega := Mul(b, p.sqrtT)
		g.Vega = vega.Fixed(VFrac)
		g.Theta = -Mul(b, p.thetaC).Fixed(VFrac)
		d1, d2 := Norm(st.d1, -ZFrac), Norm(st.d2, -ZFrac)
		g.Vanna = -Mul(Mul(b, d2), p.invSigma).Fixed(VFrac)
		g.Volga = Mul(Mul(vega, Mul(d1, d2)), p.invSigma).Fixed(VFrac)
	}
	g.Theta += Mul(p.rate, vS).Fixed(VFrac) - Mul(p.carryRate, Norm(g.Delta, -VFrac)).Fixed(VFrac)
	if p.model == accel.Black76 {
		g.Rho = -Mul(p.years, vS).Fixed(VFrac)
	}
	return g
}

// AccelGreeks converts fixed-point Greeks of this instrument to accel.Greeks
// per contract (host side, float64): with u = 2^-32·Multiplier, Price, Vega,
// Theta, Rho and Volga are ·S·u, Delta and Vanna ·u, Gamma ·u/S.
func (p *InstrumentParams) AccelGreeks(g GreeksQ) accel.Greeks {
	u := 0x1p-32 * p.mult
	su := p.spot * u
	return accel.Greeks{
		Price: float64(g.Price) * su, Delta: float64(g.Delta) * u, Gamma: float64(g.Gamma) * u / p.spot,
		Vega: float64(g.Vega) * su, Theta: float64(g.Theta) * su, Rho: float64(g.Rho) * su,
		Vanna: float64(g.Vanna) * u, Volga: float64(g.Volga) * su,
	}
}
