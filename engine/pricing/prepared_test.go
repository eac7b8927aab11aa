package pricing

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPreparedMatchesPrice(t *testing.T) {
	grid(func(in Inputs) {
		p, err := Prepare(in)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if v := p.ValueAfterShock(0, 1); v != p.Value() {
			t.Fatalf("%+v: ValueAfterShock(0,1) = %v, Value = %v", in, v, p.Value())
		}
		want, _ := Price(in)
		if !near(p.Value(), want, 1e-12*math.Max(want, 1e-3*in.K)) {
			t.Errorf("%+v: Value %.17g, Price %.17g", in, p.Value(), want)
		}
		for _, x := range []float64{-0.5, -0.05, -0.001, 0.001, 0.05, 0.5} {
			for _, vm := range []float64{0.5, 1, 1.3} {
				shocked := in
				shocked.S = in.S * math.Exp(x)
				shocked.Sigma = in.Sigma * vm
				want, err := Price(shocked)
				if err != nil {
					t.Fatal(err)
				}
				got := p.ValueAfterShock(x, vm)
				// 1e-12 relative, or 1e-12 of the strike for prices that
				// are themselves negligible against it.
				if !near(got, want, 1e-12*math.Max(want, 1e-2*in.K)) {
					t.Errorf("%+v: ValueAfterShock(%v, %v) = %.17g, Price(shocked) = %.17g", in, x, vm, got, want)
				}
			}
		}
		// volMul = 0 is the deterministic forward.
		zero := in
		zero.S, zero.Sigma = in.S*math.Exp(0.1), 0
		want0, _ := Price(zero)
		if got := p.ValueAfterShock(0.1, 0); !near(got, want0, 1e-12*math.Max(want0, in.K)) {
			t.Errorf("%+v: ValueAfterShock(0.1, 0) = %v, want %v", in, got, want0)
		}
	})
}

// TestValueAfterShockTotal: any finite shock and volMul ≥ 0 gives a
// non-negative number (no NaN); +Inf only for a call whose value overflows.
func TestValueAfterShockTotal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	mix := benchMix(200)
	mix = append(mix, bs(Call, 1e-300, 1e300, 1e3, 0.05, 0, 50), bs(Put, 1e300, 1e-300, 1, -0.5, 0.5, 1e-8), b76(Put, 1, 1, 0, 0, 0))
	xs := []float64{0, -1e308, 1e308, -745, 745, -1e6, 1e6, math.SmallestNonzeroFloat64}
	vms := []float64{0, 1, 1e-300, 1e300, math.MaxFloat64, -1, math.NaN()}
	for _, in := range mix {
		p, err := Prepare(in)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		for i := 0; i < 300; i++ {
			x := (rng.Float64() - 0.5) * math.Pow(10, 4*rng.Float64()-2)
			vm := rng.ExpFloat64()
			if i < len(xs) {
				x = xs[i]
			}
			if i < len(vms) {
				vm = vms[i]
			}
			v := p.ValueAfterShock(x, vm)
			if math.IsNaN(v) || v < 0 || (math.IsInf(v, 1) && in.Kind == Put) {
				t.Fatalf("%+v: ValueAfterShock(%v, %v) = %v", in, x, vm, v)
			}
		}
	}
}

func TestValueAfterShockDoesNotAllocate(t *testing.T) {
	p, err := Prepare(bs(Put, 100, 95, 0.5, 0.03, 0.01, 0.25))
	if err != nil {
		t.Fatal(err)
	}
	x := 0.0
	if n := testing.AllocsPerRun(1000, func() { x += 1e-4; sinkF += p.ValueAfterShock(x, 1.1) }); n != 0 {
		t.Fatalf("ValueAfterShock allocates %v times per call", n)
	}
}
