package latency

import "testing"

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder()
	// 1..1000 µs: the percentiles are known to 3 significant digits.
	for i := int64(1); i <= 1000; i++ {
		r.Record(i * 1000)
	}
	if r.Count() != 1000 {
		t.Fatalf("Count = %d", r.Count())
	}
	near := func(got, want int64) bool { return got >= want && got <= want+want/500 }
	for _, c := range []struct {
		p    float64
		want int64
	}{{50, 500_000}, {99, 990_000}, {99.9, 999_000}, {100, 1_000_000}} {
		if got := r.Percentile(c.p); !near(got, c.want) {
			t.Errorf("p%v = %d, want %d (+0.2%%)", c.p, got, c.want)
		}
	}
	if got := r.Max(); !near(got, 1_000_000) {
		t.Errorf("Max = %d", got)
	}
	if r.Over() != 0 || r.Under() != 0 {
		t.Errorf("Over %d Under %d", r.Over(), r.Under())
	}
}

func TestRecorderOutOfRange(t *testing.T) {
	r := NewRecorder()
	r.Record(-5)
	r.Record(NsMax + 1)
	r.Record(0)
	if r.Under() != 1 || r.Over() != 1 || r.Count() != 2 {
		t.Fatalf("Under %d Over %d Count %d", r.Under(), r.Over(), r.Count())
	}
	if m := r.Max(); m < NsMax-NsMax/500 {
		t.Fatalf("an over-range sample is not recorded at the top: Max %d", m)
	}
	r.Reset()
	if r.Count() != 0 || r.Over() != 0 || r.Under() != 0 || r.Max() != 0 || r.Percentile(50) != 0 {
		t.Fatalf("after Reset: Count %d Over %d Under %d Max %d", r.Count(), r.Over(), r.Under(), r.Max())
	}
}

func TestRecorderRecordAllocs(t *testing.T) {
	r := NewRecorder()
	v := int64(0)
	if a := testing.AllocsPerRun(1000, func() {
		v += 7919
		r.Record(v)
		r.Record(-1)
		r.Record(NsMax * 2)
	}); a != 0 {
		t.Fatalf("Record: %v allocs", a)
	}
}

func BenchmarkRecorderRecord(b *testing.B) {
	r := NewRecorder()
	v := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		v = (v + 7919) & (1<<24 - 1)
		r.Record(v)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func TestRecorderZeroValueAndMerge(t *testing.T) {
	var a, b Recorder
	if a.Count() != 0 || a.Percentile(99) != 0 || a.Max() != 0 {
		t.Fatal("zero Recorder not empty")
	}
	a.Record(1000)
	b.Record(3000)
	b.Record(-1)
	a.Merge(&b)
	if a.Count() != 2 || a.Max() != 3000 || a.Under() != 1 {
		t.Fatalf("merged: Count %d Max %d Under %d", a.Count(), a.Max(), a.Under())
	}
	if p := a.Percentile(75); p < 3000 || p > 3003 {
		t.Fatalf("merged p75 = %d, want about 3000", p)
	}
}
