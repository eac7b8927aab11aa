package tail

import (
	"math"
	"slices"

	"math/rand/v2"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/vec"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// BenchmarkCompute: full VaR/ES of 10,000 Gaussian losses (KES 250,
// KVaR 100).
func BenchmarkCompute(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, 10000)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	spec := Spec{KVaR: 100, KES: 250}
	sc := NewScratch(len(v))
	b.ReportAllocs()
	for b.Loop() {
		Compute(v, spec, sc)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "vectors/s")
}

// BenchmarkAccountReset: building an Account summary from 10,000 losses
// of the realistic market (KES 250, KVaR 100), once per account per risk
// epoch, reusing the Account as the epoch runner does.
func BenchmarkAccountReset(b *testing.B) {
	m := newMarket(1, 10000)
	var a Account
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Reset(m.acct.l, m.spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkAccountResetWith: Reset with the caller's Scratch, over several
// accounts' vectors in turn (as a worker indexing an epoch sees them).
func BenchmarkAccountResetWith(b *testing.B) {
	var ls [][]float64
	var spec Spec
	for seed := range uint64(8) {
		m := newMarket(seed+1, 10000)
		ls, spec = append(ls, m.acct.l), m.spec
	}
	var a Account
	sc := NewScratch(10000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := a.ResetWith(ls[i%len(ls)], spec, sc); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkPostTrade: the pre-trade kernel on the realistic market (10,000
// scenarios, 20 correlated underlyings, linear and convex instruments, an
// account of 20 positions), orders of the given fraction of a position,
// adding or reducing at random. Reports ns/op and HDR percentiles of the
// per-call latency.
func BenchmarkPostTrade(b *testing.B) {
	m := newMarket(1, 10000)
	for _, c := range []struct {
		name     string
		lo, hi   float64
		ordersMx int
	}{
		{"size=1%", 0.01, 0.01, 1024},
		{"size=10%", 0.1, 0.1, 1024},
		{"size=100%", 1, 1, 1024},
		{"size=1-100%", 0.01, 1, 1024},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 3))
			ins := make([]*Instrument, c.ordersMx)
			qs := make([]float64, c.ordersMx)
			for i := range ins {
				// Log-uniform fraction between lo and hi.
				f := c.lo * pow(c.hi/c.lo, r.Float64())
				ins[i], qs[i] = m.order(r, f)
			}
			sc := NewScratch(m.n)
			rec := latency.NewRecorder()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k := i % len(ins)
				t0 := time.Now()
				PostTrade(m.acct, ins[k], qs[k], sc)
				rec.Record(int64(time.Since(t0)))
				i++
			}
			reportLatency(b, rec)
		})
	}
}

// BenchmarkPostTradeMulti: a basket of four what-if orders of 1-10 % of a
// position each.
func BenchmarkPostTradeMulti(b *testing.B) {
	m := newMarket(1, 10000)
	r := rand.New(rand.NewPCG(4, 5))
	baskets := make([][]Leg, 256)
	for i := range baskets {
		for range 4 {
			in, q := m.order(r, 0.01*pow(10, r.Float64()))
			baskets[i] = append(baskets[i], Leg{in, q})
		}
	}
	sc := NewScratch(m.n)
	rec := latency.NewRecorder()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		legs := baskets[i%len(baskets)]
		t0 := time.Now()
		PostTradeMulti(m.acct, legs, sc)
		rec.Record(int64(time.Since(t0)))
		i++
	}
	reportLatency(b, rec)
}

func reportLatency(b *testing.B, rec *latency.Recorder) {
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
	b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

func pow(x, y float64) float64 { return math.Pow(x, y) }

// checkCandidates returns a copy of the candidates postTrade hands to
// finish for one order, collected as postTrade collects them.
func checkCandidates(a *Account, in *Instrument, q float64, sc *Scratch) []float64 {
	n := len(a.l)
	sc.grow(n)
	kmax := a.spec.Kmax()
	lgs := []leg{newLeg(in, q, n)}
	cand := sc.cand[:n]
	gatherPost(cand[:kmax], a.ls, lgs, a.order)
	t := math.Inf(1)
	for _, v := range cand[:kmax] {
		t = min(t, v)
	}
	lo := prefixEnd(a.ls, kmax, lgs, t)
	if lo == len(a.order) && len(a.order) < n {
		pv := materialise(a.l, []Leg{{in, q}})
		smp := make([]float64, sampleSize)
		stride := n / sampleSize
		for i := range smp {
			smp[i] = pv[i*stride+stride/2]
		}
		g := max(t, sampleThreshold(smp, kmax, n))
		c := vec.Filter(cand, pv, g)
		if c < kmax {
			c = vec.Filter(cand, pv, t)
		}
		return slices.Clone(cand[:c])
	}
	w := cand[kmax:lo]
	gatherPost(w, a.ls[kmax:lo], lgs, a.order[kmax:lo])
	c := kmax + vec.Filter(w, w, t)
	return slices.Clone(cand[:c])
}

// BenchmarkFinish: the last step of a check alone (VaR and ES from the
// candidates), on the candidates of orders of the given size.
func BenchmarkFinish(b *testing.B) {
	m := newMarket(1, 10000)
	for _, c := range []struct {
		name string
		frac float64
	}{{"size=1%", 0.01}, {"size=10%", 0.1}, {"size=100%", 1}} {
		b.Run(c.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, 3))
			sc := NewScratch(m.n)
			var sets [][]float64
			total := 0
			for range 256 {
				in, q := m.order(r, c.frac)
				s := checkCandidates(m.acct, in, q, sc)
				sets = append(sets, s)
				total += len(s)
			}
			rec := latency.NewRecorder()
			i := 0
			for b.Loop() {
				s := sets[i%len(sets)]
				t0 := time.Now()
				finish(s, m.spec, sc)
				rec.Record(int64(time.Since(t0)))
				i++
			}
			b.ReportMetric(float64(total)/float64(len(sets)), "cands")
			reportLatency(b, rec)
		})
	}
}
