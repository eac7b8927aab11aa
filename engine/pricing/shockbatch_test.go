package pricing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// shockCases returns prepared options covering the grid, the benchmark
// book and extreme inputs, and shocks covering ordinary moves, the
// exponential's range limits and non-finite values.
func shockCases(t *testing.T) ([]Prepared, []float64) {
	var ins []Inputs
	grid(func(in Inputs) { ins = append(ins, in) })
	ins = append(ins, benchMix(500)...)
	for _, S := range []float64{1e-300, 1e-10, 1, 1e10, 1e300} {
		for _, K := range []float64{1e-300, 1, 1e300} {
			for _, T := range []float64{0, 1e-300, 1e-12, 1, 1e3} {
				for _, sig := range []float64{0, 1e-8, 0.3, 50} {
					ins = append(ins, bs(Call, S, K, T, 0.05, 0.02, sig), b76(Put, S, K, T, -0.5, sig), bs(Put, S, K, T, 0.5, -0.1, sig), b76(Call, S, K, T, 0, sig))
				}
			}
		}
	}
	var ps []Prepared
	for _, in := range ins {
		if p, err := Prepare(in); err == nil {
			ps = append(ps, p)
		}
	}
	rng := rand.New(rand.NewPCG(31, 32))
	xs := []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, 700, -700, 700.5, -700.5, 745, -745, 1e6, -1e6, math.MaxFloat64, -math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()}
	for len(xs) < 4000 {
		switch rng.IntN(4) {
		case 0:
			xs = append(xs, 0.03*rng.NormFloat64())
		case 1:
			xs = append(xs, 0.3*rng.NormFloat64())
		case 2:
			xs = append(xs, (rng.Float64()-0.5)*math.Pow(10, 6*rng.Float64()-3))
		default:
			xs = append(xs, (rng.Float64()-0.5)*1600)
		}
	}
	return ps, xs
}

// same reports whether a and b are the same float64, bit for bit (NaNs
// compare by their bits too).
func same(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

// TestValuesAfterShocksBitIdentical: every element equals ValueAfterShock
// bit for bit, for every length (full lane groups and the remainder), with
// and without vol multipliers.
func TestValuesAfterShocksBitIdentical(t *testing.T) {
	ps, xs := shockCases(t)
	rng := rand.New(rand.NewPCG(33, 34))
	vms := make([]float64, len(xs))
	for i := range vms {
		switch i % 7 {
		case 0:
			vms[i] = 1
		case 1:
			vms[i] = 0
		case 2:
			vms[i] = []float64{-1, math.NaN(), 1e-300, 1e300, math.MaxFloat64, math.Inf(1)}[i%6]
		default:
			vms[i] = 0.5 + rng.Float64()
		}
	}
	ex := make([]float64, len(xs))
	for i, x := range xs {
		ex[i] = Exp(x)
	}
	out := make([]float64, len(xs))
	checked := 0
	for pi := range ps {
		p := &ps[pi]
		// A window of the shocks, of a length that varies with the option
		// (0 to 67: empty, partial and several full lane groups).
		n := pi % 68
		o := (pi * 53) % (len(xs) - n)
		x, e, vm, o2 := xs[o:o+n], ex[o:o+n], vms[o:o+n], out[:n]
		for _, withVM := range []bool{false, true} {
			if withVM {
				p.ValuesAfterShocks(x, e, vm, o2)
			} else {
				p.ValuesAfterShocks(x, e, nil, o2)
			}
			for i := range n {
				m := 1.0
				if withVM {
					m = vm[i]
				}
				if want := p.ValueAfterShock(x[i], m); !sameOrNaN(o2[i], want) {
					t.Fatalf("option %d %+v: element %d (x=%v, volMul=%v): %v, ValueAfterShock %v", pi, *p, i, x[i], m, o2[i], want)
				}
				checked++
			}
		}
	}
	// Every option on every shock, volMul nil, in one call.
	for pi := range ps {
		p := &ps[pi]
		p.ValuesAfterShocks(xs, ex, nil, out)
		for i, x := range xs {
			if want := p.ValueAfterShock(x, 1); !sameOrNaN(out[i], want) {
				t.Fatalf("option %d %+v: x=%v: %v, ValueAfterShock %v", pi, *p, x, out[i], want)
			}
		}
		checked += len(xs)
	}
	t.Logf("%d options, %d revaluations compared", len(ps), checked)
}

func TestValuesAfterShocksLengths(t *testing.T) {
	p, err := Prepare(bs(Call, 100, 100, 1, 0.05, 0, 0.2))
	if err != nil {
		t.Fatal(err)
	}
	p.ValuesAfterShocks(nil, nil, nil, nil) // empty is fine
	for _, c := range []struct{ x, ex, vm, out []float64 }{
		{make([]float64, 3), make([]float64, 2), nil, make([]float64, 3)},
		{make([]float64, 3), make([]float64, 3), nil, make([]float64, 4)},
		{make([]float64, 3), make([]float64, 3), make([]float64, 1), make([]float64, 3)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("lengths %d %d %d %d: no panic", len(c.x), len(c.ex), len(c.vm), len(c.out))
				}
			}()
			p.ValuesAfterShocks(c.x, c.ex, c.vm, c.out)
		}()
	}
}

func TestValuesAfterShocksDoesNotAllocate(t *testing.T) {
	p, err := Prepare(bs(Put, 100, 95, 0.5, 0.03, 0.01, 0.25))
	if err != nil {
		t.Fatal(err)
	}
	x, ex, vm, out := make([]float64, 37), make([]float64, 37), make([]float64, 37), make([]float64, 37)
	for i := range x {
		x[i] = 0.01 * float64(i-18)
		ex[i] = Exp(x[i])
		vm[i] = 1 + 0.01*float64(i)
	}
	if n := testing.AllocsPerRun(1000, func() {
		p.ValuesAfterShocks(x, ex, nil, out)
		p.ValuesAfterShocks(x, ex, vm, out)
		sinkF += out[3]
	}); n != 0 {
		t.Fatalf("ValuesAfterShocks allocates %v times per call", n)
	}
}

func TestExpIsExpFast(t *testing.T) {
	for x := -800.0; x < 800; x += 0.0137 {
		if !same(Exp(x), expFast(x)) {
			t.Fatalf("Exp(%v) = %v, expFast %v", x, Exp(x), expFast(x))
		}
	}
}
