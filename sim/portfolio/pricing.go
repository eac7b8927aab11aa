package portfolio

import (
	"math"

	"github.com/ballast-risk/ballast/engine/instrument"
)

// valuation is a contract's model value per unit (before the multiplier)
// and its sensitivities to the underlying's spot and vol.
type valuation struct {
	value float64 // price per unit of underlying
	delta float64 // ∂value/∂S
	gamma float64 // ∂²value/∂S²
	vega  float64 // ∂value/∂σ
}

// value prices contract k at the market's marks: spot at S, a future at its
// fair price S·e^((r−q)T), options by BSM on spot or Black-76 on their
// future, at the smile's vol for their strike and expiry. It is the
// generator's own rough pricer, used for entry prices and collateral
// sizing, not the engine's reference.
func (mk *market) value(k *contract) valuation {
	u := &mk.underlyings[k.und]
	vol := 0.0
	if k.kind.IsOption() {
		vol = mk.impliedVol(u, k.expIndex, math.Log(k.strike/(u.spot*mk.growth(k, u))))
	}
	return mk.price(k, u.spot, vol)
}

// growth is F/S for the forward F that contract k is valued on: its own
// expiry's, or for a Black-76 option its future's.
func (mk *market) growth(k *contract, u *underlying) float64 {
	t := k.exp.t
	if k.model == instrument.Black76 {
		t = mk.instruments[k.future].exp.t
	}
	return math.Exp((mk.rate - u.div) * t)
}

// price values contract k with the underlying at spot and, for an option,
// a flat vol; the Greeks are at that fixed vol.
func (mk *market) price(k *contract, spot, vol float64) valuation {
	u := &mk.underlyings[k.und]
	switch k.kind {
	case instrument.Spot:
		return valuation{value: spot, delta: 1}
	case instrument.Future:
		g := mk.growth(k, u)
		return valuation{value: spot * g, delta: g}
	}
	t := k.exp.t
	df := math.Exp(-mk.rate * t)
	dFdS := mk.growth(k, u)
	fwd := spot * dFdS
	p, nd, pdf := black(k.kind == instrument.Call, fwd, k.strike, vol, t)
	v := valuation{value: df * p, delta: df * nd * dFdS}
	if sd := vol * math.Sqrt(t); sd > 0 {
		v.gamma = df * pdf / (fwd * sd) * dFdS * dFdS
		v.vega = df * fwd * pdf * math.Sqrt(t)
	}
	return v
}

// impliedVol reads the underlying's smile at option expiry e and
// log-moneyness k.
func (mk *market) impliedVol(u *underlying, e int, k float64) float64 {
	s := &u.slices[e]
	if s.T <= 0 {
		return u.atm
	}
	return math.Sqrt(math.Max(s.w(k), 0) / s.T)
}

// black returns the undiscounted Black price of a call or put on forward f
// with strike k, vol and expiry t, the undiscounted delta ∂/∂f, and the
// standard normal density at d1.
func black(call bool, f, k, vol, t float64) (price, delta, pdf float64) {
	sd := vol * math.Sqrt(t)
	if sd <= 0 || k <= 0 {
		intrinsic := f - k
		if !call {
			intrinsic = -intrinsic
		}
		switch {
		case intrinsic > 0 && call:
			return intrinsic, 1, 0
		case intrinsic > 0:
			return intrinsic, -1, 0
		}
		return 0, 0, 0
	}
	d1 := (math.Log(f/k) + sd*sd/2) / sd
	d2 := d1 - sd
	pdf = math.Exp(-d1*d1/2) / math.Sqrt(2*math.Pi)
	if call {
		return f*normCDF(d1) - k*normCDF(d2), normCDF(d1), pdf
	}
	return k*normCDF(-d2) - f*normCDF(-d1), normCDF(d1) - 1, pdf
}

// normCDF is the standard normal distribution function.
func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
