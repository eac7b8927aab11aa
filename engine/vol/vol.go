// Package vol holds Ballast's per-underlying implied volatility smile.
//
// # Parametrisation
//
// One raw SVI slice (Gatheral 2004) per expiry T gives the total implied
// variance w = σ_imp²·T as a function of the log-moneyness k = ln(K/F), F
// the forward to that expiry:
//
//	w(k) = a + b·(ρ·(k − m) + √((k − m)² + σ²))
//
// with b ≥ 0, |ρ| < 1, σ > 0 and a + b·σ·√(1−ρ²) ≥ 0 (the minimum of w,
// so w ≥ 0 everywhere), and Lee's wing bound b·(1 + |ρ|) ≤ 2. Between
// expiries the total variance is interpolated linearly in T at fixed k;
// before the first and after the last expiry the implied volatility is held
// flat in T at fixed k (w scales with T). A surface must be free of
// calendar arbitrage: at every k, w may not decrease from one expiry to the
// next. NewSurface checks this on a grid of k (kGridMax, kGridStep) and on
// both wings' slopes, and names the offending slices. A flat surface has
// one volatility for every k and T.
//
// Surfaces are immutable once built; a running engine that receives a new
// smile builds a new *Surface and swaps the pointer, so readers never lock.
//
// # JSON
//
// One object per underlying, either SVI slices (t in years, any order; at
// most slicesMax) or a flat volatility:
//
//	{"underlying":"AAPL","slices":[
//	  {"t":0.25,"a":0.01,"b":0.1,"rho":-0.4,"m":0.05,"sigma":0.2},
//	  {"t":1.0,"a":0.04,"b":0.12,"rho":-0.35,"m":0.05,"sigma":0.25}]}
//
//	{"underlying":"X","flat":0.25}
//
// Every field is required (exactly one of "slices" and "flat"); unknown
// fields, trailing data and documents over inputBytesMax are errors.
package vol

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

const (
	// slicesMax bounds the expiries of one surface.
	slicesMax = 64
	// kGridMax and kGridStep: the calendar-arbitrage check compares
	// adjacent slices at k = −kGridMax, …, +kGridMax (log-moneyness).
	kGridMax  = 6.0
	kGridStep = 0.01
	// calendarSlack tolerates rounding when two slices touch.
	calendarSlack = 1e-12
	// volMax bounds a flat volatility (per √year).
	volMax = 100.0
	// leeSlopeMax is Lee's bound on the wings' slope of total variance.
	leeSlopeMax = 2.0
	// mAbsMax, sigmaMax, aAbsMax and tYearsMax bound a slice's other
	// parameters to where w(k) is finite for every finite k of interest
	// (|k| far beyond kGridMax): a shift of 10 in log-moneyness is a factor
	// e^10 in strike, a total variance of 100 a volatility of 10/√T.
	mAbsMax   = 10.0
	sigmaMax  = 10.0
	aAbsMax   = 100.0
	tYearsMax = 100.0
)

// ErrInvalid is wrapped by every error this package returns for a bad
// surface or document.
var ErrInvalid = errors.New("vol: invalid surface")

// Slice is one expiry's raw SVI parameters.
type Slice struct {
	T     float64 // expiry in years, > 0
	A     float64 // vertical level of total variance
	B     float64 // wing slope, ≥ 0
	Rho   float64 // skew, in (−1, 1)
	M     float64 // horizontal shift in log-moneyness
	Sigma float64 // at-the-money curvature, > 0
}

// TotalVariance returns w(k) for this slice.
func (s *Slice) TotalVariance(k float64) float64 {
	d := k - s.M
	return s.A + s.B*(s.Rho*d+math.Sqrt(d*d+s.Sigma*s.Sigma))
}

// validate checks one slice's parameters.
func (s *Slice) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"t", s.T}, {"a", s.A}, {"b", s.B}, {"rho", s.Rho}, {"m", s.M}, {"sigma", s.Sigma}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: slice t=%g: %s = %g is not finite", ErrInvalid, s.T, f.name, f.v)
		}
	}
	switch {
	case !(s.T > 0) || s.T > tYearsMax:
		return fmt.Errorf("%w: slice t=%g: expiry must be in (0, %g] years", ErrInvalid, s.T, tYearsMax)
	case math.Abs(s.M) > mAbsMax:
		return fmt.Errorf("%w: slice t=%g: m = %g must be within ±%g", ErrInvalid, s.T, s.M, mAbsMax)
	case s.Sigma > sigmaMax:
		return fmt.Errorf("%w: slice t=%g: sigma = %g exceeds %g", ErrInvalid, s.T, s.Sigma, sigmaMax)
	case math.Abs(s.A) > aAbsMax:
		return fmt.Errorf("%w: slice t=%g: a = %g must be within ±%g", ErrInvalid, s.T, s.A, aAbsMax)
	case !(s.B >= 0):
		return fmt.Errorf("%w: slice t=%g: b = %g must be ≥ 0", ErrInvalid, s.T, s.B)
	case !(math.Abs(s.Rho) < 1):
		return fmt.Errorf("%w: slice t=%g: rho = %g must be in (−1, 1)", ErrInvalid, s.T, s.Rho)
	case !(s.Sigma > 0):
		return fmt.Errorf("%w: slice t=%g: sigma = %g must be > 0", ErrInvalid, s.T, s.Sigma)
	case s.A+s.B*s.Sigma*math.Sqrt(1-s.Rho*s.Rho) < 0:
		return fmt.Errorf("%w: slice t=%g: minimum total variance a + b·σ·√(1−ρ²) = %g is negative", ErrInvalid, s.T, s.A+s.B*s.Sigma*math.Sqrt(1-s.Rho*s.Rho))
	case s.B*(1+math.Abs(s.Rho)) > leeSlopeMax:
		return fmt.Errorf("%w: slice t=%g: wing slope b·(1+|ρ|) = %g exceeds Lee's bound %g", ErrInvalid, s.T, s.B*(1+math.Abs(s.Rho)), leeSlopeMax)
	}
	return nil
}

