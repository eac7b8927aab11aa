package fxp

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
)

// refGreeks is engine/kernel's per-contract conversion of pricing.Compute.
func refGreeks(t *testing.T, in *accel.Instrument) accel.Greeks {
	m := in.Multiplier
	if in.Kind == accel.Spot || in.Kind == accel.Future {
		lin := in.S * in.Carry
		g := accel.Greeks{Price: lin * m, Delta: in.Carry * m}
		if in.Kind == accel.Future {
			g.Theta = -(in.R - in.Q) * lin * m
			g.Rho = in.T * lin * m
		}
		return g
	}
	g, err := pricing.Compute(refInputs(in))
	if err != nil {
		t.Fatalf("pricing.Compute(%+v): %v", in, err)
	}
	c := 1.0
	if in.Model == accel.Black76 {
		c = in.Carry
	}
	return accel.Greeks{Price: g.Price * m, Delta: g.Delta * c * m, Gamma: g.Gamma * c * c * m,
		Vega: g.Vega * m, Theta: g.Theta * m, Rho: g.Rho * m, Vanna: g.Vanna * c * m, Volga: g.Volga * m}
}

// Greek tolerances, per contract: |got − want| ≤ rel·|want| + abs·unit,
// where unit is Multiplier times S (price-like Greeks), 1 (delta, vanna)
// or 1/S (gamma).
var greekTol = [8]struct {
	name     string
	rel, abs float64
}{
	{"price", 0, 1e-8}, {"delta", 0, 1e-8}, {"gamma", 1e-7, 1e-8}, {"vega", 1e-7, 1e-8},
	{"theta", 1e-7, 1e-8}, {"rho", 1e-7, 1e-8}, {"vanna", 1e-6, 1e-8}, {"volga", 1e-6, 1e-8},
}

func greekVec(g accel.Greeks) [8]float64 {
	return [8]float64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho, g.Vanna, g.Volga}
}

func greekUnits(in *accel.Instrument) [8]float64 {
	s, m := in.S, in.Multiplier
	return [8]float64{s * m, m, m / s, s * m, s * m, s * m, m, s * m}
}

// checkGreeks compares and returns, per Greek, the largest error in units
// of the tolerance's absolute part after removing the relative part.
func checkGreeks(t *testing.T, in *accel.Instrument, worst *[8]float64) {
	p := mustParams(t, in)
	got := greekVec(p.AccelGreeks(p.Greeks()))
	want := greekVec(refGreeks(t, in))
	unit := greekUnits(in)
	for k := range got {
		d := math.Abs(got[k] - want[k])
		lim := greekTol[k].rel*math.Abs(want[k]) + greekTol[k].abs*unit[k]
		if d > lim {
			t.Errorf("%s of %+v: %v, want %v (|Δ| %.3g > %.3g)", greekTol[k].name, *in, got[k], want[k], d, lim)
		}
		worst[k] = max(worst[k], d/unit[k])
	}
}

func TestGreeksAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var worst [8]float64
	for range 3000 {
		in := randOption(r)
		checkGreeks(t, &in, &worst)
	}
	for _, kind := range []accel.Kind{accel.Spot, accel.Future} {
		in := accel.Instrument{Kind: kind, S: 77.5, Carry: 1.02, T: 0.75, R: 0.05, Q: 0.02, Multiplier: 3}
		checkGreeks(t, &in, &worst)
	}
	for k, w := range worst {
		t.Logf("%-5s max |error| %.3g per unit (S·mult, mult or mult/S)", greekTol[k].name, w)
	}
}

// In the σ→0 limit the Greeks are engine/pricing's one-sided limits,
// including the forward itself (ln(F/K) = 0 exactly).
func TestGreeksIntrinsic(t *testing.T) {
	var worst [8]float64
	for _, kind := range []accel.Kind{accel.Call, accel.Put} {
		for _, model := range []accel.Model{accel.BSM, accel.Black76} {
			for _, K := range []float64{90, 100, 110} {
				for _, T := range []float64{0, 0.5} {
					in := accel.Instrument{Kind: kind, Model: model, S: 100, K: K, T: T, R: 0, Q: 0, Sigma: 0, Carry: 1, Multiplier: 2}
					if T == 0 {
						in.Sigma = 0.3
						in.R, in.Q = 0.03, 0.01
					}
					checkGreeks(t, &in, &worst)
				}
			}
		}
	}
}
