package scenario

import (
	"errors"
	"fmt"
	"math"
)

// StressPoints is the number of points per underlying of a StressGrid, as in CME
// SPAN's 16 risk-array scenarios.
const StressPoints = 16

// Bounds of a StressConfig.
const (
	ScanSigmasMax      = 20.0 // widest price scan range, in standard deviations over the horizon
	ExtremeMultipleMax = 10.0 // largest extreme move, in price scan ranges
)

// ErrInvalidStress wraps every validation failure of a stress grid.
var ErrInvalidStress = errors.New("scenario: invalid stress grid")

// StressConfig parameterises a SPAN-like stress grid.
type StressConfig struct {
	// ScanSigmas sets the price scan range PSR_u = ScanSigmas·σ_u·sqrt(h), a
	// log-return; in (0, ScanSigmasMax].
	ScanSigmas float64
	// VolScan is the relative vol move of the vol-up / vol-down points: volMul
	// 1+VolScan and 1−VolScan; in [0, 1).
	VolScan float64
	// ExtremeMultiple sets the extreme moves ±ExtremeMultiple·PSR at unchanged vol;
	// in [1, ExtremeMultipleMax].
	ExtremeMultiple float64
	// ExtremeWeight is the fraction of the extreme moves' loss that counts; in [0, 1].
	ExtremeWeight float64
}

// DefaultStressConfig is SPAN's usual grid: a 3σ price scan range, a 25% vol scan,
// extreme moves of 3 scan ranges counted at 35%.
func DefaultStressConfig() StressConfig {
	return StressConfig{ScanSigmas: 3, VolScan: 0.25, ExtremeMultiple: 3, ExtremeWeight: 0.35}
}

// stressMoves lists the 16 points in SPAN risk-array order: price move as a
// fraction of the price scan range, vol direction (+1 up, −1 down, 0 unchanged),
// and whether the point is an extreme move.
var stressMoves = [StressPoints]struct {
	frac    float64
	vol     int8
	extreme bool
}{
	{0, +1, false}, {0, -1, false},
	{+1.0 / 3, +1, false}, {+1.0 / 3, -1, false},
	{-1.0 / 3, +1, false}, {-1.0 / 3, -1, false},
	{+2.0 / 3, +1, false}, {+2.0 / 3, -1, false},
	{-2.0 / 3, +1, false}, {-2.0 / 3, -1, false},
	{+1, +1, false}, {+1, -1, false},
	{-1, +1, false}, {-1, -1, false},
	{+1, 0, true}, {-1, 0, true},
}

// StressGrid is a SPAN-like stress grid: for each underlying u, 16 points
// (log-return x, vol multiplier, weight), in SPAN risk-array order:
//
//	p  0, 1: price unchanged,   vol up, down
//	p  2, 3: price up 1/3 PSR,  vol up, down
//	p  4, 5: price down 1/3,    vol up, down
//	p  6, 7: up 2/3;  p 8, 9: down 2/3
//	p 10,11: up 3/3;  p 12,13: down 3/3   (all weight 1)
//	p 14,15: up, down ExtremeMultiple·PSR at unchanged vol, weight ExtremeWeight
//
// with PSR_u = ScanSigmas·σ_u·sqrt(h) and vol up/down = volMul 1±VolScan. The moves
// have no drift. The engine revalues each underlying's positions at each point,
// takes per underlying the worst weighted loss over the points (floored at zero:
// gains earn no credit) and sums across underlyings with no diversification credit,
// the SPAN scan-risk convention ([StressGrid.ScanRisk]). It is immutable.
type StressGrid struct {
	cfg StressConfig
	psr []float64
}

// NewStressGrid builds the grid for underlyings with annualised vols (each in
// [0, VolMax], 1..UnderlyingsMax of them) over a horizon of h years
// (in (0, HorizonYearsMax]).
func NewStressGrid(cfg StressConfig, vols []float64, h float64) (*StressGrid, error) {
	switch {
	case !(cfg.ScanSigmas > 0 && cfg.ScanSigmas <= ScanSigmasMax):
		return nil, fmt.Errorf("%w: scan sigmas %g, want (0, %g]", ErrInvalidStress, cfg.ScanSigmas, ScanSigmasMax)
	case !(cfg.VolScan >= 0 && cfg.VolScan < 1):
		return nil, fmt.Errorf("%w: vol scan %g, want [0, 1)", ErrInvalidStress, cfg.VolScan)
	case !(cfg.ExtremeMultiple >= 1 && cfg.ExtremeMultiple <= ExtremeMultipleMax):
		return nil, fmt.Errorf("%w: extreme multiple %g, want [1, %g]", ErrInvalidStress, cfg.ExtremeMultiple, ExtremeMultipleMax)
	case !(cfg.ExtremeWeight >= 0 && cfg.ExtremeWeight <= 1):
		return nil, fmt.Errorf("%w: extreme weight %g, want [0, 1]", ErrInvalidStress, cfg.ExtremeWeight)
	case !(h > 0 && h <= HorizonYearsMax):
		return nil, fmt.Errorf("%w: horizon %g years, want (0, %g]", ErrInvalidStress, h, HorizonYearsMax)
	case len(vols) < 1 || len(vols) > UnderlyingsMax:
		return nil, fmt.Errorf("%w: %d underlyings, want 1..%d", ErrInvalidStress, len(vols), UnderlyingsMax)
	}
	g := &StressGrid{cfg: cfg, psr: make([]float64, len(vols))}
	sqrtH := math.Sqrt(h)
	for u, s := range vols {
		if !(s >= 0 && s <= VolMax) {
			return nil, fmt.Errorf("%w: vol %g of underlying %d, want [0, %g]", ErrInvalidStress, s, u, VolMax)
		}
		g.psr[u] = cfg.ScanSigmas * s * sqrtH
	}
	return g, nil
}

// Underlyings is the number of underlyings.
func (g *StressGrid) Underlyings() int { return len(g.psr) }

// Points is the number of points per underlying (StressPoints).
func (g *StressGrid) Points() int { return StressPoints }

// PriceScanRange is PSR_u, as a log-return.
func (g *StressGrid) PriceScanRange(u int) float64 { return g.psr[u] }

// Point returns point p (0..Points()−1) of underlying u: the log-return x, the vol
// multiplier and the weight of its loss. Out-of-range u or p panic.
func (g *StressGrid) Point(u, p int) (x, volMul, weight float64) {
	m := stressMoves[p]
	psr := g.psr[u]
	switch {
	case m.extreme:
		return m.frac * g.cfg.ExtremeMultiple * psr, 1, g.cfg.ExtremeWeight
	case m.vol > 0:
		return m.frac * psr, 1 + g.cfg.VolScan, 1
	default:
		return m.frac * psr, 1 - g.cfg.VolScan, 1
	}
}

// ScanRisk is one underlying's scan risk: the largest weight_p·losses[p] over the
// Points() points (losses positive, gains negative), floored at zero. losses must
// have Points() entries (else it panics). The stress-grid requirement of a
// portfolio is the sum of ScanRisk over its underlyings.
func (g *StressGrid) ScanRisk(u int, losses []float64) float64 {
	if len(losses) != StressPoints {
		panic(fmt.Sprintf("scenario: ScanRisk needs %d losses, got %d", StressPoints, len(losses)))
	}
	worst := 0.0
	for p, l := range losses {
		_, _, w := g.Point(u, p)
		worst = math.Max(worst, w*l)
	}
	return worst
}
