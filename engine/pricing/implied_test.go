package pricing

import (
	"errors"
	"math"
	"testing"
)

// TestImpliedVolRoundTrip prices over a wide grid — log-moneyness from −3
// to +3 standard deviations, T from one hour to 30 years, σ from 1 % to
// 500 %, both models and kinds — and recovers σ from the price. Where the
// price barely depends on σ in float64 (it rounds to its bound, or the time
// value of an in-the-money option is lost in the intrinsic value), the
// solver must either report ErrNoImpliedVol or return a σ that reproduces
// the price; elsewhere it must recover σ to the accuracy the price allows.
func TestImpliedVolRoundTrip(t *testing.T) {
	const hour = 1.0 / (365 * 24)
	recovered, refused := 0, 0
	for _, m := range []Model{ModelBSM, ModelBlack76} {
		for _, kind := range []Kind{Call, Put} {
			for _, T := range []float64{hour, 1.0 / 365, 0.1, 1, 5, 30} {
				for _, sigma := range []float64{0.01, 0.05, 0.2, 0.5, 1, 2, 5} {
					for _, k := range []float64{-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3} {
						s := sigma * math.Sqrt(T)
						in := Inputs{Model: m, Kind: kind, S: 100, T: T, R: 0.03, Q: 0.01, Sigma: sigma}
						F := in.S
						if m == ModelBSM {
							F = in.S * math.Exp((in.R-in.Q)*T)
						}
						in.K = F * math.Exp(k*s)
						g := mustCompute(t, in)
						got, err := ImpliedVol(in, g.Price)
						// Achievable accuracy: the price is known to a few
						// ulps of max(A, Kd); δσ = δV / vega.
						scale := math.Max(in.S, in.K)
						cond := 16 * 0x1p-52 * scale / (g.Vega * sigma)
						if err != nil {
							if !errors.Is(err, ErrNoImpliedVol) || cond < 1e-6 {
								t.Errorf("%+v (k=%v sd): price %v: %v (conditioning %g)", in, k, g.Price, err, cond)
							}
							refused++
							continue
						}
						if math.Abs(got-sigma) <= 1e-9*sigma+4*cond*sigma {
							recovered++
							continue
						}
						// Ill-conditioned: σ must at least reproduce the price.
						back := in
						back.Sigma = got
						v := mustCompute(t, back).Price
						if cond < 1e-6 || math.Abs(v-g.Price) > 64*0x1p-52*scale {
							t.Errorf("%+v (k=%v sd): implied %.17g, want %.17g (price %v → %v, conditioning %g)", in, k, got, sigma, g.Price, v, cond)
						}
					}
				}
			}
		}
	}
	t.Logf("recovered %d, refused %d (price insensitive to σ in float64)", recovered, refused)
	if recovered < 1300 {
		t.Errorf("only %d of 1512 round trips recovered σ", recovered)
	}
}

func TestImpliedVolTextbook(t *testing.T) {
	// Hull's example: the put at S=42, K=40, r=10 %, T=0.5 priced 0.808599…
	in := bs(Put, 42, 40, 0.5, 0.1, 0, 0)
	want := 0.2
	in.Sigma = want
	p := mustCompute(t, in).Price
	got, err := ImpliedVol(in, p)
	if err != nil || math.Abs(got-want) > 1e-14 {
		t.Fatalf("ImpliedVol = %v, %v; want %v", got, err, want)
	}
	// Far wings at short expiry: a 1-hour option 6 standard deviations out.
	in = bs(Call, 100, 100*math.Exp(6*0.3*math.Sqrt(1.0/8760)), 1.0/8760, 0.05, 0, 0.3)
	p = mustCompute(t, in).Price
	got, err = ImpliedVol(in, p)
	if err != nil || math.Abs(got-0.3) > 1e-9 {
		t.Fatalf("wing ImpliedVol(price %g) = %v, %v", p, got, err)
	}
}

func TestImpliedVolErrors(t *testing.T) {
	in := bs(Call, 100, 90, 1, 0.05, 0, 0)
	A, Kd := 100.0, 90*math.Exp(-0.05)
	for _, c := range []struct {
		name  string
		in    Inputs
		price float64
	}{
		{"below intrinsic", in, A - Kd - 0.01},
		{"at intrinsic", in, A - Kd},
		{"at upper bound", in, A},
		{"above upper bound", in, A + 1},
		{"indistinguishable time value", in, (A - Kd) * (1 + 1e-16)},
		{"zero price otm", bs(Put, 100, 90, 1, 0.05, 0, 0), 0},
		{"put above bound", bs(Put, 100, 90, 1, 0.05, 0, 0), Kd},
		{"expired", bs(Call, 100, 90, 0, 0.05, 0, 0), 10.5},
		{"vol above max", bs(Call, 100, 100, 1e-6, 0, 0, 0), 99.99},
	} {
		if v, err := ImpliedVol(c.in, c.price); !errors.Is(err, ErrNoImpliedVol) {
			t.Errorf("%s: ImpliedVol = %v, %v; want ErrNoImpliedVol", c.name, v, err)
		}
	}
	for _, p := range []float64{-1, math.NaN(), math.Inf(1)} {
		var ie *InputError
		if _, err := ImpliedVol(in, p); !errors.As(err, &ie) || ie.Field != "price" {
			t.Errorf("price %v: %v, want an InputError on price", p, err)
		}
	}
}