// Surface is an immutable volatility smile across expiries.
type Surface struct {
	slices []Slice // sorted by T, strictly increasing; empty when flat
	flat   float64
}

// NewSurface validates the slices (in any order) and builds a surface.
func NewSurface(in []Slice) (*Surface, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: no slices", ErrInvalid)
	}
	if len(in) > slicesMax {
		return nil, fmt.Errorf("%w: %d slices exceed the bound %d", ErrInvalid, len(in), slicesMax)
	}
	ss := slices.Clone(in)
	for i := range ss {
		if err := ss[i].validate(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(ss, func(x, y Slice) int {
		switch {
		case x.T < y.T:
			return -1
		case x.T > y.T:
			return 1
		}
		return 0
	})
	for i := 1; i < len(ss); i++ {
		if err := checkCalendar(&ss[i-1], &ss[i]); err != nil {
			return nil, err
		}
	}
	return &Surface{slices: ss}, nil
}

// checkCalendar reports calendar arbitrage between consecutive slices.
func checkCalendar(p, q *Slice) error {
	if p.T == q.T {
		return fmt.Errorf("%w: two slices with expiry t=%g", ErrInvalid, p.T)
	}
	steps := int(math.Round(2 * kGridMax / kGridStep))
	for i := 0; i <= steps; i++ {
		k := -kGridMax + float64(i)*kGridStep
		wp, wq := p.TotalVariance(k), q.TotalVariance(k)
		if wq < wp-calendarSlack*math.Max(1, wp) {
			return fmt.Errorf("%w: calendar arbitrage between slices t=%g and t=%g at k=%.2f: total variance falls from %g to %g", ErrInvalid, p.T, q.T, k, wp, wq)
		}
	}
	// Beyond the grid w is asymptotically linear with slopes b(1±ρ).
	if q.B*(1+q.Rho) < p.B*(1+p.Rho)-calendarSlack || q.B*(1-q.Rho) < p.B*(1-p.Rho)-calendarSlack {
		return fmt.Errorf("%w: calendar arbitrage between slices t=%g and t=%g in the wings: slope b(1±ρ) decreases", ErrInvalid, p.T, q.T)
	}
	return nil
}

// Flat returns a surface with one volatility vol (per √year, in
// [0, volMax]) for every strike and expiry.
func Flat(vol float64) (*Surface, error) {
	if !(vol >= 0 && vol <= volMax) {
		return nil, fmt.Errorf("%w: flat volatility %g outside [0, %g]", ErrInvalid, vol, volMax)
	}
	return &Surface{flat: vol}, nil
}

// IsFlat reports whether s is a flat surface.
func (s *Surface) IsFlat() bool { return len(s.slices) == 0 }

// FlatVol returns the volatility of a flat surface (0 otherwise).
func (s *Surface) FlatVol() float64 { return s.flat }

// Slices returns a copy of the slices, sorted by expiry (nil when flat).
func (s *Surface) Slices() []Slice { return slices.Clone(s.slices) }

// TotalVariance returns w(k, t) = σ_imp(k, t)²·t at log-moneyness
// k = ln(K/F) and expiry t in years; 0 for t ≤ 0.
func (s *Surface) TotalVariance(k, t float64) float64 {
	if !(t > 0) {
		return 0
	}
	if len(s.slices) == 0 {
		return s.flat * s.flat * t
	}
	ss := s.slices
	n := len(ss)
	switch {
	case t <= ss[0].T:
		return ss[0].TotalVariance(k) * (t / ss[0].T)
	case t >= ss[n-1].T:
		return ss[n-1].TotalVariance(k) * (t / ss[n-1].T)
	}
	// First slice with T ≥ t; ss[i-1].T < t ≤ ss[i].T.
	i, _ := slices.BinarySearchFunc(ss, t, func(x Slice, t float64) int {
		switch {
		case x.T < t:
			return -1
		case x.T > t:
			return 1
		}
		return 0
	})
	p, q := &ss[i-1], &ss[i]
	wp, wq := p.TotalVariance(k), q.TotalVariance(k)
	f := (t - p.T) / (q.T - p.T)
	return wp + f*(wq-wp)
}

// Vol returns the implied volatility σ_imp(k, t) per √year at log-moneyness
// k = ln(K/F) and expiry t in years. For t ≤ 0 it is the limit t → 0+,
// the first slice's volatility (flat extrapolation).
func (s *Surface) Vol(k, t float64) float64 {
	if len(s.slices) == 0 {
		return s.flat
	}
	if !(t > 0) {
		t = s.slices[0].T
	}
	return math.Sqrt(max(s.TotalVariance(k, t), 0) / t)
}
