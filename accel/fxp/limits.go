package fxp

import (
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
)

// LossBound returns a bound on |Loss| per contract, in money units, over
// every scenario whose log-return for this instrument's underlying lies in
// [−xAbsMax, xAbsMax] (raw sQ4.27; ScenarioParams.XAbsMax, or the largest
// historical or stress |x|) and any vol multiplier, under model. It is
// computed in float64 (every product rounded before it is added, so the
// bound is the same on every platform) with a margin: the value lies in [Vmin, Vmax] with,
// for linear kinds, Carry·e^(∓X); for a call [0, (A/S)·e^X]; for a put
// [0, Kd/S]; under DeltaGammaVega |ΔV| ≤ |Δ|·E + |Γ·S|·E²/2 + |vega/S|·σ·255
// with E = e^X − 1, capped at VMax. With N = S·Multiplier·2^12 the bound
// is max(V0 − Vmin, Vmax − V0)·N·(1 + 2^-20) + N·2^-25 (the rounding of
// the change to 2^-24 of S) + 4.
func (p *InstrumentParams) LossBound(xAbsMax int32, model accel.LossModel) int64 {
	X := min(math.Abs(float64(xAbsMax)), XMax) * 0x1p-27
	v0 := float64(p.v0) * 0x1p-32
	e := pricing.Exp(X)
	var dv float64
	switch {
	case p.linear:
		c := p.carry.Float()
		dv = max(v0-c/e, float64(c*e)-v0)
	case model == accel.DeltaGammaVega:
		g := &p.g
		e1 := e - 1
		dv = float64(math.Abs(float64(g.Delta))*0x1p-32*e1) + float64(math.Abs(float64(g.Gamma))*0x1p-33*e1*e1) +
			float64(math.Abs(p.dVegaSigma.Float())*255)
		dv = min(dv, VMax*0x1p-32)
	case p.put:
		dv = max(v0, p.kd.Float()-v0)
	default:
		dv = max(v0, float64(p.as.Float()*e)-v0)
	}
	// The change is rounded to 2^-24 of S before the scale: half a unit of
	// that is S·Multiplier·2^(12−25) money units.
	notional := p.spot * p.mult * 0x1p12
	money := float64(dv*notional*(1+0x1p-20)) + float64(notional*0x1p-25)
	if !(money < 0x1p62) {
		return 1<<63 - 1
	}
	return int64(math.Ceil(money)) + 4
}

// CheckLossRange checks the range rule that keeps every sum of the risk
// batch inside an int64: for every account a,
//
//	scenarios · Σ_j |qty_j|·bound[instrument_j] < 2^63
//
// where bound holds LossBound per instrument. Then an account's loss in any
// scenario (Σ qty·Loss, qty integral), the ES numerator (at most KES ≤
// scenarios such losses) and the sum over all scenarios (the mean loss's
// numerator) cannot overflow, whatever the order of the additions. The sum
// is taken in float64 with a relative margin of 2^-20. A violation is a
// *RangeError naming the account.
func CheckLossRange(bound []int64, pos *accel.Positions, scenarios int) error {
	if scenarios < 1 {
		return rangeErr("scenarios", float64(scenarios), "want ≥ 1")
	}
	limit := 0x1p63 * (1 - 0x1p-20) / float64(scenarios)
	for a := 0; a < pos.Accounts(); a++ {
		sum := 0.0
		for j := pos.Start[a]; j < pos.Start[a+1]; j++ {
			i := pos.Instrument[j]
			if int(i) >= len(bound) {
				return rangeErr(fmt.Sprintf("position %d", j), float64(i), "instrument index beyond %d bounds", len(bound))
			}
			q := math.Abs(pos.Qty[j])
			if !finite(q) {
				return rangeErr(fmt.Sprintf("position %d", j), q, "quantity must be finite")
			}
			sum += float64(math.Ceil(q) * float64(bound[i]))
		}
		if !(sum < limit) {
			return rangeErr(fmt.Sprintf("account %d", a), sum, "Σ|qty|·bound = %g money units exceeds 2^63/%d scenarios", sum, scenarios)
		}
	}
	return nil
}
