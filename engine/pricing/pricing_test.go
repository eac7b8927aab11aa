package pricing

import (
	"errors"
	"math"
	"testing"
)

// refPrice is the textbook formula with the math package's Exp, Log and
// Erfc: an independent implementation for cross-checks (accurate where its
// own tails are: N via Erfc, no parity differences).
func refPrice(in Inputs) float64 {
	df := math.Exp(-in.R * in.T)
	F := in.S
	if in.Model == ModelBSM {
		F = in.S * math.Exp((in.R-in.Q)*in.T)
	}
	s := in.Sigma * math.Sqrt(in.T)
	d1 := math.Log(F/in.K)/s + s/2
	d2 := d1 - s
	if in.Kind == Call {
		return df * (F*refCDF(d1) - in.K*refCDF(d2))
	}
	return df * (in.K*refCDF(-d2) - F*refCDF(-d1))
}

func bs(kind Kind, S, K, T, r, q, sigma float64) Inputs {
	return Inputs{Model: ModelBSM, Kind: kind, S: S, K: K, T: T, R: r, Q: q, Sigma: sigma}
}

func b76(kind Kind, F, K, T, r, sigma float64) Inputs {
	return Inputs{Model: ModelBlack76, Kind: kind, S: F, K: K, T: T, R: r, Sigma: sigma}
}

func mustCompute(t testing.TB, in Inputs) Greeks {
	t.Helper()
	g, err := Compute(in)
	if err != nil {
		t.Fatalf("Compute(%+v): %v", in, err)
	}
	return g
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// TestTextbookValues checks worked examples from Hull, "Options, Futures,
// and Other Derivatives" (values as printed, to their printed precision).
func TestTextbookValues(t *testing.T) {
	for _, c := range []struct {
		name string
		in   Inputs
		want float64
		tol  float64
	}{
		// Hull, Example 15.6 (BSM): S=42, K=40, r=10 %, σ=20 %, T=0.5.
		{"hull bs call", bs(Call, 42, 40, 0.5, 0.1, 0, 0.2), 4.76, 0.005},
		{"hull bs put", bs(Put, 42, 40, 0.5, 0.1, 0, 0.2), 0.81, 0.005},
		// Hull, Example 18.x (Black-76): futures put F=K=20, r=9 %,
		// T=4 months, σ=25 %: 1.12.
		{"hull black76 put", b76(Put, 20, 20, 4.0/12, 0.09, 0.25), 1.12, 0.005},
		// Hull, Example 18.x (Black-76): F=620? — instead the classic
		// futures call F=K=20 equals the put at the forward.
		{"hull black76 call atm", b76(Call, 20, 20, 4.0/12, 0.09, 0.25), 1.12, 0.005},
	} {
		if v := mustCompute(t, c.in).Price; !near(v, c.want, c.tol) {
			t.Errorf("%s: price %.6f, want %.2f", c.name, v, c.want)
		}
	}
	// Hull's Greeks example (Chapter 19): S=49, K=50, r=5 %, σ=20 %,
	// T=20 weeks = 0.3846 years: price 2.40, delta 0.522, gamma 0.066,
	// vega 12.1, theta −4.31 per year, rho 8.91.
	g := mustCompute(t, bs(Call, 49, 50, 0.3846, 0.05, 0, 0.2))
	for _, c := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"price", g.Price, 2.40, 0.005},
		{"delta", g.Delta, 0.522, 0.0005},
		{"gamma", g.Gamma, 0.066, 0.0005},
		{"vega", g.Vega, 12.1, 0.05},
		{"theta", g.Theta, -4.31, 0.005},
		{"rho", g.Rho, 8.91, 0.005},
	} {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("Hull greeks example: %s = %.6f, want %.4g", c.name, c.got, c.want)
		}
	}
}

