package fxp

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
)

// refInputs builds the float64 reference's inputs exactly as engine/kernel
// does: Black-76 prices on F = S·Carry with q = 0.
func refInputs(in *accel.Instrument) pricing.Inputs {
	p := pricing.Inputs{K: in.K, T: in.T, R: in.R, Q: in.Q, Sigma: in.Sigma, S: in.S, Model: pricing.ModelBSM, Kind: pricing.Call}
	if in.Kind == accel.Put {
		p.Kind = pricing.Put
	}
	if in.Model == accel.Black76 {
		p.Model = pricing.ModelBlack76
		p.S = in.S * in.Carry
		p.Q = 0
	}
	return p
}

// refValue is the float64 value per unit of in after a shock.
func refValue(t *testing.T, in *accel.Instrument, x, m float64) float64 {
	if in.Kind == accel.Spot || in.Kind == accel.Future {
		return in.S * in.Carry * math.Exp(x)
	}
	p, err := pricing.Prepare(refInputs(in))
	if err != nil {
		t.Fatalf("pricing.Prepare(%+v): %v", in, err)
	}
	return p.ValueAfterShock(x, m)
}

// randOption draws an option from the test ranges: K/S in [0.5, 2], T from
// one day to three years, σ in [5 %, 150 %], r and q in [−2 %, 8 %].
func randOption(r *rand.Rand) accel.Instrument {
	in := accel.Instrument{
		Kind: accel.Call, Model: accel.BSM,
		S:     math.Exp(r.Float64()*8 - 2),
		T:     math.Exp(math.Log(1.0/365) + r.Float64()*math.Log(3*365)),
		R:     -0.02 + 0.10*r.Float64(),
		Q:     -0.02 + 0.10*r.Float64(),
		Sigma: 0.05 + 1.45*r.Float64(),
		Carry: 1, Multiplier: float64(1 + r.IntN(100)),
	}
	in.K = in.S * math.Exp(math.Log(0.5)+r.Float64()*math.Log(4))
	if r.IntN(2) == 1 {
		in.Kind = accel.Put
	}
	if r.IntN(2) == 1 {
		in.Model = accel.Black76
		in.Carry = math.Exp((in.R - in.Q) * (in.T + r.Float64()))
	}
	return in
}

func mustParams(t testing.TB, in *accel.Instrument) *InstrumentParams {
	t.Helper()
	p, err := NewInstrumentParams(in)
	if err != nil {
		t.Fatalf("NewInstrumentParams(%+v): %v", in, err)
	}
	return p
}

// valueErr returns |Value − reference|/S at the fixed-point shock (x, m).
func valueErr(t *testing.T, in *accel.Instrument, p *InstrumentParams, x int32, m uint32) float64 {
	got := float64(p.Value(x, m)) * 0x1p-32
	want := refValue(t, in, float64(clampX(x))*0x1p-27, float64(clampM(m))*0x1p-24) / in.S
	return math.Abs(got - want)
}

const valueTol = 2e-5 // per unit of S

func TestValueAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	worst0, worstShock := 0.0, 0.0
	for range 3000 {
		in := randOption(r)
		p := mustParams(t, &in)
		worst0 = max(worst0, valueErr(t, &in, p, 0, MOne))
		for range 8 {
			x, _ := XFromFloat(r.NormFloat64() * 0.3)
			m, _ := MFromFloat(math.Exp(r.NormFloat64() * 0.3))
			if r.IntN(4) == 0 {
				m = MOne
			}
			worstShock = max(worstShock, valueErr(t, &in, p, x, m))
		}
	}
	t.Logf("option value |error|/S: unshocked %.3g, shocked %.3g (bound %g)", worst0, worstShock, valueTol)
	if worst0 > valueTol || worstShock > valueTol {
		t.Fatalf("value error %.3g / %.3g exceeds %g·S", worst0, worstShock, valueTol)
	}
}

