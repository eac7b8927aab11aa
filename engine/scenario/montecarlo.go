package scenario

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

// Bounds of a Monte Carlo configuration.
const (
	StudentTDoFMin  = 3    // smallest Student-t degrees of freedom (finite variance)
	StudentTDoFMax  = 64   // largest; beyond it the t is practically Gaussian
	HorizonYearsMax = 10.0 // longest risk horizon
	VolMax          = 10.0 // largest annualised vol (1000%)
	VolOfVolMax     = 10.0 // largest annualised vol of vol
	WorkersMax      = 256  // most goroutines Fill uses
)

// ErrInvalidConfig wraps every validation failure of a Monte Carlo Config.
var ErrInvalidConfig = errors.New("scenario: invalid Monte Carlo configuration")

// Config describes one epoch's Monte Carlo scenarios (see the package doc for the
// exact computation).
type Config struct {
	Seed         uint64       // epoch seed: the Philox key
	Scenarios    int          // 1..ScenariosMax
	HorizonYears float64      // h in years, in (0, HorizonYearsMax], e.g. horizon_days/252
	Vols         []float64    // annualised σ per underlying, each in [0, VolMax]; 1..UnderlyingsMax of them
	Correlation  *Correlation // nil = independent underlyings; else N() == len(Vols)
	// StudentTDoF is 0 for Gaussian scenarios, else the integer ν in
	// [StudentTDoFMin, StudentTDoFMax] of a multivariate t rescaled to unit variance.
	StudentTDoF int
	VolOfVol    float64 // η (annualised) in [0, VolOfVolMax]; 0 = no vol shocks
	SpotVolCorr float64 // ρ_sv in [−1, 1], correlation of a vol shock with its underlying's return
}

// MonteCarlo generates Monte Carlo scenarios. It is immutable after NewMonteCarlo and
// safe for concurrent use.
type MonteCarlo struct {
	key       [2]uint32
	scenarios int
	n         int
	l         []float64 // n×n lower factor, nil for independent underlyings
	mu        []float64 // −0.5·σ·σ·h per underlying
	v         []float64 // σ·sqrt(h) per underlying
	nu        int       // 0 or Student-t ν
	nuMinus2  float64   // ν − 2
	volShocks bool
	volA      float64 // η·sqrt(h)
	volB      float64 // −0.5·η·η·h
	rho       float64 // ρ_sv
	rhoC      float64 // sqrt(1 − ρ_sv²)
}

