package fxp

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/pricing"
	"github.com/ballast-risk/ballast/engine/tail"
)

// bruteTail sorts a copy.
func bruteTail(l []int64, kVaR, kES int) (int64, int64, int64) {
	s := slices.Clone(l)
	slices.Sort(s)
	slices.Reverse(s)
	var es, sum int64
	for _, v := range s[:kES] {
		es += v
	}
	for _, v := range s {
		sum += v
	}
	return s[kVaR-1], es, sum
}

func TestTailSumsMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for trial := range 400 {
		n := 1 + r.IntN(20000)
		if trial%4 == 0 {
			n = 1 + r.IntN(40)
		}
		l := make([]int64, n)
		switch trial % 5 {
		case 0: // heavy ties: many zero losses (out-of-the-money options)
			for i := range l {
				if r.IntN(3) == 0 {
					l[i] = r.Int64N(100) - 50
				}
			}
		case 1: // sorted ascending: adversarial for naive pivots
			for i := range l {
				l[i] = int64(i)
			}
		case 2: // sorted descending
			for i := range l {
				l[i] = int64(n - i)
			}
		default:
			for i := range l {
				l[i] = int64(r.NormFloat64()*1e9) + r.Int64N(3)
			}
		}
		kVaR, kES := 1+r.IntN(n), 1+r.IntN(n)
		if trial%2 == 0 {
			kVaR, kES = max(1, n/100), max(1, n*25/1000)
		}
		orig := slices.Clone(l)
		scratch := make([]int64, n)
		v, e, s := TailSums(l, kVaR, kES, scratch)
		wv, we, ws := bruteTail(l, kVaR, kES)
		if v != wv || e != we || s != ws {
			t.Fatalf("trial %d n=%d k=%d,%d: got %d %d %d, want %d %d %d", trial, n, kVaR, kES, v, e, s, wv, we, ws)
		}
		if !slices.Equal(l, orig) {
			t.Fatal("TailSums modified its input")
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("TailSums with kES = 0 must panic")
		}
	}()
	TailSums([]int64{1}, 1, 0, make([]int64, 1))
}

// randPortfolio draws instruments on the underlyings and accounts holding a
// few of them.
func randPortfolio(r *rand.Rand, u int, spots []float64) ([]accel.Instrument, accel.Positions) {
	var ins []accel.Instrument
	for i := range 12 {
		k := i % u
		in := accel.Instrument{Underlying: uint32(k), S: spots[k], Carry: 1, Multiplier: []float64{1, 10, 100}[r.IntN(3)]}
		switch i % 4 {
		case 0:
			in.Kind = accel.Spot
		case 1:
			in.Kind = accel.Future
			in.T, in.R, in.Q = 0.5, 0.04, 0.01
			in.Carry = math.Exp((in.R - in.Q) * in.T)
		default:
			o := randOption(r)
			o.Underlying, o.S, o.Multiplier = uint32(k), spots[k], in.Multiplier
			o.K = o.S * math.Exp(r.NormFloat64()*0.15)
			if o.Model == accel.Black76 {
				o.Carry = math.Exp((o.R - o.Q) * (o.T + 0.1))
			}
			in = o
		}
		ins = append(ins, in)
	}
	pos := accel.Positions{Start: []uint32{0}}
	for range 6 {
		for range 2 + r.IntN(4) {
			pos.Instrument = append(pos.Instrument, uint32(r.IntN(len(ins))))
			pos.Qty = append(pos.Qty, float64(r.IntN(41)-20))
		}
		pos.Start = append(pos.Start, uint32(len(pos.Instrument)))
	}
	return ins, pos
}

