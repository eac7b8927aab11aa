package kernel

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
)

// oneSpot is a job holding qty units of one spot underlying.
func oneSpot(n int, seed uint64, spot, vol, qty float64, alpha float64) *accel.RiskJob {
	k, _ := tail.K(n, alpha)
	return &accel.RiskJob{
		Underlyings: 1,
		Instruments: []accel.Instrument{{Kind: accel.Spot, S: spot, Carry: 1, Multiplier: 1}},
		Scenarios:   accel.Scenarios{Seed: seed, Count: n, HorizonYears: 10.0 / 252, Vols: []float64{vol}},
		Stress:      accel.Stress{X: []float64{}, VolMul: []float64{}, Weight: []float64{}},
		Positions:   accel.Positions{Start: []uint32{0, 1}, Instrument: []uint32{0}, Qty: []float64{qty}},
		KVaR:        k, KES: k,
	}
}

// The loss of a long spot position is q·S·(1 − eˣ) with x ~ N(μ, s²),
// μ = −s²/2: VaR and ES have closed forms, which Monte Carlo must match
// within its error.
func TestLinearAgainstClosedForm(t *testing.T) {
	const (
		n     = 200000
		spot  = 100.0
		vol   = 0.3
		qty   = 1000.0
		alpha = 0.99
	)
	job := oneSpot(n, 42, spot, vol, qty, alpha)
	var res accel.RiskResult
	if err := (&Reference{}).Risk(context.Background(), job, &res); err != nil {
		t.Fatal(err)
	}
	s := vol * math.Sqrt(job.Scenarios.HorizonYears)
	mu := -s * s / 2
	z := scenario.InvNorm(1 - alpha) // the (1−α) quantile of x
	xa := mu + s*z
	wantVaR := qty * spot * (1 - math.Exp(xa))
	// E[eˣ; x ≤ xa] = e^(μ+s²/2)·Φ((xa − μ − s²)/s) = Φ(z − s).
	phi := 0.5 * math.Erfc(-(z-s)/math.Sqrt2)
	wantES := qty * spot * (1 - phi/(1-alpha))
	// Monte Carlo standard error of a tail quantile/mean at 1 % with 200k
	// draws is about 2–3 % of the loss scale; allow 4 %.
	if rel := math.Abs(res.VaR[0]-wantVaR) / wantVaR; rel > 0.04 {
		t.Errorf("VaR %v, closed form %v (rel %.4f)", res.VaR[0], wantVaR, rel)
	}
	if rel := math.Abs(res.ES[0]-wantES) / wantES; rel > 0.04 {
		t.Errorf("ES %v, closed form %v (rel %.4f)", res.ES[0], wantES, rel)
	}
	// Mean loss of a martingale is ~0: E[1 − eˣ] = 0.
	if se := qty * spot * s / math.Sqrt(n); math.Abs(res.MeanLoss[0]) > 5*se {
		t.Errorf("mean loss %v, want 0 ± %v", res.MeanLoss[0], 5*se)
	}
}

// mixedJob is a small book of every instrument kind over two correlated
// underlyings, held by three accounts.
func mixedJob(n int, seed uint64) *accel.RiskJob {
	corr, _, err := scenario.NewCorrelation(2, []float64{1, 0.5, 0.5, 1}, scenario.Reject)
	if err != nil {
		panic(err)
	}
	ins := []accel.Instrument{
		{Kind: accel.Spot, Underlying: 0, S: 100, Carry: 1, Multiplier: 1},
		{Kind: accel.Future, Underlying: 1, S: 50, Carry: math.Exp(0.03 * 0.25), T: 0.25, R: 0.03, Multiplier: 10},
		{Kind: accel.Call, Model: accel.BSM, Underlying: 0, S: 100, Carry: 1, K: 105, T: 0.5, R: 0.03, Q: 0.01, Sigma: 0.25, Multiplier: 100},
		{Kind: accel.Put, Model: accel.BSM, Underlying: 0, S: 100, Carry: 1, K: 90, T: 0.1, R: 0.03, Q: 0.01, Sigma: 0.3, Multiplier: 100},
		{Kind: accel.Put, Model: accel.Black76, Underlying: 1, S: 50, Carry: math.Exp(0.03 * 0.25), K: 48, T: 0.2, R: 0.03, Sigma: 0.4, Multiplier: 10},
	}
	k, _ := tail.K(n, 0.975)
	kv, _ := tail.K(n, 0.99)
	return &accel.RiskJob{
		Underlyings: 2,
		Instruments: ins,
		Scenarios: accel.Scenarios{Seed: seed, Count: n, HorizonYears: 2.0 / 252, Vols: []float64{0.25, 0.4},
			Cholesky: corr.L(), VolOfVol: 0.8, SpotVolCorr: -0.5},
		Stress: accel.Stress{Points: 2, X: []float64{-0.1, 0.1, -0.2, 0.2}, VolMul: []float64{1.25, 0.75, 1.25, 0.75}, Weight: []float64{1, 1, 1, 0.35}},
		Positions: accel.Positions{
			Start:      []uint32{0, 2, 5, 5},
			Instrument: []uint32{0, 2, 1, 3, 4},
			Qty:        []float64{500, -3, 7, 12, -20},
		},
		KVaR: kv, KES: k,
	}
}

