package fxp

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/scenario"
)

// Random123's published philox4x32_10 known-answer vectors, through the
// kernel's own call path (philoxBlock with the counter {block, stream,
// lo32(idx), hi32(idx)} and the key from SeedKey).
func TestPhiloxKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	} {
		seed := uint64(c.key[0]) | uint64(c.key[1])<<32
		idx := uint64(c.ctr[2]) | uint64(c.ctr[3])<<32
		p, err := NewScenarioParams(&accel.Scenarios{Seed: seed, HorizonYears: 1, Vols: []float64{0}}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := philoxBlock(p.key, c.ctr[0], c.ctr[1], uint32(idx), uint32(idx>>32)); got != c.want {
			t.Errorf("Philox(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

// scenarioConfigs are the configurations compared with engine/scenario.
func scenarioConfigs(t *testing.T) map[string]accel.Scenarios {
	const u = 7
	vols := []float64{0.05, 0.2, 0.35, 0.8, 1.5, 0.1, 0.25}
	corr := make([]float64, u*u)
	for i := 0; i < u; i++ {
		for j := 0; j < u; j++ {
			corr[i*u+j] = math.Pow(0.6, math.Abs(float64(i-j)))
		}
	}
	c, _, err := scenario.NewCorrelation(u, corr, scenario.Reject)
	if err != nil {
		t.Fatal(err)
	}
	l := c.L()
	return map[string]accel.Scenarios{
		"gaussian":   {Seed: 1, HorizonYears: 1.0 / 252, Vols: vols},
		"correlated": {Seed: 2, HorizonYears: 10.0 / 252, Vols: vols, Cholesky: l},
		"student-t":  {Seed: 3, HorizonYears: 1.0 / 252, Vols: vols, Cholesky: l, StudentTDoF: 4},
		"t-heavy":    {Seed: 4, HorizonYears: 0.25, Vols: vols, StudentTDoF: 3},
		"vol-shocks": {Seed: 5, HorizonYears: 5.0 / 252, Vols: vols, Cholesky: l, VolOfVol: 1.2, SpotVolCorr: -0.7},
		"everything": {Seed: 6, HorizonYears: 1.0 / 52, Vols: vols, Cholesky: l, StudentTDoF: 5, VolOfVol: 0.8, SpotVolCorr: 0.4},
	}
}

func referenceMC(t testing.TB, sc *accel.Scenarios, u, n int) *scenario.MonteCarlo {
	var corr *scenario.Correlation
	if sc.Cholesky != nil {
		c, err := scenario.CorrelationFromFactor(u, sc.Cholesky)
		if err != nil {
			t.Fatal(err)
		}
		corr = c
	}
	g, err := scenario.NewMonteCarlo(scenario.Config{Seed: sc.Seed, Scenarios: n, HorizonYears: sc.HorizonYears, Vols: sc.Vols,
		Correlation: corr, StudentTDoF: sc.StudentTDoF, VolOfVol: sc.VolOfVol, SpotVolCorr: sc.SpotVolCorr})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Scenario rows against engine/scenario.MonteCarlo.Scenario, same seed and
// counters: |Δx| ≤ 1e-7 + 2e-8·|x| and |Δm|/m ≤ 1e-7 (see
// docs/accel-numerics.md for where the error comes from).
func TestRowMatchesReference(t *testing.T) {
	for name, sc := range scenarioConfigs(t) {
		u := len(sc.Vols)
		p, err := NewScenarioParams(&sc, u)
		if err != nil {
			t.Fatal(err)
		}
		const n = 20000
		g := referenceMC(t, &sc, u, n)
		x := make([]int32, u)
		m := make([]uint32, u)
		xf := make([]float64, u)
		mf := make([]float64, u)
		worstX, worstM := 0.0, 0.0
		for i := uint64(0); i < n; i++ {
			p.Row(i, x, m)
			g.Scenario(i, xf, mf)
			for k := range x {
				if math.Abs(xf[k]) >= 8 {
					continue // clamped
				}
				dx := math.Abs(float64(x[k])*0x1p-27 - xf[k])
				worstX = max(worstX, dx)
				if dx > 1e-7+2e-8*math.Abs(xf[k]) {
					t.Fatalf("%s: scenario %d underlying %d: x = %v, want %v", name, i, k, float64(x[k])*0x1p-27, xf[k])
				}
				if mf[k] < 1.0/256 || mf[k] >= 256 {
					continue
				}
				dm := math.Abs(float64(m[k])*0x1p-24/mf[k] - 1)
				worstM = max(worstM, dm)
				if dm > 1e-7 {
					t.Fatalf("%s: scenario %d underlying %d: m = %v, want %v", name, i, k, float64(m[k])*0x1p-24, mf[k])
				}
			}
			if xa := p.XAbsMax(); xa < XMax {
				for k := range x {
					if x[k] > xa || -x[k] > xa {
						t.Fatalf("%s: |x| = %d beyond XAbsMax %d", name, x[k], xa)
					}
				}
			}
		}
		t.Logf("%-10s max |Δx| %.3g, max |Δm|/m %.3g, XAbsMax %.4g", name, worstX, worstM, float64(p.XAbsMax())*0x1p-27)
	}
}

func TestRowDeterminismAndShape(t *testing.T) {
	sc := scenarioConfigs(t)["everything"]
	p, err := NewScenarioParams(&sc, len(sc.Vols))
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]int32, 7), make([]int32, 7)
	ma, mb := make([]uint32, 7), make([]uint32, 7)
	for i := uint64(0); i < 1000; i++ {
		p.Row(i<<20, a, ma)
		p.Row(i<<20, b, mb)
		if a[0] != b[0] || a[6] != b[6] || ma[3] != mb[3] {
			t.Fatal("Row is not a function of its index")
		}
	}
	// m may be nil; without vol shocks m is MOne.
	p.Row(1, a, nil)
	g := scenarioConfigs(t)["gaussian"]
	pg, _ := NewScenarioParams(&g, 7)
	pg.Row(1, a, ma)
	for _, v := range ma {
		if v != MOne {
			t.Fatalf("no vol shocks, m = %d", v)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Row with a short slice must panic")
		}
	}()
	p.Row(0, a[:3], nil)
}

// A zero vol gives x = 0 exactly; perfectly correlated underlyings get the
// same shock.
func TestRowExactCases(t *testing.T) {
	sc := accel.Scenarios{Seed: 9, HorizonYears: 0.1, Vols: []float64{0, 0.3, 0.3}, Cholesky: []float64{1, 0, 0, 1, 0, 0, 0, 0, 1}}
	p, err := NewScenarioParams(&sc, 3)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]int32, 3)
	for i := uint64(0); i < 100; i++ {
		p.Row(i, x, nil)
		if x[0] != 0 {
			t.Fatalf("scenario %d: %v", i, x)
		}
	}
	sc.Cholesky = []float64{1, 0, 0, 1, 0, 0, 1, 0, 0}
	p, _ = NewScenarioParams(&sc, 3)
	for i := uint64(0); i < 100; i++ {
		p.Row(i, x, nil)
		if x[1] != x[2] {
			t.Fatalf("scenario %d: identical underlyings differ: %v", i, x)
		}
	}
}

func TestScenarioRangeErrors(t *testing.T) {
	good := accel.Scenarios{Seed: 1, HorizonYears: 0.01, Vols: []float64{0.2, 0.3}, Cholesky: []float64{1, 0, 0.6, 0.8}}
	for _, c := range []struct {
		field string
		u     int
		edit  func(*accel.Scenarios)
	}{
		{"underlyings", 0, func(*accel.Scenarios) {}},
		{"len(Vols)", 3, func(*accel.Scenarios) {}},
		{"HorizonYears", 2, func(s *accel.Scenarios) { s.HorizonYears = 0 }},
		{"HorizonYears", 2, func(s *accel.Scenarios) { s.HorizonYears = math.NaN() }},
		{"Vols[1]", 2, func(s *accel.Scenarios) { s.Vols = []float64{0.2, -1} }},
		{"Vols[0]", 2, func(s *accel.Scenarios) { s.Vols, s.HorizonYears = []float64{9, 0.1}, 9 }},
		{"StudentTDoF", 2, func(s *accel.Scenarios) { s.StudentTDoF = 2 }},
		{"VolOfVol", 2, func(s *accel.Scenarios) { s.VolOfVol = math.Inf(1) }},
		{"SpotVolCorr", 2, func(s *accel.Scenarios) { s.VolOfVol, s.SpotVolCorr = 1, 1.5 }},
		{"len(Cholesky)", 2, func(s *accel.Scenarios) { s.Cholesky = []float64{1} }},
		{"Cholesky[0][1]", 2, func(s *accel.Scenarios) { s.Cholesky = []float64{1, 0.1, 0, 1} }},
		{"Cholesky[1][0]", 2, func(s *accel.Scenarios) { s.Cholesky = []float64{1, 0, math.NaN(), 1} }},
	} {
		sc := good
		c.edit(&sc)
		_, err := NewScenarioParams(&sc, c.u)
		var re *RangeError
		if !errors.Is(err, ErrRange) || !errors.As(err, &re) || re.Field != c.field {
			t.Errorf("%s: got %v", c.field, err)
		}
	}
}

func TestHostConversions(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want int32
	}{{0, 0}, {1, 1 << 27}, {-1, -1 << 27}, {9, XMax}, {-1e300, -XMax}, {0x1p-28, 1}, {-0x1p-28, 0}, {0x1p-29, 0}} {
		if got, err := XFromFloat(c.x); err != nil || got != c.want {
			t.Errorf("XFromFloat(%g) = %d, %v; want %d", c.x, got, err, c.want)
		}
	}
	for _, c := range []struct {
		m    float64
		want uint32
	}{{1, MOne}, {0, MMin}, {1e9, MMax}, {0.5, MOne / 2}} {
		if got, err := MFromFloat(c.m); err != nil || got != c.want {
			t.Errorf("MFromFloat(%g) = %d, %v; want %d", c.m, got, err, c.want)
		}
	}
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		if _, err := XFromFloat(bad); !errors.Is(err, ErrRange) {
			t.Errorf("XFromFloat(%v): %v", bad, err)
		}
	}
	if _, err := MFromFloat(-1); !errors.Is(err, ErrRange) {
		t.Errorf("MFromFloat(−1) accepted")
	}
	xs := make([]int32, 3)
	if err := ConvertX(xs, []float64{0.1, -0.2, 11}); err != nil || xs[2] != XMax {
		t.Errorf("ConvertX: %v %v", xs, err)
	}
	if err := ConvertX(xs, []float64{0, math.NaN(), 0}); err == nil {
		t.Errorf("ConvertX accepted NaN")
	}
	ms := make([]uint32, 2)
	if err := ConvertM(ms, []float64{1, 2}); err != nil || ms[1] != 2*MOne {
		t.Errorf("ConvertM: %v %v", ms, err)
	}
	if err := ConvertM(ms[:1], []float64{1, 2}); err == nil {
		t.Errorf("ConvertM accepted a short dst")
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		x := r.NormFloat64()
		q, _ := XFromFloat(x)
		if math.Abs(float64(q)*0x1p-27-x) > 0x1p-28 {
			t.Fatalf("XFromFloat(%v) = %d", x, q)
		}
	}
}
