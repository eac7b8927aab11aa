package pricing

import (
	"errors"
	"math"
	"testing"
)

// FuzzCompute: valid inputs never give NaN or ±Inf (ErrRange instead),
// invalid ones are errors, nothing panics, and Price, Prepare, Compute,
// ComputeBatch and ValuesAfterShocks agree.
func FuzzCompute(f *testing.F) {
	f.Add(uint8(1), uint8(1), 42.0, 40.0, 0.5, 0.1, 0.0, 0.2)
	f.Add(uint8(2), uint8(2), 20.0, 20.0, 1.0/3, 0.09, 0.0, 0.25)
	f.Add(uint8(1), uint8(2), 1e-300, 1e300, 1e3, 0.05, 0.0, 50.0)
	f.Add(uint8(1), uint8(1), 100.0, 100.0, 0.0, 0.05, 0.0, 0.0)
	f.Add(uint8(3), uint8(1), -1.0, 0.0, -1.0, math.NaN(), math.Inf(1), -0.1)
	f.Fuzz(func(t *testing.T, m, k uint8, S, K, T, r, q, sigma float64) {
		in := Inputs{Model: Model(m), Kind: Kind(k), S: S, K: K, T: T, R: r, Q: q, Sigma: sigma}
		g, err := Compute(in)
		isValid := valid(in.Model, in.Kind, S, K, T, r, q, sigma)
		// ComputeBatch agrees bit for bit, in a chunk with other
		// options around it.
		batch := append(benchMix(5), in)
		batch = append(batch, benchMix(3)...)
		outs := make([]Greeks, len(batch))
		berr := ComputeBatch(batch, outs)
		if !sameGreeks(outs[5], g) || (berr == nil) != (err == nil) {
			t.Fatalf("%+v: ComputeBatch %+v, %v; Compute %+v, %v", in, outs[5], berr, g, err)
		}
		switch {
		case err == nil:
			if !isValid {
				t.Fatalf("%+v: invalid inputs accepted", in)
			}
			if !allFinite(g) || g.Price < 0 {
				t.Fatalf("%+v: %+v", in, g)
			}
			if p, err := Price(in); err != nil || p != g.Price {
				t.Fatalf("%+v: Price %v, %v; Compute %v", in, p, err, g.Price)
			}
		case errors.Is(err, ErrInvalid):
			if isValid {
				t.Fatalf("%+v: valid inputs rejected: %v", in, err)
			}
			return
		case !errors.Is(err, ErrRange):
			t.Fatalf("%+v: unexpected error %v", in, err)
		}
		if p, err := Prepare(in); err == nil {
			xs := []float64{-0.3, -0.01, 0, 0.02, 0.1, 0.5, 701, -900}
			ex := make([]float64, len(xs))
			vms := make([]float64, len(xs))
			for i, x := range xs {
				ex[i] = Exp(x)
				vms[i] = sigma + float64(i)*0.25 // arbitrary, and 0 or negative at times
			}
			vals := make([]float64, len(xs))
			for _, vm := range [][]float64{nil, vms} {
				p.ValuesAfterShocks(xs, ex, vm, vals)
				for i, x := range xs {
					m := 1.0
					if vm != nil {
						m = vm[i]
					}
					if w := p.ValueAfterShock(x, m); !sameOrNaN(vals[i], w) {
						t.Fatalf("%+v: ValuesAfterShocks[%d] %v, ValueAfterShock(%v, %v) %v", in, i, vals[i], x, m, w)
					}
				}
			}
			v := p.Value()
			if math.IsNaN(v) || v < 0 || math.IsInf(v, 0) {
				t.Fatalf("%+v: Prepared value %v", in, v)
			}
			if w := p.ValueAfterShock(0.1, 1.5); math.IsNaN(w) || w < 0 {
				t.Fatalf("%+v: ValueAfterShock %v", in, w)
			}
		}
	})
}