func TestAggregationAndLosses(t *testing.T) {
	job := mixedJob(3000, 9)
	var res accel.RiskResult
	if err := (&Reference{Workers: 3}).Risk(context.Background(), job, &res); err != nil {
		t.Fatal(err)
	}
	if res.Backend != Name || res.Scenarios != 3000 {
		t.Fatalf("result header %q %d", res.Backend, res.Scenarios)
	}
	// Recompute every loss from the scenarios with the pricing package.
	mc, err := scenario.NewMonteCarlo(scenario.Config{Seed: 9, Scenarios: 3000, HorizonYears: 2.0 / 252,
		Vols: []float64{0.25, 0.4}, Correlation: mustFactor(job.Scenarios.Cholesky), VolOfVol: 0.8, SpotVolCorr: -0.5})
	if err != nil {
		t.Fatal(err)
	}
	x, vm := make([]float64, 2), make([]float64, 2)
	for s := 0; s < 3000; s += 37 {
		mc.Scenario(uint64(s), x, vm)
		for i, in := range job.Instruments {
			var v0, v1 float64
			switch in.Kind {
			case accel.Spot, accel.Future:
				v0 = in.S * in.Carry
				v1 = v0 * math.Exp(x[in.Underlying])
			default:
				pin := pricing.Inputs{Model: pricing.ModelBSM, Kind: pricing.Call, S: in.S, K: in.K, T: in.T, R: in.R, Q: in.Q, Sigma: in.Sigma}
				if in.Kind == accel.Put {
					pin.Kind = pricing.Put
				}
				if in.Model == accel.Black76 {
					pin.Model, pin.S, pin.Q = pricing.ModelBlack76, in.S*in.Carry, 0
				}
				v0, _ = pricing.Price(pin)
				pin.S *= math.Exp(x[in.Underlying])
				pin.Sigma *= vm[in.Underlying]
				v1, _ = pricing.Price(pin)
			}
			want := -(v1 - v0) * in.Multiplier
			got := res.InstrumentLoss[i*3000+s]
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Fatalf("instrument %d scenario %d: loss %v, want %v", i, s, got, want)
			}
		}
		// Account 1: positions 2..4.
		want := 0.0
		for j := 2; j < 5; j++ {
			want += float64(job.Positions.Qty[j] * res.InstrumentLoss[int(job.Positions.Instrument[j])*3000+s])
		}
		if got := res.AccountLoss[1*3000+s]; got != want {
			t.Fatalf("account 1 scenario %d: %v, want %v", s, got, want)
		}
		if got := res.AccountLoss[2*3000+s]; got != 0 {
			t.Fatalf("empty account has loss %v", got)
		}
	}
	var sc tail.Scratch
	for a := 0; a < 3; a++ {
		r := tail.Compute(res.AccountLoss[a*3000:(a+1)*3000], tail.Spec{KVaR: job.KVaR, KES: job.KES}, &sc)
		if r.VaR != res.VaR[a] || r.ES != res.ES[a] {
			t.Fatalf("account %d tail %+v vs %v/%v", a, r, res.VaR[a], res.ES[a])
		}
	}
	// Stress: the spot at point 0 of underlying 0 moves by −10 %.
	if want := -(100 * math.Expm1(-0.1)) * 1 * 1; math.Abs(res.InstrumentStress[0]-want) > 1e-12 {
		t.Fatalf("stress %v, want %v", res.InstrumentStress[0], want)
	}
	// Greeks per contract: the future's delta is carry × multiplier.
	if g := res.Greeks[1]; math.Abs(g.Delta-10*math.Exp(0.03*0.25)) > 1e-12 {
		t.Fatalf("future delta %v", g.Delta)
	}
}

func mustFactor(l []float64) *scenario.Correlation {
	c, err := scenario.CorrelationFromFactor(int(math.Sqrt(float64(len(l)))), l)
	if err != nil {
		panic(err)
	}
	return c
}