// NewMonteCarlo validates cfg and precomputes the generator.
func NewMonteCarlo(cfg Config) (*MonteCarlo, error) {
	n := len(cfg.Vols)
	switch {
	case cfg.Scenarios < 1 || cfg.Scenarios > ScenariosMax:
		return nil, fmt.Errorf("%w: %d scenarios, want 1..%d", ErrInvalidConfig, cfg.Scenarios, ScenariosMax)
	case !(cfg.HorizonYears > 0 && cfg.HorizonYears <= HorizonYearsMax):
		return nil, fmt.Errorf("%w: horizon %g years, want (0, %g]", ErrInvalidConfig, cfg.HorizonYears, HorizonYearsMax)
	case n < 1 || n > UnderlyingsMax:
		return nil, fmt.Errorf("%w: %d underlyings, want 1..%d", ErrInvalidConfig, n, UnderlyingsMax)
	case cfg.Scenarios*n > SetCellsMax:
		return nil, fmt.Errorf("%w: %d scenarios × %d underlyings exceed %d cells", ErrInvalidConfig, cfg.Scenarios, n, SetCellsMax)
	case cfg.Correlation != nil && cfg.Correlation.N() != n:
		return nil, fmt.Errorf("%w: correlation is %d×%d for %d underlyings", ErrInvalidConfig, cfg.Correlation.N(), cfg.Correlation.N(), n)
	case cfg.StudentTDoF != 0 && (cfg.StudentTDoF < StudentTDoFMin || cfg.StudentTDoF > StudentTDoFMax):
		return nil, fmt.Errorf("%w: Student-t degrees of freedom %d, want 0 or %d..%d", ErrInvalidConfig, cfg.StudentTDoF, StudentTDoFMin, StudentTDoFMax)
	case !(cfg.VolOfVol >= 0 && cfg.VolOfVol <= VolOfVolMax):
		return nil, fmt.Errorf("%w: vol of vol %g, want [0, %g]", ErrInvalidConfig, cfg.VolOfVol, VolOfVolMax)
	case !(cfg.SpotVolCorr >= -1 && cfg.SpotVolCorr <= 1):
		return nil, fmt.Errorf("%w: spot-vol correlation %g, want [-1, 1]", ErrInvalidConfig, cfg.SpotVolCorr)
	}
	h := cfg.HorizonYears
	sqrtH := math.Sqrt(h)
	g := &MonteCarlo{
		key:       SeedKey(cfg.Seed),
		scenarios: cfg.Scenarios,
		n:         n,
		mu:        make([]float64, n),
		v:         make([]float64, n),
		nu:        cfg.StudentTDoF,
		nuMinus2:  float64(cfg.StudentTDoF - 2),
		volShocks: cfg.VolOfVol > 0,
		volA:      cfg.VolOfVol * sqrtH,
		volB:      -0.5 * cfg.VolOfVol * cfg.VolOfVol * h,
		rho:       cfg.SpotVolCorr,
		rhoC:      math.Sqrt(1 - float64(cfg.SpotVolCorr*cfg.SpotVolCorr)),
	}
	for u, s := range cfg.Vols {
		if !(s >= 0 && s <= VolMax) {
			return nil, fmt.Errorf("%w: vol %g of underlying %d, want [0, %g]", ErrInvalidConfig, s, u, VolMax)
		}
		g.mu[u] = -0.5 * s * s * h
		g.v[u] = s * sqrtH
	}
	if cfg.Correlation != nil {
		g.l = cfg.Correlation.L()
	}
	return g, nil
}

// Underlyings is the number of underlyings of each scenario.
func (g *MonteCarlo) Underlyings() int { return g.n }

// Scenarios is the configured number of scenarios (what Fill generates).
func (g *MonteCarlo) Scenarios() int { return g.scenarios }

// VolShocks reports whether the generator draws vol multipliers.
func (g *MonteCarlo) VolShocks() bool { return g.volShocks }

// NewSet allocates a set shaped for Fill: Scenarios × Underlyings, with vol
// multipliers when the generator has vol shocks.
func (g *MonteCarlo) NewSet() (*Set, error) {
	return NewSet(g.scenarios, g.n, g.volShocks, KindMonteCarlo)
}

// Scenario computes scenario idx alone: the log-returns x (len Underlyings) and, when
// volMul is not nil (len Underlyings), the vol multipliers (all 1 without vol
// shocks). It depends only on the configuration and idx, allocates nothing, and may
// run concurrently. Wrong slice lengths are a programming error and panic.
func (g *MonteCarlo) Scenario(idx uint64, x, volMul []float64) {
	n := g.n
	if len(x) != n || (volMul != nil && len(volMul) != n) {
		panic(fmt.Sprintf("scenario: Scenario needs slices of %d underlyings, got x %d, volMul %d", n, len(x), len(volMul)))
	}
	lo, hi := uint32(idx), uint32(idx>>32)
	// 1. Market normals z into x.
	g.normals(StreamMarket, lo, hi, x)
	// 2. ẑ = L·z in place, last row first (row u reads z_0..z_u only).
	if g.l != nil {
		for u := n - 1; u >= 0; u-- {
			row := g.l[u*n : u*n+u+1]
			zs := x[:u+1]
			var s float64
			for k, c := range row {
				s += float64(c * zs[k])
			}
			x[u] = s
		}
	}
	// 5. Vol shocks from the Gaussian ẑ, before the Student-t mixing.
	if volMul != nil {
		if g.volShocks {
			g.volShocksInto(lo, hi, x, volMul)
		} else {
			for u := range volMul {
				volMul[u] = 1
			}
		}
	}
	// 3. Student-t scale s = sqrt((ν−2)/W).
	scale := 1.0
	if g.nu > 0 {
		var w float64
		for b := 0; 4*b < g.nu; b++ {
			out := Philox4x32([4]uint32{uint32(b), StreamChiSquare, lo, hi}, g.key)
			m := min(4, g.nu-4*b)
			for j := 0; j < m; j++ {
				z := InvNorm(Uniform(out[j]))
				w += float64(z * z)
			}
		}
		scale = math.Sqrt(g.nuMinus2 / w)
	}
	// 4. Log-returns.
	mu, v := g.mu[:n], g.v[:n]
	for u := range x {
		x[u] = mu[u] + float64(v[u]*float64(scale*x[u]))
	}
}