func TestValueWingsAndExpiry(t *testing.T) {
	worst, worstAt := 0.0, ""
	for _, kind := range []accel.Kind{accel.Call, accel.Put} {
		for _, model := range []accel.Model{accel.BSM, accel.Black76} {
			for _, moneyness := range []float64{0.01, 0.1, 0.3, 0.9, 1, 1.1, 3, 10, 100} {
				for _, T := range []float64{1.0 / 8760, 1.0 / 365, 0.25, 3, 20} {
					for _, sigma := range []float64{0.05, 0.3, 1.5} {
						in := accel.Instrument{Kind: kind, Model: model, S: 50, K: 50 * moneyness, T: T, R: 0.05, Q: 0.01, Sigma: sigma, Carry: 1.01, Multiplier: 10}
						p := mustParams(t, &in)
						for _, x := range []float64{0, -8, -2, -0.1, 0.1, 2, 8} {
							for _, m := range []float64{1, 1.0 / 256, 0.5, 2, 255} {
								xq, _ := XFromFloat(x)
								mq, _ := MFromFloat(m)
								e := valueErr(t, &in, p, xq, mq)
								// At x = +8 the forward is e^8 ≈ 3000 spots: the
								// absolute error scales with it.
								lim := valueTol * max(1, p.as.Float()*math.Exp(x), p.kd.Float())
								if e > lim {
									t.Errorf("%v %v K/S=%g T=%g σ=%g x=%g m=%g: error %.3g·S > %.3g", kind, model, moneyness, T, sigma, x, m, e, lim)
								}
								if x > -3 && x < 3 && e > worst {
									worst, worstAt = e, fmt.Sprintf("%v %v K/S=%g T=%g σ=%g x=%g m=%g", kind, model, moneyness, T, sigma, x, m)
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("wings, near expiry, vol extremes (|x| ≤ 2): max |error|/S %.3g (%s)", worst, worstAt)
}

func TestValueIntrinsic(t *testing.T) {
	for _, kind := range []accel.Kind{accel.Call, accel.Put} {
		for _, K := range []float64{80, 100, 120} {
			for _, c := range []struct{ T, sigma float64 }{{0, 0.3}, {1, 0}, {1e-12, 0.2}} {
				in := accel.Instrument{Kind: kind, Model: accel.BSM, S: 100, K: K, T: c.T, R: 0.03, Q: 0.01, Sigma: c.sigma, Carry: 1, Multiplier: 1}
				p := mustParams(t, &in)
				if p.s.Fixed(SFrac) >= SMin {
					t.Fatalf("T=%g σ=%g: total vol %v not intrinsic", c.T, c.sigma, p.s.Float())
				}
				// σ√T = 0 is the reference's limit exactly; 0 < σ√T < 2^-16
				// differs from the diffusion price by at most its time
				// value, A/S·σ√T/√(2π).
				tol := 1e-8 + p.as.Float()*c.sigma*math.Sqrt(c.T)*invSqrt2Pi
				for _, x := range []float64{-0.5, -0.1, 0, 0.1, 0.5} {
					xq, _ := XFromFloat(x)
					if e := valueErr(t, &in, p, xq, MOne); e > tol {
						t.Errorf("intrinsic %v K=%g T=%g σ=%g x=%g: error %.3g·S", kind, K, c.T, c.sigma, x, e)
					}
				}
			}
		}
	}
	// A vol multiplier can lift a zero-vol option out of the limit, never
	// a zero-expiry one; and a tiny multiplier can push one into it.
	in := accel.Instrument{Kind: accel.Call, Model: accel.BSM, S: 100, K: 100, T: 1e-6, R: 0, Q: 0, Sigma: 0.01, Carry: 1, Multiplier: 1}
	p := mustParams(t, &in)
	if p.Value(0, MMin) != 0 || p.Value(0, MMax) == 0 {
		t.Errorf("ATM σ√T = 1e-5: Value(m = 2^-8) = %d (want 0), Value(m = 256) = %d (want > 0)", p.Value(0, MMin), p.Value(0, MMax))
	}
}

func TestValueLinear(t *testing.T) {
	for _, kind := range []accel.Kind{accel.Spot, accel.Future} {
		in := accel.Instrument{Kind: kind, S: 123.45, Carry: 1.0375, T: 0.5, R: 0.04, Q: 0.01, Multiplier: 5}
		if kind == accel.Spot {
			in.Carry = 1
		}
		p := mustParams(t, &in)
		for x := -8.0; x <= 8; x += 0.25 {
			xq, _ := XFromFloat(x)
			got := float64(p.Value(xq, MOne)) * 0x1p-32
			want := in.Carry * math.Exp(float64(xq)*0x1p-27)
			if math.Abs(got-want) > 2e-9*want+0x1p-32 {
				t.Errorf("%v x=%g: %v, want %v", kind, x, got, want)
			}
		}
		if p.Value(0, MOne) != p.carry.Fixed(VFrac) {
			t.Errorf("%v: unshocked value is not Carry exactly", kind)
		}
	}
}

func TestValueClampsInputs(t *testing.T) {
	in := accel.Instrument{Kind: accel.Call, Model: accel.BSM, S: 100, K: 90, T: 0.5, R: 0.02, Q: 0, Sigma: 0.4, Carry: 1, Multiplier: 1}
	p := mustParams(t, &in)
	if p.Value(math.MaxInt32, MOne) != p.Value(XMax, MOne) || p.Value(math.MinInt32, MOne) != p.Value(-XMax, MOne) {
		t.Errorf("x is not clamped to ±XMax")
	}
	if p.Value(0, 0) != p.Value(0, MMin) || p.Value(0, 1) != p.Value(0, MMin) {
		t.Errorf("m is not clamped to MMin")
	}
	for _, x := range []int32{-XMax, 0, XMax} {
		for _, m := range []uint32{MMin, MOne, MMax} {
			if v := p.Value(x, m); v < 0 || v >= VMax {
				t.Errorf("Value(%d, %d) = %d outside [0, VMax)", x, m, v)
			}
		}
	}
}

func TestLoss(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	worst := 0.0
	for range 2000 {
		in := randOption(r)
		in.Multiplier = []float64{1, 10, 100, 0.01}[r.IntN(4)]
		p := mustParams(t, &in)
		x, _ := XFromFloat(r.NormFloat64() * 0.2)
		v := p.Value(x, MOne)
		got := float64(p.Loss(v)) * 0x1p-12
		want := -float64(v-p.Value0()) * 0x1p-32 * in.S * in.Multiplier
		// Rounding: the change to 2^-24 of S, the scale's 24-bit mantissa,
		// the result to 2^-12.
		tol := 0x1p-25*in.S*in.Multiplier + math.Abs(want)*0x1p-23 + 0x1p-12
		if e := math.Abs(got - want); e > tol {
			t.Fatalf("%+v: loss %v, want %v (tolerance %g)", in, got, want, tol)
		}
		worst = max(worst, math.Abs(got-want)/max(1, math.Abs(want)))
	}
	in := accel.Instrument{Kind: accel.Spot, S: 100, Carry: 1, Multiplier: 1}
	p := mustParams(t, &in)
	if p.Loss(p.Value0()) != 0 {
		t.Errorf("no move, loss %d", p.Loss(p.Value0()))
	}
	// A spot falling by exactly half loses 50 currency units = 50·2^12.
	x, _ := XFromFloat(math.Log(0.5))
	if got := p.Loss(p.Value(x, MOne)); math.Abs(float64(got)-50*4096) > 2 {
		t.Errorf("spot halves: loss %d, want ≈ %d", got, 50*4096)
	}
	// Saturation: an absurd value cannot overflow.
	if got := p.Loss(math.MinInt64); got <= 0 {
		t.Errorf("Loss(MinInt64) = %d", got)
	}
}

func TestInstrumentRangeErrors(t *testing.T) {
	good := accel.Instrument{Kind: accel.Call, Model: accel.BSM, S: 100, K: 100, T: 1, R: 0.01, Q: 0, Sigma: 0.2, Carry: 1, Multiplier: 1}
	for _, c := range []struct {
		field string
		edit  func(*accel.Instrument)
	}{
		{"Kind", func(in *accel.Instrument) { in.Kind = 9 }},
		{"S", func(in *accel.Instrument) { in.S = math.NaN() }},
		{"S", func(in *accel.Instrument) { in.S = -1 }},
		{"Multiplier", func(in *accel.Instrument) { in.Multiplier = 0 }},
		{"Carry", func(in *accel.Instrument) { in.Carry = math.Inf(1) }},
		{"S·Multiplier", func(in *accel.Instrument) { in.S, in.Multiplier = 1e9, 1e3 }},
		{"Model", func(in *accel.Instrument) { in.Model = 0 }},
		{"K", func(in *accel.Instrument) { in.K = 0 }},
		{"K", func(in *accel.Instrument) { in.K = 1e6 }},
		{"T", func(in *accel.Instrument) { in.T = -1 }},
		{"R", func(in *accel.Instrument) { in.R = 2 }},
		{"Q", func(in *accel.Instrument) { in.Q = math.NaN() }},
		{"Sigma", func(in *accel.Instrument) { in.Sigma = 11 }},
		{"Sigma", func(in *accel.Instrument) { in.Sigma, in.T = 9, 1 }},
		{"A/S", func(in *accel.Instrument) { in.Q, in.T = 0.9, 5 }},
		{"Carry", func(in *accel.Instrument) { in.Kind, in.Carry = accel.Future, 5 }},
	} {
		in := good
		c.edit(&in)
		_, err := NewInstrumentParams(&in)
		var re *RangeError
		if !errors.Is(err, ErrRange) || !errors.As(err, &re) || re.Field != c.field {
			t.Errorf("%s: got %v, want a RangeError naming %s", c.field, err, c.field)
		}
	}
	if _, err := NewInstrumentParams(&good); err != nil {
		t.Fatal(err)
	}
}
