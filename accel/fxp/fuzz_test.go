package fxp

import (
	"errors"
	"math"
	"testing"

	"github.com/ballast-risk/ballast/accel"
)

// Any float inputs give instrument parameters or a *RangeError, never a
// panic; parameters give values in range at every clamp.
func FuzzNewInstrumentParams(f *testing.F) {
	f.Add(uint8(3), uint8(1), 100.0, 1.0, 105.0, 0.5, 0.03, 0.01, 0.25, 100.0)
	f.Add(uint8(4), uint8(2), 42.5, 1.004, 40.0, 1.0/12, 0.05, 0.0, 0.6, 10.0)
	f.Add(uint8(2), uint8(0), 2500.0, 1.012, 0.0, 0.25, 0.05, 0.002, 0.0, 50.0)
	f.Add(uint8(3), uint8(1), 100.0, 1.0, 100.0, 0.0, 0.0, 0.0, 0.0, 1.0)
	f.Add(uint8(4), uint8(1), 1e-300, 1.0, math.Inf(1), math.NaN(), -1.0, 2.0, 1e308, -1.0)
	f.Fuzz(func(t *testing.T, kind, model uint8, s, carry, k, T, r, q, sigma, mult float64) {
		in := accel.Instrument{Kind: accel.Kind(kind), Model: accel.Model(model), S: s, Carry: carry, K: k, T: T, R: r, Q: q, Sigma: sigma, Multiplier: mult}
		p, err := NewInstrumentParams(&in)
		if err != nil {
			var re *RangeError
			if !errors.As(err, &re) || !errors.Is(err, ErrRange) || re.Field == "" {
				t.Fatalf("error %v is not a RangeError", err)
			}
			return
		}
		for _, x := range []int32{-XMax, -1 << 20, 0, 1 << 26, XMax} {
			for _, m := range []uint32{MMin, MOne, MMax} {
				v := p.Value(x, m)
				if v < 0 || v >= VMax {
					t.Fatalf("Value(%d, %d) = %d out of range", x, m, v)
				}
				d := p.ValueDGV(x, m)
				if d-p.Value0() > VMax || p.Value0()-d > VMax {
					t.Fatalf("ValueDGV(%d, %d) = %d out of range", x, m, d)
				}
				if b := p.LossBound(XMax, accel.FullRevaluation); abs64(p.Loss(v)) > b {
					t.Fatalf("Loss %d beyond its bound %d", p.Loss(v), b)
				}
				if b := p.LossBound(XMax, accel.DeltaGammaVega); abs64(p.Loss(d)) > b {
					t.Fatalf("DGV loss %d beyond its bound %d", p.Loss(d), b)
				}
			}
		}
		g := p.AccelGreeks(p.Greeks())
		for _, v := range []float64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho, g.Vanna, g.Volga} {
			if !finite(v) {
				t.Fatalf("Greeks not finite: %+v", g)
			}
		}
	})
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Any scenario description gives parameters or a *RangeError; rows stay
// within XAbsMax and [MMin, MMax].
func FuzzNewScenarioParams(f *testing.F) {
	f.Add(uint64(1), 2, 1.0/252, 0.2, 0.3, 0.6, 0, 0.0, 0.0, uint64(0))
	f.Add(uint64(7), 2, 0.25, 1.5, 0.05, -0.9, 3, 2.0, -0.7, uint64(1)<<40)
	f.Add(uint64(9), 1, 10.0, 10.0, 0.0, 1.0, 64, 10.0, 1.0, uint64(12345))
	f.Add(uint64(0), 3, math.NaN(), math.Inf(1), -1.0, 2.0, 2, -1.0, 3.0, uint64(0))
	f.Fuzz(func(t *testing.T, seed uint64, u int, h, v0, v1, rho float64, nu int, eta, rsv float64, idx uint64) {
		if u < 0 || u > 8 {
			u = 2
		}
		vols := []float64{v0, v1, v0, v1, v1, v0, v0, v1}[:u]
		var chol []float64
		if u == 2 {
			chol = []float64{1, 0, rho, math.Sqrt(math.Abs(1 - rho*rho))}
		}
		sc := accel.Scenarios{Seed: seed, HorizonYears: h, Vols: vols, Cholesky: chol, StudentTDoF: nu, VolOfVol: eta, SpotVolCorr: rsv}
		p, err := NewScenarioParams(&sc, u)
		if err != nil {
			var re *RangeError
			if !errors.As(err, &re) || re.Field == "" {
				t.Fatalf("error %v is not a RangeError", err)
			}
			return
		}
		x, m := make([]int32, u), make([]uint32, u)
		for i := uint64(0); i < 8; i++ {
			p.Row(idx+i, x, m)
			for k := range x {
				if x[k] > p.XAbsMax() || -x[k] > p.XAbsMax() || m[k] < MMin {
					t.Fatalf("row %d: x %d (bound %d), m %d", idx+i, x[k], p.XAbsMax(), m[k])
				}
			}
		}
	})
}

// Host conversions of historical and stress inputs: any float gives a
// clamped value or a *RangeError.
func FuzzConvert(f *testing.F) {
	f.Add(0.1, 1.0)
	f.Add(-9.5, 300.0)
	f.Add(math.NaN(), -1.0)
	f.Add(0x1p-29, 0x1p-30)
	f.Fuzz(func(t *testing.T, x, m float64) {
		xq, err := XFromFloat(x)
		if err == nil && (xq > XMax || xq < -XMax || (finite(x) && math.Abs(float64(xq)*0x1p-27-min(max(x, -8), 8)) > 0x1p-28)) {
			t.Fatalf("XFromFloat(%v) = %d", x, xq)
		}
		if err != nil && finite(x) {
			t.Fatalf("XFromFloat(%v): %v", x, err)
		}
		mq, err := MFromFloat(m)
		if err == nil && (mq < MMin || !(m >= 0)) {
			t.Fatalf("MFromFloat(%v) = %d", m, mq)
		}
		if err != nil && finite(m) && m >= 0 {
			t.Fatalf("MFromFloat(%v): %v", m, err)
		}
	})
}