// normals writes normals 0..len(dst)−1 of stream into dst.
func (g *MonteCarlo) normals(stream, lo, hi uint32, dst []float64) {
	n := len(dst)
	b := 0
	for ; 4*b+4 <= n; b++ {
		out := Philox4x32([4]uint32{uint32(b), stream, lo, hi}, g.key)
		d := dst[4*b : 4*b+4 : 4*b+4]
		d[0] = InvNorm(Uniform(out[0]))
		d[1] = InvNorm(Uniform(out[1]))
		d[2] = InvNorm(Uniform(out[2]))
		d[3] = InvNorm(Uniform(out[3]))
	}
	if 4*b < n {
		out := Philox4x32([4]uint32{uint32(b), stream, lo, hi}, g.key)
		for j := 0; 4*b+j < n; j++ {
			dst[4*b+j] = InvNorm(Uniform(out[j]))
		}
	}
}

// volShocksInto writes volMul_u = exp(a·z_v + b), z_v = ρ·ẑ_u + sqrt(1−ρ²)·ε_u.
func (g *MonteCarlo) volShocksInto(lo, hi uint32, zhat, volMul []float64) {
	n := len(zhat)
	for b := 0; 4*b < n; b++ {
		out := Philox4x32([4]uint32{uint32(b), StreamVolShock, lo, hi}, g.key)
		m := min(4, n-4*b)
		for j := 0; j < m; j++ {
			u := 4*b + j
			eps := InvNorm(Uniform(out[j]))
			zv := float64(g.rho*zhat[u]) + float64(g.rhoC*eps)
			volMul[u] = expRef(float64(g.volA*zv) + g.volB)
		}
	}
}

// Fill generates scenarios 0..Scenarios−1 into set (from NewSet: Scenarios ×
// Underlyings; a VolMul block is filled when present), split into contiguous ranges
// over workers goroutines (clamped to [1, WorkersMax]). Each row is Scenario(i), so
// the result is the same bit for bit for any number of workers. A set of the wrong
// shape is a programming error and panics.
func (g *MonteCarlo) Fill(set *Set, workers int) {
	if set == nil || set.Scenarios != g.scenarios || set.Underlyings != g.n ||
		len(set.X) != g.scenarios*g.n || (set.VolMul != nil && len(set.VolMul) != len(set.X)) {
		panic("scenario: Fill needs a set from MonteCarlo.NewSet")
	}
	if len(set.Kinds) != set.Scenarios {
		set.Kinds = make([]Kind, set.Scenarios)
	}
	workers = max(1, min(workers, WorkersMax, g.scenarios))
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			g.Scenario(uint64(i), set.Row(i), set.VolRow(i))
			set.Kinds[i] = KindMonteCarlo
		}
	}
	if workers == 1 {
		fill(0, g.scenarios)
		return
	}
	var wg sync.WaitGroup
	per, extra := g.scenarios/workers, g.scenarios%workers
	from := 0
	for w := 0; w < workers; w++ {
		to := from + per
		if w < extra {
			to++
		}
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			fill(from, to)
		}(from, to)
		from = to
	}
	wg.Wait()
}
