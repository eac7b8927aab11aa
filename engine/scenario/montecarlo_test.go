package scenario

import (
	"errors"
	"math"
	"testing"
)

const testHorizon = 10.0 / 252

func testCorrelation(t testing.TB) *Correlation {
	m := []float64{
		1, 0.6, -0.3, 0,
		0.6, 1, 0.2, 0,
		-0.3, 0.2, 1, 0,
		0, 0, 0, 1,
	}
	c, _, err := NewCorrelation(4, m, Reject)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustMC(t testing.TB, cfg Config) (*MonteCarlo, *Set) {
	t.Helper()
	g, err := NewMonteCarlo(cfg)
	if err != nil {
		t.Fatal(err)
	}
	set, err := g.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	g.Fill(set, 2)
	return g, set
}

// moments returns the sample mean, variance, and excess kurtosis of column u.
func moments(s *Set, u int) (mean, variance, kurt float64) {
	n := float64(s.Scenarios)
	for i := 0; i < s.Scenarios; i++ {
		mean += s.Row(i)[u]
	}
	mean /= n
	var m2, m4 float64
	for i := 0; i < s.Scenarios; i++ {
		d := s.Row(i)[u] - mean
		m2 += d * d
		m4 += d * d * d * d
	}
	m2 /= n
	m4 /= n
	return mean, m2 * n / (n - 1), m4/(m2*m2) - 3
}

func sampleCorr(n int, x, y func(i int) float64) float64 {
	var mx, my float64
	for i := 0; i < n; i++ {
		mx += x(i)
		my += y(i)
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx, syy float64
	for i := 0; i < n; i++ {
		dx, dy := x(i)-mx, y(i)-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

// Gaussian scenarios: x_u ~ N(−σ²h/2, σ²h) with the input correlation. Bounds are
// 5 standard errors for N = 200,000: mean σ√h/√N, variance σ²h·√(2/N), excess
// kurtosis √(24/N), correlation (1−ρ²)/√N.
func TestMonteCarloGaussianMoments(t *testing.T) {
	const n = 200_000
	vols := []float64{0.2, 0.5, 1.0, 0}
	corr := testCorrelation(t)
	_, set := mustMC(t, Config{Seed: 7, Scenarios: n, HorizonYears: testHorizon, Vols: vols, Correlation: corr})
	sqrtN := math.Sqrt(n)
	for u, s := range vols {
		mean, variance, kurt := moments(set, u)
		wantMean, wantVar := -0.5*s*s*testHorizon, s*s*testHorizon
		if s == 0 {
			if mean != 0 || variance != 0 {
				t.Errorf("u%d: zero vol gave mean %g variance %g", u, mean, variance)
			}
			continue
		}
		if tol := 5 * math.Sqrt(wantVar) / sqrtN; math.Abs(mean-wantMean) > tol {
			t.Errorf("u%d: mean %g, want %g ± %g", u, mean, wantMean, tol)
		}
		if tol := 5 * wantVar * math.Sqrt(2.0/n); math.Abs(variance-wantVar) > tol {
			t.Errorf("u%d: variance %g, want %g ± %g", u, variance, wantVar, tol)
		}
		if tol := 5 * math.Sqrt(24.0/n); math.Abs(kurt) > tol {
			t.Errorf("u%d: excess kurtosis %g, want 0 ± %g", u, kurt, tol)
		}
		// E[exp(x)] = 1: the martingale drift. SE = sqrt(e^{σ²h} − 1)/√N.
		var m float64
		for i := 0; i < n; i++ {
			m += math.Exp(set.Row(i)[u])
		}
		m /= n
		if tol := 5 * math.Sqrt(math.Expm1(wantVar)) / sqrtN; math.Abs(m-1) > tol {
			t.Errorf("u%d: E[exp x] = %g, want 1 ± %g", u, m, tol)
		}
	}
	for i := 0; i < 3; i++ {
		for j := i + 1; j < 3; j++ {
			rho := corr.At(i, j)
			r := sampleCorr(n, func(k int) float64 { return set.Row(k)[i] }, func(k int) float64 { return set.Row(k)[j] })
			if tol := 5 * (1 - rho*rho) / sqrtN; math.Abs(r-rho) > tol {
				t.Errorf("corr(%d,%d) = %g, want %g ± %g", i, j, r, rho, tol)
			}
		}
	}
}

// Student-t ν = 10: unit-variance rescaling keeps var = σ²h; the marginal excess
// kurtosis is 6/(ν−4) = 1. The kurtosis standard error comes from 20 batch means.
func TestMonteCarloStudentT(t *testing.T) {
	const n, nu = 200_000, 10
	vols := []float64{0.3, 0.3, 0.3, 0.3}
	_, set := mustMC(t, Config{Seed: 11, Scenarios: n, HorizonYears: testHorizon, Vols: vols, Correlation: testCorrelation(t), StudentTDoF: nu})
	wantVar := 0.09 * testHorizon
	wantKurt := 6.0 / (nu - 4)
	for u := range vols {
		mean, variance, kurt := moments(set, u)
		if tol := 5 * math.Sqrt(wantVar/n); math.Abs(mean-(-0.5*wantVar)) > tol {
			t.Errorf("u%d: mean %g, want %g ± %g", u, mean, -0.5*wantVar, tol)
		}
		// sd(x²) = σ²h·sqrt(2 + κ) for excess kurtosis κ.
		if tol := 5 * wantVar * math.Sqrt((2+wantKurt)/n); math.Abs(variance-wantVar) > tol {
			t.Errorf("u%d: variance %g, want %g ± %g", u, variance, wantVar, tol)
		}
		const batches = 20
		var ks []float64
		for b := 0; b < batches; b++ {
			sub := &Set{Scenarios: n / batches, Underlyings: set.Underlyings, X: set.X[b*(n/batches)*4 : (b+1)*(n/batches)*4]}
			_, _, k := moments(sub, u)
			ks = append(ks, k)
		}
		var km, kv float64
		for _, k := range ks {
			km += k
		}
		km /= batches
		for _, k := range ks {
			kv += (k - km) * (k - km)
		}
		se := math.Sqrt(kv / (batches - 1) / batches)
		if kurt <= 0 {
			t.Errorf("u%d: excess kurtosis %g, want > 0", u, kurt)
		}
		if tol := 5 * se; math.Abs(kurt-wantKurt) > tol {
			t.Errorf("u%d: excess kurtosis %g, want %g ± %g", u, kurt, wantKurt, tol)
		}
	}
}

// Vol shocks: E[volMul] = 1 (SE sqrt(e^{η²h}−1)/√N), var(ln volMul) = η²h, and
// corr(ln volMul_u, x_u) = ρ_sv in the Gaussian case.
func TestMonteCarloVolShocks(t *testing.T) {
	const n, eta, rho = 200_000, 1.5, -0.7
	vols := []float64{0.4, 0.1, 0.6, 0.25}
	_, set := mustMC(t, Config{Seed: 3, Scenarios: n, HorizonYears: testHorizon, Vols: vols, Correlation: testCorrelation(t), VolOfVol: eta, SpotVolCorr: rho})
	if set.VolMul == nil {
		t.Fatal("no vol multipliers")
	}
	v := eta * eta * testHorizon
	for u := range vols {
		var m, lm, lv float64
		for i := 0; i < n; i++ {
			vm := set.VolRow(i)[u]
			if !(vm > 0) {
				t.Fatalf("volMul %g", vm)
			}
			m += vm
			lm += math.Log(vm)
		}
		m /= n
		lm /= n
		for i := 0; i < n; i++ {
			d := math.Log(set.VolRow(i)[u]) - lm
			lv += d * d
		}
		lv /= n - 1
		if tol := 5 * math.Sqrt(math.Expm1(v)/n); math.Abs(m-1) > tol {
			t.Errorf("u%d: E[volMul] = %g, want 1 ± %g", u, m, tol)
		}
		if tol := 5 * v * math.Sqrt(2.0/n); math.Abs(lv-v) > tol {
			t.Errorf("u%d: var(ln volMul) = %g, want %g ± %g", u, lv, v, tol)
		}
		r := sampleCorr(n, func(k int) float64 { return math.Log(set.VolRow(k)[u]) }, func(k int) float64 { return set.Row(k)[u] })
		if tol := 5 * (1 - rho*rho) / math.Sqrt(n); math.Abs(r-rho) > tol {
			t.Errorf("u%d: corr(ln volMul, x) = %g, want %g ± %g", u, r, rho, tol)
		}
	}
}

// referenceScenario is the package doc's definition, written the slow, literal way:
// each normal from Normal(), L·z as a plain matrix-vector product.
func referenceScenario(cfg Config, idx uint64) (x, volMul []float64) {
	n := len(cfg.Vols)
	key := SeedKey(cfg.Seed)
	z := make([]float64, n)
	for u := range z {
		z[u] = Normal(key, StreamMarket, idx, uint32(u))
	}
	zh := append([]float64(nil), z...)
	if cfg.Correlation != nil {
		l := cfg.Correlation.L()
		for u := 0; u < n; u++ {
			var s float64
			for k := 0; k <= u; k++ {
				s += float64(l[u*n+k] * z[k])
			}
			zh[u] = s
		}
	}
	s := 1.0
	if nu := cfg.StudentTDoF; nu > 0 {
		var w float64
		for k := 0; k < nu; k++ {
			g := Normal(key, StreamChiSquare, idx, uint32(k))
			w += float64(g * g)
		}
		s = math.Sqrt(float64(nu-2) / w)
	}
	h := cfg.HorizonYears
	x = make([]float64, n)
	volMul = make([]float64, n)
	for u, sigma := range cfg.Vols {
		mu := float64(-0.5 * sigma * sigma * h) // rounded: it is added below
		v := sigma * math.Sqrt(h)
		x[u] = mu + float64(v*float64(s*zh[u]))
		volMul[u] = 1
		if eta := cfg.VolOfVol; eta > 0 {
			rho := cfg.SpotVolCorr
			eps := Normal(key, StreamVolShock, idx, uint32(u))
			zv := float64(rho*zh[u]) + float64(math.Sqrt(1-float64(rho*rho))*eps)
			volMul[u] = expRef(float64(eta*math.Sqrt(h)*zv) + float64(-0.5*eta*eta*h))
		}
	}
	return x, volMul
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func detConfigs(t testing.TB) []Config {
	vols := []float64{0.2, 0.35, 0.5, 0.15, 0.8, 0.25, 0.3}
	m := equicorrelation(7, 0.4)
	m[1*7+3], m[3*7+1] = -0.2, -0.2
	corr, _, err := NewCorrelation(7, m, Reject)
	if err != nil {
		t.Fatal(err)
	}
	return []Config{
		{Seed: 1, Scenarios: 1000, HorizonYears: 1.0 / 252, Vols: vols},
		{Seed: 2, Scenarios: 1000, HorizonYears: 5.0 / 252, Vols: vols, Correlation: corr},
		{Seed: 3, Scenarios: 1000, HorizonYears: 0.5, Vols: vols, Correlation: corr, StudentTDoF: 5, VolOfVol: 0.8, SpotVolCorr: -0.6},
		{Seed: 1 << 40, Scenarios: 999, HorizonYears: 2, Vols: vols[:5], StudentTDoF: 64, VolOfVol: 2, SpotVolCorr: 1},
	}
}

func TestMonteCarloMatchesDefinition(t *testing.T) {
	for ci, cfg := range detConfigs(t) {
		g, err := NewMonteCarlo(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := len(cfg.Vols)
		x, vm := make([]float64, n), make([]float64, n)
		for _, idx := range []uint64{0, 1, 2, 998, 1 << 33, math.MaxUint64} {
			g.Scenario(idx, x, vm)
			wx, wv := referenceScenario(cfg, idx)
			if !sameBits(x, wx) || !sameBits(vm, wv) {
				t.Errorf("config %d scenario %d: got %v %v, want %v %v", ci, idx, x, vm, wx, wv)
			}
		}
	}
}

func TestMonteCarloDeterminism(t *testing.T) {
	for ci, cfg := range detConfigs(t) {
		g, err := NewMonteCarlo(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var sets []*Set
		for _, w := range []int{1, 2, 7, 0, 5000} {
			s, err := g.NewSet()
			if err != nil {
				t.Fatal(err)
			}
			g.Fill(s, w)
			sets = append(sets, s)
		}
		for k, s := range sets[1:] {
			if !sameBits(s.X, sets[0].X) || !sameBits(s.VolMul, sets[0].VolMul) {
				t.Errorf("config %d: fill %d differs from 1 worker", ci, k+1)
			}
		}
		// A fresh generator from the same config gives the same bits.
		g2, _ := NewMonteCarlo(cfg)
		s2, _ := g2.NewSet()
		g2.Fill(s2, 3)
		if !sameBits(s2.X, sets[0].X) {
			t.Errorf("config %d: same seed, different bits", ci)
		}
		// Scenario(i) alone == row i of Fill.
		n := len(cfg.Vols)
		x, vm := make([]float64, n), make([]float64, n)
		for _, i := range []int{0, 1, 500, cfg.Scenarios - 1} {
			g.Scenario(uint64(i), x, vm)
			if !sameBits(x, sets[0].Row(i)) {
				t.Errorf("config %d: Scenario(%d) != row %d", ci, i, i)
			}
			if sets[0].VolMul != nil && !sameBits(vm, sets[0].VolRow(i)) {
				t.Errorf("config %d: Scenario(%d) vol != row %d", ci, i, i)
			}
			if sets[0].Kinds[i] != KindMonteCarlo {
				t.Errorf("kind %v", sets[0].Kinds[i])
			}
		}
		// A different seed changes (practically) every cell.
		cfg.Seed ^= 0x8000_0000_0000_0001
		g3, _ := NewMonteCarlo(cfg)
		s3, _ := g3.NewSet()
		g3.Fill(s3, 2)
		same := 0
		for i := range s3.X {
			if s3.X[i] == sets[0].X[i] {
				same++
			}
		}
		if same > len(s3.X)/1000 {
			t.Errorf("config %d: %d of %d cells unchanged by a new seed", ci, same, len(s3.X))
		}
	}
}

// TestMonteCarloKnownAnswer pins the bits of one scenario (Student-t ν = 5, vol
// shocks, 7 correlated underlyings) as a regression vector for the accelerator
// team: any change to the counter layout, uniform mapping, InvNorm, exp or the
// formulas shows up here. The values were recorded from this implementation after
// TestMonteCarloMatchesDefinition checked it against the literal definition; they
// are the same on every platform because no step may fuse or use CPU-dependent math.
func TestMonteCarloKnownAnswer(t *testing.T) {
	cfg := detConfigs(t)[2]
	g, err := NewMonteCarlo(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x, vm := make([]float64, 7), make([]float64, 7)
	g.Scenario(12345, x, vm)
	wantX := []uint64{0x3fcbd2779c318116, 0x3fc8597658857121, 0x3fc1bb304013912f, 0x3fbaece1a5df283a, 0x3fea36a4dfaf20c9, 0x3fd5ed8af3282864, 0x3fa1695a0dd81fc5}
	wantV := []uint64{0x3fe1e88b56290cee, 0x3ff0c9b36dfc036a, 0x3feb31f6a560fdf0, 0x3fe1e40e03d89614, 0x3ff549ee3beea53e, 0x3fe008e0567a230f, 0x3fdc85a438eb233a}
	for u := range x {
		if math.Float64bits(x[u]) != wantX[u] || math.Float64bits(vm[u]) != wantV[u] {
			t.Errorf("u%d: x %#x vol %#x, want %#x %#x", u, math.Float64bits(x[u]), math.Float64bits(vm[u]), wantX[u], wantV[u])
		}
	}
}

func TestMonteCarloZeroAllocs(t *testing.T) {
	cfg := detConfigs(t)[2]
	g, _ := NewMonteCarlo(cfg)
	x, vm := make([]float64, 7), make([]float64, 7)
	var idx uint64
	if a := testing.AllocsPerRun(1000, func() { g.Scenario(idx, x, vm); idx++ }); a != 0 {
		t.Errorf("Scenario allocates %v per run", a)
	}
	if a := testing.AllocsPerRun(1000, func() { g.Scenario(idx, x, nil); idx++ }); a != 0 {
		t.Errorf("Scenario(volMul nil) allocates %v per run", a)
	}
}

func TestMonteCarloNoVolShocks(t *testing.T) {
	g, _ := NewMonteCarlo(detConfigs(t)[1])
	x, vm := make([]float64, 7), make([]float64, 7)
	for i := range vm {
		vm[i] = math.NaN()
	}
	g.Scenario(3, x, vm)
	for _, v := range vm {
		if v != 1 {
			t.Fatalf("volMul %v without vol shocks, want 1", vm)
		}
	}
	s, _ := g.NewSet()
	if s.VolMul != nil || g.VolShocks() {
		t.Error("vol multipliers allocated without vol shocks")
	}
}

func TestMonteCarloConfigValidation(t *testing.T) {
	corr := testCorrelation(t)
	base := Config{Seed: 1, Scenarios: 10, HorizonYears: testHorizon, Vols: []float64{0.1, 0.2, 0.3, 0.4}, Correlation: corr}
	if _, err := NewMonteCarlo(base); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Config){
		func(c *Config) { c.Scenarios = 0 },
		func(c *Config) { c.Scenarios = ScenariosMax + 1 },
		func(c *Config) { c.HorizonYears = 0 },
		func(c *Config) { c.HorizonYears = math.NaN() },
		func(c *Config) { c.HorizonYears = HorizonYearsMax * 2 },
		func(c *Config) { c.Vols = nil; c.Correlation = nil },
		func(c *Config) { c.Vols = []float64{0.1, -0.2, 0.3, 0.4} },
		func(c *Config) { c.Vols = []float64{0.1, math.Inf(1), 0.3, 0.4} },
		func(c *Config) { c.Vols = []float64{0.1, 0.2, 0.3} },
		func(c *Config) { c.StudentTDoF = 2 },
		func(c *Config) { c.StudentTDoF = 65 },
		func(c *Config) { c.StudentTDoF = -1 },
		func(c *Config) { c.VolOfVol = -0.1 },
		func(c *Config) { c.VolOfVol = math.NaN() },
		func(c *Config) { c.SpotVolCorr = 1.01 },
		func(c *Config) { c.SpotVolCorr = math.NaN() },
		func(c *Config) { c.Scenarios = ScenariosMax; c.Vols = make([]float64, 100); c.Correlation = nil },
	}
	for i, mut := range bad {
		cfg := base
		mut(&cfg)
		if _, err := NewMonteCarlo(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: err = %v, want ErrInvalidConfig", i, err)
		}
	}
}

func TestMonteCarloMisusePanics(t *testing.T) {
	g, _ := NewMonteCarlo(detConfigs(t)[0])
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("short x", func() { g.Scenario(0, make([]float64, 3), nil) })
	mustPanic("short volMul", func() { g.Scenario(0, make([]float64, 7), make([]float64, 2)) })
	mustPanic("wrong set", func() { s, _ := NewSet(10, 7, false, KindMonteCarlo); g.Fill(s, 1) })
	mustPanic("nil set", func() { g.Fill(nil, 1) })
}

func benchConfig(b *testing.B, scenarios int) Config {
	const n = 20
	m := equicorrelation(n, 0.3)
	corr, _, err := NewCorrelation(n, m, Reject)
	if err != nil {
		b.Fatal(err)
	}
	vols := make([]float64, n)
	for i := range vols {
		vols[i] = 0.1 + 0.02*float64(i)
	}
	return Config{Seed: 99, Scenarios: scenarios, HorizonYears: 10.0 / 252, Vols: vols, Correlation: corr}
}

func BenchmarkScenario20(b *testing.B) {
	g, err := NewMonteCarlo(benchConfig(b, 1))
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, 20)
	var idx uint64
	for b.Loop() {
		g.Scenario(idx, x, nil)
		idx++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scenarios/s")
}

func BenchmarkScenario20StudentTVolShocks(b *testing.B) {
	cfg := benchConfig(b, 1)
	cfg.StudentTDoF, cfg.VolOfVol, cfg.SpotVolCorr = 5, 1, -0.5
	g, err := NewMonteCarlo(cfg)
	if err != nil {
		b.Fatal(err)
	}
	x, vm := make([]float64, 20), make([]float64, 20)
	var idx uint64
	for b.Loop() {
		g.Scenario(idx, x, vm)
		idx++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "scenarios/s")
}

func benchmarkFill(b *testing.B, workers int) {
	const scenarios = 10_000
	g, err := NewMonteCarlo(benchConfig(b, scenarios))
	if err != nil {
		b.Fatal(err)
	}
	set, err := g.NewSet()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.Fill(set, workers)
	}
	b.ReportMetric(float64(b.N)*scenarios/b.Elapsed().Seconds(), "scenarios/s")
}

// BenchmarkFill10kx20 fills 10,000 scenarios × 20 correlated underlyings.
func BenchmarkFill10kx20Workers1(b *testing.B) { benchmarkFill(b, 1) }
func BenchmarkFill10kx20Workers2(b *testing.B) { benchmarkFill(b, 2) }