// grid yields a grid of valid inputs over both models and kinds.
func grid(f func(in Inputs)) {
	for _, m := range []Model{ModelBSM, ModelBlack76} {
		for _, k := range []Kind{Call, Put} {
			for _, K := range []float64{50, 80, 95, 100, 105, 125, 200} {
				for _, T := range []float64{1.0 / 365, 0.1, 0.5, 1, 3, 10} {
					for _, sigma := range []float64{0.05, 0.2, 0.6, 1.5} {
						for _, rq := range [][2]float64{{0, 0}, {0.05, 0.02}, {-0.01, 0.03}} {
							f(Inputs{Model: m, Kind: k, S: 100, K: K, T: T, R: rq[0], Q: rq[1], Sigma: sigma})
						}
					}
				}
			}
		}
	}
}

func TestAgainstReference(t *testing.T) {
	worst := 0.0
	grid(func(in Inputs) {
		got := mustCompute(t, in).Price
		want := refPrice(in)
		// Both are accurate to a few ulps of the larger term A or Kd.
		scale := math.Max(math.Max(in.S, in.K), want)
		if e := math.Abs(got-want) / scale; e > 1e-14 {
			t.Errorf("%+v: price %.17g, reference %.17g", in, got, want)
		} else if e > worst {
			worst = e
		}
		if p, err := Price(in); err != nil || p != got {
			t.Errorf("%+v: Price %v, %v differs from Compute %v", in, p, err, got)
		}
	})
	t.Logf("worst |Δ|/max(S,K) vs the math-package reference: %.3g", worst)
}

func TestPutCallParity(t *testing.T) {
	grid(func(in Inputs) {
		if in.Kind != Call {
			return
		}
		c := mustCompute(t, in)
		in.Kind = Put
		p := mustCompute(t, in)
		df := math.Exp(-in.R * in.T)
		A := in.S * df
		if in.Model == ModelBSM {
			A = in.S * math.Exp(-in.Q*in.T)
		}
		Kd := in.K * df
		tol := 1e-13 * math.Max(A, Kd)
		if !near(c.Price-p.Price, A-Kd, tol) {
			t.Errorf("%+v: C−P = %.17g, want A−Kd = %.17g", in, c.Price-p.Price, A-Kd)
		}
		// Parity in the Greeks: call and put differ by the forward's.
		dS := A / in.S
		if !near(c.Delta-p.Delta, dS, 1e-13) {
			t.Errorf("%+v: Δc−Δp = %.17g, want %.17g", in, c.Delta-p.Delta, dS)
		}
		for _, pair := range [][3]float64{{c.Gamma, p.Gamma, 1e-13 * math.Abs(c.Gamma)}, {c.Vega, p.Vega, 1e-13 * c.Vega}, {c.Vanna, p.Vanna, 1e-12 * math.Abs(c.Vanna)}, {c.Volga, p.Volga, 1e-12 * math.Abs(c.Volga)}} {
			if !near(pair[0], pair[1], pair[2]+1e-300) {
				t.Errorf("%+v: call/put second-order Greeks differ: %v vs %v", in, pair[0], pair[1])
			}
		}
	})
}