// The result does not depend on the number of workers, and the same seed
// gives the same bits.
func TestDeterministic(t *testing.T) {
	var a, b, c accel.RiskResult
	ctx := context.Background()
	if err := (&Reference{Workers: 1}).Risk(ctx, mixedJob(1001, 5), &a); err != nil {
		t.Fatal(err)
	}
	if err := (&Reference{Workers: 4}).Risk(ctx, mixedJob(1001, 5), &b); err != nil {
		t.Fatal(err)
	}
	if err := (&Reference{Workers: 2}).Risk(ctx, mixedJob(1001, 6), &c); err != nil {
		t.Fatal(err)
	}
	for i := range a.AccountLoss {
		if math.Float64bits(a.AccountLoss[i]) != math.Float64bits(b.AccountLoss[i]) {
			t.Fatalf("cell %d differs between 1 and 4 workers", i)
		}
	}
	for i := range a.VaR {
		if a.VaR[i] != b.VaR[i] || a.ES[i] != b.ES[i] {
			t.Fatal("tails differ between worker counts")
		}
	}
	if a.ES[1] == c.ES[1] {
		t.Fatal("a different seed gave the same ES")
	}
}

func TestDeltaGammaVegaApproximatesFull(t *testing.T) {
	job := mixedJob(4000, 3)
	job.Scenarios.VolOfVol = 0
	var full, dgv accel.RiskResult
	if err := (&Reference{}).Risk(context.Background(), job, &full); err != nil {
		t.Fatal(err)
	}
	job.Model = accel.DeltaGammaVega
	if err := (&Reference{}).Risk(context.Background(), job, &dgv); err != nil {
		t.Fatal(err)
	}
	// Over a 2-day horizon the second-order expansion is close: within 5 %
	// of ES for the option book.
	if rel := math.Abs(dgv.ES[1]-full.ES[1]) / full.ES[1]; rel > 0.05 {
		t.Fatalf("delta-gamma-vega ES %v vs full %v (rel %.3f)", dgv.ES[1], full.ES[1], rel)
	}
	if full.ES[1] == dgv.ES[1] {
		t.Fatal("the models agree exactly: the DGV path did not run")
	}
}

func TestHistoricalScenariosAppended(t *testing.T) {
	job := mixedJob(100, 1)
	job.Scenarios.Historical = []float64{-0.5, -0.5, 0.2, 0.1}
	k, _ := tail.K(102, 0.99)
	job.KVaR, job.KES = k, k
	var res accel.RiskResult
	if err := (&Reference{}).Risk(context.Background(), job, &res); err != nil {
		t.Fatal(err)
	}
	if res.Scenarios != 102 {
		t.Fatalf("%d scenarios", res.Scenarios)
	}
	// Scenario 100 is a 50 % crash: the long spot account's worst loss.
	want := -(100 * math.Expm1(-0.5)) * 500
	if got := res.InstrumentLoss[100] * 500; math.Abs(got-want) > 1e-9 {
		t.Fatalf("historical loss %v, want %v", got, want)
	}
	// k = 2: ES is the mean of the two largest losses, the crash one of them.
	if res.ES[0] < want/2 {
		t.Fatalf("ES %v ignores the crash scenario (%v)", res.ES[0], want)
	}
}

func TestInvalidJobs(t *testing.T) {
	ctx := context.Background()
	for name, mod := range map[string]func(*accel.RiskJob){
		"no instruments":       func(j *accel.RiskJob) { j.Instruments = nil },
		"bad underlying":       func(j *accel.RiskJob) { j.Instruments[0].Underlying = 7 },
		"negative spot":        func(j *accel.RiskJob) { j.Instruments[0].S = -1 },
		"bad position":         func(j *accel.RiskJob) { j.Positions.Instrument[0] = 99 },
		"bad offsets":          func(j *accel.RiskJob) { j.Positions.Start[1] = 9 },
		"k too big":            func(j *accel.RiskJob) { j.KES = 1 << 30 },
		"horizon":              func(j *accel.RiskJob) { j.Scenarios.HorizonYears = 0 },
		"vols":                 func(j *accel.RiskJob) { j.Scenarios.Vols = nil },
		"factor":               func(j *accel.RiskJob) { j.Scenarios.Cholesky = []float64{1, 1, 0, 1} },
		"option without sigma": func(j *accel.RiskJob) { j.Instruments[2].Sigma = -1 },
	} {
		job := mixedJob(100, 1)
		mod(job)
		var res accel.RiskResult
		if err := (&Reference{}).Risk(ctx, job, &res); !errors.Is(err, accel.ErrInvalidJob) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var res accel.RiskResult
	if err := (&Reference{}).Risk(ctx, mixedJob(1000, 1), &res); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestAddScaledNoFMA(t *testing.T) {
	dst := []float64{0.1, 0.2, 0.3, 0.4, 0.5}
	src := []float64{1.0 / 3, 2.0 / 3, 1e-17, 7, 0.1}
	want := make([]float64, len(dst))
	for i := range dst {
		want[i] = dst[i] + float64(3.3*src[i])
	}
	AddScaled(dst, 3.3, src)
	for i := range dst {
		if dst[i] != want[i] {
			t.Fatalf("element %d: %v, want %v", i, dst[i], want[i])
		}
	}
}