// VaR and ES of random portfolios on 10,000 correlated scenarios, fixed
// point (Row, Value/ValueDGV, Loss, integer aggregation, TailSums) against
// float64 (scenario.MonteCarlo, pricing.ValueAfterShock or the float
// delta-gamma-vega model, engine/tail): within 0.1 % relative.
func TestVaRESMatchFloat(t *testing.T) {
	const n = 10000
	r := rand.New(rand.NewPCG(31, 32))
	worst := 0.0
	for _, name := range []string{"correlated", "student-t", "vol-shocks", "everything"} {
		sc := scenarioConfigs(t)[name]
		u := len(sc.Vols)
		spots := make([]float64, u)
		for k := range spots {
			spots[k] = 20 + 200*r.Float64()
		}
		ins, pos := randPortfolio(r, u, spots)
		sp, err := NewScenarioParams(&sc, u)
		if err != nil {
			t.Fatal(err)
		}
		g := referenceMC(t, &sc, u, n)
		ps := make([]*InstrumentParams, len(ins))
		preps := make([]pricing.Prepared, len(ins))
		ref := make([]accel.Greeks, len(ins))
		bound := make([]int64, len(ins))
		for i := range ins {
			ps[i] = mustParams(t, &ins[i])
			if ins[i].Kind >= accel.Call {
				preps[i], _ = pricing.Prepare(refInputs(&ins[i]))
			}
			ref[i] = refGreeks(t, &ins[i])
			bound[i] = ps[i].LossBound(sp.XAbsMax(), accel.DeltaGammaVega)
		}
		if err := CheckLossRange(bound, &pos, n); err != nil {
			t.Fatal(err)
		}
		for _, model := range []accel.LossModel{accel.FullRevaluation, accel.DeltaGammaVega} {
			a := pos.Accounts()
			fx := make([][]int64, a)
			fl := make([][]float64, a)
			for k := range fx {
				fx[k], fl[k] = make([]int64, n), make([]float64, n)
			}
			x, m := make([]int32, u), make([]uint32, u)
			xf, mf := make([]float64, u), make([]float64, u)
			li, lf := make([]int64, len(ins)), make([]float64, len(ins))
			for s := range n {
				sp.Row(uint64(s), x, m)
				g.Scenario(uint64(s), xf, mf)
				for i := range ins {
					in, p, k := &ins[i], ps[i], ins[i].Underlying
					if model == accel.DeltaGammaVega {
						li[i] = p.Loss(p.ValueDGV(x[k], m[k]))
					} else {
						li[i] = p.Loss(p.Value(x[k], m[k]))
					}
					switch {
					case in.Kind < accel.Call:
						lf[i] = -(in.S * in.Carry * math.Expm1(xf[k])) * in.Multiplier
					case model == accel.DeltaGammaVega:
						ds := in.S * math.Expm1(xf[k])
						dv := in.Sigma * (mf[k] - 1)
						gr := &ref[i]
						lf[i] = -(gr.Delta*ds + 0.5*gr.Gamma*ds*ds + gr.Vega*dv)
					default:
						lf[i] = -(preps[i].ValueAfterShock(xf[k], mf[k]) - preps[i].Value()) * in.Multiplier
					}
				}
				for acc := range a {
					var sx int64
					var sf float64
					for j := pos.Start[acc]; j < pos.Start[acc+1]; j++ {
						sx += int64(pos.Qty[j]) * li[pos.Instrument[j]]
						sf += pos.Qty[j] * lf[pos.Instrument[j]]
					}
					fx[acc][s], fl[acc][s] = sx, sf
				}
			}
			spec, _ := tail.NewSpec(n, 0.975, 0.99)
			scratch := make([]int64, n)
			var tsc tail.Scratch
			for acc := range a {
				v, e, sum := TailSums(fx[acc], spec.KVaR, spec.KES, scratch)
				want := tail.Compute(fl[acc], spec, &tsc)
				gotV, gotE := float64(v)*0x1p-12, float64(e)/float64(spec.KES)*0x1p-12
				scale := max(math.Abs(want.ES), 1e-9)
				dv, de := math.Abs(gotV-want.VaR)/scale, math.Abs(gotE-want.ES)/scale
				dm := math.Abs(float64(sum)*0x1p-12/n-tail.Mean(fl[acc])) / scale
				worst = max(worst, dv, de)
				if testing.Verbose() && max(dv, de) > 1e-6 {
					t.Logf("%s %v account %d: ΔVaR %.3g ΔES %.3g", name, model, acc, dv, de)
				}
				if dv > 1e-3 || de > 1e-3 || dm > 1e-3 {
					t.Errorf("%s %v account %d: VaR %v / %v, ES %v / %v, mean %v / %v", name, model, acc, gotV, want.VaR, gotE, want.ES, float64(sum)*0x1p-12/n, tail.Mean(fl[acc]))
				}
			}
		}
	}
	t.Logf("VaR/ES: max relative difference %.3g (bound 1e-3, relative to the float ES)", worst)
}

func TestCheckLossRange(t *testing.T) {
	pos := accel.Positions{Start: []uint32{0, 2, 3}, Instrument: []uint32{0, 1, 1}, Qty: []float64{10, -5, 3}}
	if err := CheckLossRange([]int64{1 << 40, 1 << 40}, &pos, 10000); err != nil {
		t.Errorf("small book rejected: %v", err)
	}
	err := CheckLossRange([]int64{1 << 50, 1 << 40}, &pos, 10000)
	var re *RangeError
	if !errors.As(err, &re) || re.Field != "account 0" {
		t.Errorf("overflowing account accepted or misnamed: %v", err)
	}
	if err := CheckLossRange([]int64{1}, &pos, 1); err == nil {
		t.Errorf("instrument index beyond the bounds accepted")
	}
}
