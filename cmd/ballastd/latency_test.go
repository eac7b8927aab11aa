package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLatencyQuantiles compares the histogram's quantiles with exact ones.
func TestLatencyQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h latencyHist
	vals := make([]int64, 0, 100_000)
	for range cap(vals) {
		// Log-uniform from 1 ns to about 1 s.
		v := int64(math.Exp(rng.Float64() * math.Log(1e9)))
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	if h.Count() != uint64(len(vals)) || h.Max() != vals[len(vals)-1] {
		t.Fatalf("count %d max %d, want %d and %d", h.Count(), h.Max(), len(vals), vals[len(vals)-1])
	}
	for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		// HDR reports the highest value equivalent to the exact one at
		// three significant digits.
		if got < exact || float64(got-exact) > float64(exact)/1000+1 {
			t.Errorf("q%v = %d, exact %d: outside [exact, exact·1.001]", q, got, exact)
		}
	}
	if got := h.Quantile(1); got != h.Max() {
		t.Errorf("q1 = %d, want the max %d", got, h.Max())
	}
}

func TestLatencyEdges(t *testing.T) {
	var h latencyHist
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram not zero")
	}
	h.Record(-7) // a clock going backwards counts as 0
	if h.Quantile(1) != 0 || h.Count() != 1 {
		t.Fatalf("negative latency: q1 %d count %d", h.Quantile(1), h.Count())
	}
	h.Record(math.MaxInt64)
	if h.Max() != math.MaxInt64 || h.Quantile(1) != math.MaxInt64 || h.Quantile(0.5) != 0 {
		t.Fatalf("huge latency: max %d q1 %d q.5 %d", h.Max(), h.Quantile(1), h.Quantile(0.5))
	}
	var o latencyHist
	o.Record(1000)
	o.Record(3000)
	h.Merge(&o)
	if h.Count() != 4 || h.Max() != math.MaxInt64 {
		t.Fatalf("merge: count %d max %d", h.Count(), h.Max())
	}
	if q := h.Quantile(0.75); q < 3000 || q > 3003 {
		t.Fatalf("merged q.75 = %d, want about 3000", q)
	}
	h.Reset()
	if h.Count() != 0 || h.Max() != 0 || h.Quantile(0.99) != 0 {
		t.Fatal("reset histogram not empty")
	}
}

func TestLatencyRecordAllocs(t *testing.T) {
	var h latencyHist
	v := int64(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v = v*3 + 1 }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}

func BenchmarkLatencyRecord(b *testing.B) {
	var h latencyHist
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]int64, 4096)
	for i := range vals {
		vals[i] = rng.Int64N(1_000_000)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Record(vals[i&(len(vals)-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
