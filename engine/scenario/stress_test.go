package scenario

import (
	"errors"
	"math"
	"testing"
)

func TestStressGridPoints(t *testing.T) {
	cfg := DefaultStressConfig()
	vols := []float64{0.2, 0.5, 0}
	h := 2.0 / 252
	g, err := NewStressGrid(cfg, vols, h)
	if err != nil {
		t.Fatal(err)
	}
	if g.Points() != 16 || g.Underlyings() != 3 {
		t.Fatalf("points %d underlyings %d", g.Points(), g.Underlyings())
	}
	// SPAN risk-array order: (fraction of PSR, volMul, weight).
	want := [16][3]float64{
		{0, 1.25, 1}, {0, 0.75, 1},
		{1.0 / 3, 1.25, 1}, {1.0 / 3, 0.75, 1},
		{-1.0 / 3, 1.25, 1}, {-1.0 / 3, 0.75, 1},
		{2.0 / 3, 1.25, 1}, {2.0 / 3, 0.75, 1},
		{-2.0 / 3, 1.25, 1}, {-2.0 / 3, 0.75, 1},
		{1, 1.25, 1}, {1, 0.75, 1},
		{-1, 1.25, 1}, {-1, 0.75, 1},
		{3, 1, 0.35}, {-3, 1, 0.35},
	}
	for u, s := range vols {
		psr := 3 * s * math.Sqrt(h)
		if math.Abs(g.PriceScanRange(u)-psr) > 1e-15 {
			t.Errorf("PSR(%d) = %g, want %g", u, g.PriceScanRange(u), psr)
		}
		for p, w := range want {
			x, vm, wt := g.Point(u, p)
			if math.Abs(x-w[0]*psr) > 1e-15 || vm != w[1] || wt != w[2] {
				t.Errorf("u%d p%d = (%g, %g, %g), want (%g, %g, %g)", u, p, x, vm, wt, w[0]*psr, w[1], w[2])
			}
		}
	}
	// Worst weighted loss, floored at zero.
	losses := make([]float64, 16)
	losses[12] = 10 // down 3/3
	losses[15] = 40 // extreme down: 0.35·40 = 14 is worse
	if r := g.ScanRisk(0, losses); r != 14 {
		t.Errorf("ScanRisk = %g, want 14", r)
	}
	losses[15] = 20 // 7 < 10
	if r := g.ScanRisk(0, losses); r != 10 {
		t.Errorf("ScanRisk = %g, want 10", r)
	}
	for i := range losses {
		losses[i] = -1
	}
	if r := g.ScanRisk(0, losses); r != 0 {
		t.Errorf("ScanRisk of gains = %g, want 0", r)
	}
	defer func() {
		if recover() == nil {
			t.Error("ScanRisk with 3 losses did not panic")
		}
	}()
	g.ScanRisk(0, losses[:3])
}

func TestStressGridValidation(t *testing.T) {
	vols := []float64{0.2}
	bad := []func(*StressConfig){
		func(c *StressConfig) { c.ScanSigmas = 0 },
		func(c *StressConfig) { c.ScanSigmas = math.NaN() },
		func(c *StressConfig) { c.ScanSigmas = ScanSigmasMax + 1 },
		func(c *StressConfig) { c.VolScan = 1 },
		func(c *StressConfig) { c.VolScan = -0.1 },
		func(c *StressConfig) { c.ExtremeMultiple = 0.5 },
		func(c *StressConfig) { c.ExtremeMultiple = ExtremeMultipleMax + 1 },
		func(c *StressConfig) { c.ExtremeWeight = 1.5 },
		func(c *StressConfig) { c.ExtremeWeight = math.NaN() },
	}
	for i, mut := range bad {
		cfg := DefaultStressConfig()
		mut(&cfg)
		if _, err := NewStressGrid(cfg, vols, 1.0/252); !errors.Is(err, ErrInvalidStress) {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
	cfg := DefaultStressConfig()
	for _, c := range []struct {
		vols []float64
		h    float64
	}{{nil, 0.01}, {[]float64{-0.1}, 0.01}, {[]float64{math.NaN()}, 0.01}, {vols, 0}, {vols, math.Inf(1)}} {
		if _, err := NewStressGrid(cfg, c.vols, c.h); !errors.Is(err, ErrInvalidStress) {
			t.Errorf("vols %v h %g: err = %v", c.vols, c.h, err)
		}
	}
}