// TestGreeksFiniteDifferences checks every Greek against central finite
// differences of Price (theta: −∂V/∂T; rho: per 1.00 of rate).
func TestGreeksFiniteDifferences(t *testing.T) {
	price := func(in Inputs) float64 {
		v, err := Price(in)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	grid(func(in Inputs) {
		if in.T < 0.01 && in.Sigma < 0.1 {
			return // nearly a step function: finite differences are meaningless
		}
		g := mustCompute(t, in)
		fd := func(f func(h float64) float64, h float64) float64 { return (f(h) - f(-h)) / (2 * h) }
		// Steps on each variable's natural scale (the price varies over
		// S·σ√T in S), so the O(h²) truncation stays ~1e-8 relative.
		sT := in.Sigma * math.Sqrt(in.T)
		hs := 1e-4 * in.S * sT
		hv := 1e-4 * in.Sigma
		hT := 1e-4 * in.T
		hr := 1e-6
		shift := func(mut func(*Inputs, float64)) func(h float64) float64 {
			return func(h float64) float64 { x := in; mut(&x, h); return price(x) }
		}
		delta := fd(shift(func(x *Inputs, h float64) { x.S += h }), hs)
		vega := fd(shift(func(x *Inputs, h float64) { x.Sigma += h }), hv)
		theta := -fd(shift(func(x *Inputs, h float64) { x.T += h }), hT)
		rho := fd(shift(func(x *Inputs, h float64) { x.R += h }), hr)
		greek := func(in Inputs, pick func(Greeks) float64) float64 { return pick(mustCompute(t, in)) }
		// Second-order Greeks: differences of the (FD-checked) first-order ones.
		gamma := fd(func(h float64) float64 {
			x := in
			x.S += h
			return greek(x, func(g Greeks) float64 { return g.Delta })
		}, hs)
		vanna := fd(func(h float64) float64 {
			x := in
			x.Sigma += h
			return greek(x, func(g Greeks) float64 { return g.Delta })
		}, hv)
		volga := fd(func(h float64) float64 {
			x := in
			x.Sigma += h
			return greek(x, func(g Greeks) float64 { return g.Vega })
		}, hv)
		scale := math.Max(in.S, in.K)
		for _, c := range []struct {
			name    string
			got, fd float64
			tol     float64
		}{
			{"delta", g.Delta, delta, 1e-7},
			{"gamma", g.Gamma, gamma, 1e-6*math.Abs(g.Gamma) + 1e-9/(in.S*sT)},
			{"vega", g.Vega, vega, 1e-7*math.Abs(g.Vega) + 1e-9*scale},
			{"theta", g.Theta, theta, 1e-6*math.Abs(g.Theta) + 1e-9*scale/in.T},
			{"rho", g.Rho, rho, 1e-7*math.Abs(g.Rho) + 1e-8*scale},
			{"vanna", g.Vanna, vanna, 1e-6*math.Abs(g.Vanna) + 1e-9/sT},
			{"volga", g.Volga, volga, 1e-6*math.Abs(g.Volga) + 1e-9*scale},
		} {
			if !near(c.got, c.fd, c.tol) {
				t.Errorf("%+v: %s = %.10g, finite difference %.10g", in, c.name, c.got, c.fd)
			}
		}
	})
}

// TestSignConventions pins the documented units on one option.
func TestSignConventions(t *testing.T) {
	g := mustCompute(t, bs(Call, 100, 100, 1, 0.05, 0, 0.2))
	if g.Theta >= 0 {
		t.Errorf("theta of a long ATM call is %v, want < 0 (calendar time passing)", g.Theta)
	}
	if g.Rho <= 0 || g.Vega <= 0 || g.Gamma <= 0 {
		t.Errorf("rho %v, vega %v, gamma %v: want > 0", g.Rho, g.Vega, g.Gamma)
	}
	// Vega per 1.00 of vol: a 1-point move (0.01) changes the price by ≈ vega/100.
	up := mustCompute(t, bs(Call, 100, 100, 1, 0.05, 0, 0.21)).Price
	if !near(up-g.Price, g.Vega/100, 0.01*g.Vega/100) {
		t.Errorf("vega units: Δprice %v for +1 vol point, vega/100 = %v", up-g.Price, g.Vega/100)
	}
	// Rho per 1.00 of rate; Black-76 rho = −T·V.
	f := mustCompute(t, b76(Call, 100, 100, 2, 0.05, 0.2))
	if !near(f.Rho, -2*f.Price, 1e-12*f.Price) {
		t.Errorf("Black-76 rho %v, want −T·V = %v", f.Rho, -2*f.Price)
	}
	// A day of theta: V(T−1/365) − V(T) ≈ theta/365.
	day := mustCompute(t, bs(Call, 100, 100, 1-1.0/365, 0.05, 0, 0.2)).Price
	if !near(day-g.Price, g.Theta/365, 0.01*math.Abs(g.Theta/365)) {
		t.Errorf("theta units: one day %v, theta/365 = %v", day-g.Price, g.Theta/365)
	}
}

// TestBlack76MatchesBSM: Black-76 on F = S·e^{(r−q)T} is BSM.
func TestBlack76MatchesBSM(t *testing.T) {
	grid(func(in Inputs) {
		if in.Model != ModelBSM {
			return
		}
		carry := math.Exp((in.R - in.Q) * in.T)
		fut := in
		fut.Model, fut.S, fut.Q = ModelBlack76, in.S*carry, 0
		a, b := mustCompute(t, in), mustCompute(t, fut)
		scale := math.Max(in.S, in.K)
		check := func(name string, x, y, tol float64) {
			if !near(x, y, tol) {
				t.Errorf("%+v: %s: BSM %.17g, Black-76 %.17g", in, name, x, y)
			}
		}
		check("price", a.Price, b.Price, 1e-13*scale)
		check("delta", a.Delta, b.Delta*carry, 1e-13)               // ∂F/∂S = e^{(r−q)T}
		check("gamma", a.Gamma, b.Gamma*carry*carry, 1e-12*a.Gamma) // (∂F/∂S)²
		check("vega", a.Vega, b.Vega, 1e-13*scale)
		check("vanna", a.Vanna, b.Vanna*carry, 1e-11*math.Abs(a.Vanna)+1e-15)
		check("volga", a.Volga, b.Volga, 1e-12*math.Abs(a.Volga)+1e-13)
	})
}

func allFinite(g Greeks) bool {
	for _, v := range []float64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho, g.Vanna, g.Volga} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func TestExpiryAndZeroVol(t *testing.T) {
	for _, c := range []struct {
		in    Inputs
		price float64
		delta float64
	}{
		{bs(Call, 110, 100, 0, 0.05, 0.02, 0.3), 10, 1},
		{bs(Put, 110, 100, 0, 0.05, 0.02, 0.3), 0, 0},
		{bs(Put, 90, 100, 0, 0.05, 0, 0.3), 10, -1},
		{bs(Call, 100, 100, 0, 0.05, 0, 0.3), 0, 0.5},
		{bs(Put, 100, 100, 0, 0.05, 0, 0.3), 0, -0.5},
		{b76(Call, 120, 100, 0, 0.05, 0.3), 20, 1},
	} {
		g := mustCompute(t, c.in)
		if g.Price != c.price || g.Delta != c.delta || g.Gamma != 0 || g.Vega != 0 || g.Rho != 0 || !allFinite(g) {
			t.Errorf("T=0 %+v: %+v, want price %v delta %v and zero gamma/vega/rho", c.in, g, c.price, c.delta)
		}
	}
	// σ = 0, T > 0: deterministic forward.
	in := bs(Call, 100, 90, 2, 0.05, 0.01, 0)
	g := mustCompute(t, in)
	A, Kd := 100*math.Exp(-0.02), 90*math.Exp(-0.1)
	if !near(g.Price, A-Kd, 1e-13*A) || !near(g.Delta, math.Exp(-0.02), 1e-15) || g.Gamma != 0 || g.Vega != 0 {
		t.Errorf("σ=0 ITM call %+v", g)
	}
	if !near(g.Theta, 0.01*A-0.05*Kd, 1e-12) || !near(g.Rho, 2*Kd, 1e-12) {
		t.Errorf("σ=0 ITM call theta %v (want %v), rho %v (want %v)", g.Theta, 0.01*A-0.05*Kd, g.Rho, 2*Kd)
	}
	// The σ→0 limit is continuous: a tiny σ prices the same.
	for _, in := range []Inputs{bs(Call, 100, 90, 2, 0.05, 0.01, 0), bs(Put, 100, 120, 1, 0.03, 0, 0), b76(Put, 80, 100, 1, 0.03, 0)} {
		tiny := in
		tiny.Sigma = 1e-9
		a, b := mustCompute(t, in), mustCompute(t, tiny)
		if !near(a.Price, b.Price, 1e-12*in.K) || !near(a.Delta, b.Delta, 1e-12) || !near(a.Theta, b.Theta, 1e-9) {
			t.Errorf("σ→0 limit discontinuous: %+v vs %+v", a, b)
		}
	}
	// ATM forward with σ = 0: vega has its finite limit.
	g = mustCompute(t, b76(Call, 100, 100, 1, 0.05, 0))
	small := mustCompute(t, b76(Call, 100, 100, 1, 0.05, 1e-8))
	if !near(g.Vega, small.Vega, 1e-6*small.Vega) || !near(g.Vanna, small.Vanna, 1e-6*small.Vanna) {
		t.Errorf("ATM σ=0 vega %v vanna %v, limit %v %v", g.Vega, g.Vanna, small.Vega, small.Vanna)
	}
}

func TestNearExpiryAndTails(t *testing.T) {
	for _, T := range []float64{1e-12, 1e-9, 1.0 / (365 * 24 * 3600), 1.0 / (365 * 24)} {
		for _, K := range []float64{50, 99.999, 100, 100.001, 200} {
			for _, kind := range []Kind{Call, Put} {
				in := bs(kind, 100, K, T, 0.05, 0.01, 0.3)
				g := mustCompute(t, in)
				if !allFinite(g) || g.Price < 0 {
					t.Errorf("%+v: %+v", in, g)
				}
				if want := refPrice(in); !near(g.Price, want, 1e-12*math.Max(100, K)) {
					t.Errorf("%+v: price %.17g, reference %.17g", in, g.Price, want)
				}
			}
		}
	}
	// Far tails keep relative accuracy: a 10-standard-deviation OTM call.
	in := bs(Call, 100, 100*math.Exp(10*0.2+0.02), 1, 0, 0, 0.2)
	v := mustCompute(t, in).Price
	if want := refPrice(in); !(v > 0) || math.Abs(v-want)/want > 1e-11 {
		t.Errorf("deep OTM call %.17g, reference %.17g", v, want)
	}
	// And the put on the far side, which a parity formula would lose.
	in = bs(Put, 100, 100*math.Exp(-10*0.2-0.02), 1, 0, 0, 0.2)
	v = mustCompute(t, in).Price
	if want := refPrice(in); !(v > 0) || math.Abs(v-want)/want > 1e-11 {
		t.Errorf("deep OTM put %.17g, reference %.17g", v, want)
	}
}

func TestExtremeInputs(t *testing.T) {
	vals := struct{ S, K, T, sig, r []float64 }{
		S:   []float64{1e-300, 1e-10, 1, 1e10, 1e300},
		K:   []float64{1e-300, 1e-10, 1, 1e10, 1e300},
		T:   []float64{0, 1e-300, 1e-12, 1, 1e3},
		sig: []float64{0, 1e-300, 1e-8, 0.3, 50},
		r:   []float64{-0.5, 0, 0.05, 0.5},
	}
	ok, rangeErrs := 0, 0
	for _, m := range []Model{ModelBSM, ModelBlack76} {
		for _, k := range []Kind{Call, Put} {
			for _, S := range vals.S {
				for _, K := range vals.K {
					for _, T := range vals.T {
						for _, sig := range vals.sig {
							for _, r := range vals.r {
								in := Inputs{Model: m, Kind: k, S: S, K: K, T: T, R: r, Q: r / 2, Sigma: sig}
								g, err := Compute(in)
								if err != nil {
									if !errors.Is(err, ErrRange) {
										t.Fatalf("%+v: unexpected error %v", in, err)
									}
									rangeErrs++
									continue
								}
								ok++
								if !allFinite(g) || g.Price < 0 {
									t.Fatalf("%+v: %+v", in, g)
								}
								if p, err := Prepare(in); err == nil {
									for _, x := range []float64{-800, -30, -1, 0, 1, 30, 800} {
										for _, vm := range []float64{0, 1, 3} {
											if v := p.ValueAfterShock(x, vm); math.IsNaN(v) || v < 0 {
												t.Fatalf("%+v: ValueAfterShock(%v, %v) = %v", in, x, vm, v)
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d extreme cases priced, %d reported ErrRange", ok, rangeErrs)
	// The cases the brief names must price.
	for _, in := range []Inputs{
		bs(Call, 1e-300, 1e300, 1, 0.05, 0, 0.3),
		bs(Put, 1e-300, 1e300, 1, 0.05, 0, 0.3),
		bs(Call, 100, 100, 1e3, 0.05, 0.01, 0.3),
		bs(Put, 100, 100, 1, 0.05, 0, 50),
		bs(Call, 100, 100, 1e3, 0.05, 0, 50),
		b76(Call, 1e300, 1e-300, 1, 0.05, 0.3),
	} {
		if g, err := Compute(in); err != nil || !allFinite(g) {
			t.Errorf("%+v: %+v, %v", in, g, err)
		}
	}
}

func TestInvalidInputs(t *testing.T) {
	good := bs(Call, 100, 100, 1, 0.05, 0, 0.2)
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		mut   func(*Inputs)
		field string
	}{
		{func(in *Inputs) { in.S = 0 }, "S"},
		{func(in *Inputs) { in.S = -1 }, "S"},
		{func(in *Inputs) { in.S = nan }, "S"},
		{func(in *Inputs) { in.S = inf }, "S"},
		{func(in *Inputs) { in.Model, in.S = ModelBlack76, -1 }, "F"},
		{func(in *Inputs) { in.K = 0 }, "K"},
		{func(in *Inputs) { in.K = nan }, "K"},
		{func(in *Inputs) { in.T = -1e-9 }, "T"},
		{func(in *Inputs) { in.T = inf }, "T"},
		{func(in *Inputs) { in.Sigma = -0.1 }, "sigma"},
		{func(in *Inputs) { in.Sigma = nan }, "sigma"},
		{func(in *Inputs) { in.R = nan }, "r"},
		{func(in *Inputs) { in.Q = -inf }, "q"},
		{func(in *Inputs) { in.Model = 0 }, "model"},
		{func(in *Inputs) { in.Model = 7 }, "model"},
		{func(in *Inputs) { in.Kind = 3 }, "type"},
	} {
		in := good
		c.mut(&in)
		_, err1 := Compute(in)
		_, err2 := Price(in)
		_, err3 := Prepare(in)
		_, err4 := ImpliedVol(in, 10)
		errs := []error{err1, err2, err3, err4}
		if c.field == "sigma" {
			errs = errs[:3] // ImpliedVol ignores Sigma
		}
		for _, err := range errs {
			var ie *InputError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ie) || ie.Field != c.field {
				t.Errorf("%+v: error %v, want an InputError on %q", in, err, c.field)
			}
		}
	}
	if _, err := ParseModel("bsm"); !errors.Is(err, ErrInvalid) {
		t.Error("ParseModel accepted bsm")
	}
	if _, err := ParseKind("CALL"); !errors.Is(err, ErrInvalid) {
		t.Error("ParseKind accepted CALL")
	}
	for _, s := range []string{"bs", "black76"} {
		if m, err := ParseModel(s); err != nil || m.String() != s {
			t.Errorf("ParseModel(%q) = %v, %v", s, m, err)
		}
	}
	for _, s := range []string{"call", "put"} {
		if k, err := ParseKind(s); err != nil || k.String() != s {
			t.Errorf("ParseKind(%q) = %v, %v", s, k, err)
		}
	}
}

func TestComputeDoesNotAllocate(t *testing.T) {
	mix := benchMix(64)
	i := 0
	var sink Greeks
	if n := testing.AllocsPerRun(1000, func() {
		g, err := Compute(mix[i%len(mix)])
		if err != nil {
			t.Fatal(err)
		}
		sink.Price += g.Price
		i++
	}); n != 0 {
		t.Fatalf("Compute allocates %v times per call", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		v, _ := Price(mix[i%len(mix)])
		sink.Price += v
		i++
	}); n != 0 {
		t.Fatalf("Price allocates %v times per call", n)
	}
}
