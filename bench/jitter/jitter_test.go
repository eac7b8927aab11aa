package jitter

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// feed runs synthetic clock readings through a tally the way spin does.
func feed(t *tally, reads ...int64) {
	t.start(reads[0])
	for _, r := range reads[1:] {
		t.observe(r)
	}
}

// syntheticReads are clock readings (ns) whose intervals are 40, 40, 1000
// (not a gap: gaps are longer than 1 µs), 1001, 40, 5000, 40, 50000,
// 1000000 (longer than 100 µs, not than 1 ms), 2000000.
var syntheticReads = []int64{100, 140, 180, 1180, 2181, 2221, 7221, 7261, 57_261, 1_057_261, 3_057_261}

func TestObserveAccounting(t *testing.T) {
	tl := newTally(64)
	feed(tl, syntheticReads...)
	wantGaps := []int64{1001, 5000, 50_000, 1_000_000, 2_000_000}
	if !reflect.DeepEqual(tl.gaps, wantGaps) {
		t.Fatalf("gaps %v, want %v", tl.gaps, wantGaps)
	}
	if tl.reads != 11 || tl.durationNs() != 3_057_161 || tl.max != 2_000_000 || tl.dropped != 0 || tl.hist.TotalCount() != 5 {
		t.Fatalf("reads %d, duration %d, max %d, dropped %d, histogram %d", tl.reads, tl.durationNs(), tl.max, tl.dropped, tl.hist.TotalCount())
	}
	// Over 1, 3, 10, 25, 100 µs and 1 ms.
	wantOver := [len(thresholdsNs)]uint64{5, 4, 3, 3, 2, 1}
	wantLost := [len(thresholdsNs)]int64{3_056_001, 3_055_000, 3_050_000, 3_050_000, 3_000_000, 2_000_000}
	if tl.over != wantOver || tl.lost != wantLost {
		t.Fatalf("over %v lost %v, want %v %v", tl.over, tl.lost, wantOver, wantLost)
	}

	r := resultOf(Options{Duration: 3 * time.Millisecond}, []*tally{tl})
	if r.Spinners != 1 || len(r.PerSpinner) != 1 || r.GapFloorNs != GapFloorNs || r.DurationNs != 3_000_000 {
		t.Fatalf("result %+v", r)
	}
	s := r.PerSpinner[0]
	if s.DurationNs != 3_057_161 || s.ClockReads != 11 || s.Gaps != 5 || s.MaxGapNs != 2_000_000 || s.GapsListed != 5 ||
		s.FloorSource != FloorExact || s.ReadNs != 3_057_161.0/11 {
		t.Fatalf("stats %+v", s)
	}
	for k, x := range s.Thresholds {
		if x.OverNs != thresholdsNs[k] || x.Gaps != wantOver[k] || x.LostNs != wantLost[k] ||
			x.PerSecond != float64(wantOver[k])/(3_057_161/1e9) || x.LostPct != 100*float64(wantLost[k])/3_057_161 {
			t.Errorf("threshold %d: %+v", k, x)
		}
	}
	// 1 % of 3 057 161 ns is 30 571: only the 2 ms gap matters, 2 000 000 − x ≤ 30 571.
	// 0.1 % is 3057: 2 000 000 − x ≤ 3057.
	if s.FloorP99Ns != 1_969_429 || s.FloorP999Ns != 1_996_943 {
		t.Fatalf("floors %d %d", s.FloorP99Ns, s.FloorP999Ns)
	}
	if s.FloorP99Ns != FloorOf(wantGaps, 3_057_161, 0.01) {
		t.Fatal("floor differs from FloorOf")
	}
	// HDR percentiles, 3 significant digits, capped at the exact maximum.
	if s.GapP50Ns != 50_015 || s.GapP99Ns != 2_000_000 || s.GapP999Ns != 2_000_000 {
		t.Fatalf("gap percentiles %d %d %d", s.GapP50Ns, s.GapP99Ns, s.GapP999Ns)
	}
	// One spinner: the combination is that spinner.
	if !reflect.DeepEqual(r.Combined, s) {
		t.Fatalf("combined %+v\nspinner %+v", r.Combined, s)
	}
}

func TestNoGaps(t *testing.T) {
	tl := newTally(8)
	feed(tl, 0, 30, 60, 1060)
	r := resultOf(Options{Duration: time.Microsecond}, []*tally{tl})
	s := r.Combined
	if s.Gaps != 0 || s.MaxGapNs != 0 || s.GapP50Ns != 0 || s.GapP999Ns != 0 || s.FloorP99Ns != 0 || s.FloorP999Ns != 0 ||
		s.Thresholds[0].LostPct != 0 || s.ClockReads != 4 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

// TestHistogramFallback overflows the exact list: the floors come from the
// histogram's buckets, at most 0.1 % (and 1 ns) above the exact ones.
func TestHistogramFallback(t *testing.T) {
	tl := newTally(3)
	reads := []int64{0}
	var gaps []int64
	for i, g := range []int64{1234, 56_789, 2_345_678, 4321, 98_765, 1_111_111, 7_654_321, 1500} {
		gaps = append(gaps, g)
		reads = append(reads, reads[len(reads)-1]+g, reads[len(reads)-1]+g+int64(30+i))
	}
	feed(tl, reads...)
	if len(tl.gaps) != 3 || tl.dropped != 5 || tl.exact() {
		t.Fatalf("listed %d, dropped %d", len(tl.gaps), tl.dropped)
	}
	r := resultOf(Options{Duration: time.Millisecond}, []*tally{tl})
	s := r.PerSpinner[0]
	if s.FloorSource != FloorHistogram || r.Combined.FloorSource != FloorHistogram || s.GapsListed != 3 || s.Gaps != 8 {
		t.Fatalf("stats %+v", s)
	}
	for _, c := range []struct {
		p   float64
		got int64
	}{{0.01, s.FloorP99Ns}, {0.001, s.FloorP999Ns}} {
		exact := FloorOf(gaps, tl.durationNs(), c.p)
		if c.got < exact || float64(c.got) > float64(exact)*1.001+1 {
			t.Errorf("p %v: histogram floor %d, exact %d", c.p, c.got, exact)
		}
	}
	if s.MaxGapNs != 7_654_321 {
		t.Fatalf("max %d", s.MaxGapNs)
	}
}

func TestCombination(t *testing.T) {
	a, b := newTally(16), newTally(16)
	feed(a, 0, 40, 2040, 2080, 102_080, 1_000_000) // gaps 2000, 100000, 897920
	feed(b, 10, 50, 30_050, 2_000_010)             // gaps 30000, 1969960
	r := resultOf(Options{Duration: 2 * time.Millisecond}, []*tally{a, b})
	c := r.Combined
	if r.Spinners != 2 || len(r.PerSpinner) != 2 {
		t.Fatalf("result %+v", r)
	}
	if c.DurationNs != 2_000_000 || c.ClockReads != 10 || c.Gaps != 5 || c.GapsListed != 5 || c.MaxGapNs != 1_969_960 ||
		c.ReadNs != 3_000_000.0/10 {
		t.Fatalf("combined %+v", c)
	}
	x := c.Thresholds[2] // over 10 µs: 100000, 897920, 30000, 1969960
	if x.Gaps != 4 || x.LostNs != 2_997_880 || x.PerSecond != 4/(2_000_000/1e9) || x.LostPct != 100*2_997_880.0/3_000_000 {
		t.Fatalf("over 10 µs %+v", x)
	}
	want99 := CombinedFloorOf([][]int64{a.gaps, b.gaps}, []int64{1_000_000, 2_000_000}, 0.01)
	if c.FloorP99Ns != want99 || c.FloorP99Ns < r.PerSpinner[0].FloorP99Ns || c.FloorP99Ns < r.PerSpinner[1].FloorP99Ns {
		t.Fatalf("combined floor %d (want %d), spinners %d %d", c.FloorP99Ns, want99, r.PerSpinner[0].FloorP99Ns, r.PerSpinner[1].FloorP99Ns)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	for _, c := range []struct {
		name    string
		listMax int
		step    int64
	}{{"no gaps", 16, 30}, {"gaps, listed", 1 << 12, 1500}, {"gaps, list full", 0, 20_000_000}} {
		tl := newTally(c.listMax)
		now := int64(0)
		tl.start(now)
		allocs := testing.AllocsPerRun(1000, func() {
			now += c.step
			tl.observe(now)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per read", c.name, allocs)
		}
		if c.step > GapFloorNs && tl.over[0] == 0 {
			t.Errorf("%s: no gap accounted", c.name)
		}
	}
}

func TestOptions(t *testing.T) {
	o, err := Options{}.normalize()
	if err != nil || o.Duration != DurationDefault || o.Spinners != SpinnersDefault {
		t.Fatalf("defaults %+v, %v", o, err)
	}
	for _, bad := range []Options{{Duration: -1}, {Duration: DurationMax + 1}, {Spinners: -1}, {Spinners: SpinnersLimit() + 1}, {Spinners: SpinnersMax + 1}} {
		if _, err := Measure(context.Background(), bad); !errors.Is(err, ErrOptions) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if l := SpinnersLimit(); l < 1 || l > SpinnersMax {
		t.Fatalf("limit %d", l)
	}
}

// checkResult checks a real measurement's structure and consistency (never
// its timing values).
func checkResult(t *testing.T, r Result, spinners int) {
	t.Helper()
	if r.Spinners != spinners || len(r.PerSpinner) != spinners || r.GapFloorNs != GapFloorNs || r.NumCPU < 1 || r.GOMAXPROCS < 1 {
		t.Fatalf("result %+v", r)
	}
	var reads, gaps uint64
	var wall int64
	for i, s := range append(append([]Stats(nil), r.PerSpinner...), r.Combined) {
		if s.DurationNs <= 0 || s.ClockReads < 2 || !(s.ReadNs > 0) || len(s.Thresholds) != len(thresholdsNs) {
			t.Errorf("stats %d: %+v", i, s)
		}
		if s.Gaps != s.Thresholds[0].Gaps || s.GapsListed != s.Gaps || s.FloorSource != FloorExact {
			t.Errorf("stats %d: gaps %d, listed %d, over 1 µs %d, %s", i, s.Gaps, s.GapsListed, s.Thresholds[0].Gaps, s.FloorSource)
		}
		for k, x := range s.Thresholds {
			if x.OverNs != thresholdsNs[k] || x.LostPct < 0 || x.PerSecond < 0 || (x.Gaps == 0) != (x.LostNs == 0) ||
				x.LostNs < int64(x.Gaps)*x.OverNs || (x.Gaps > 0 && x.LostNs > int64(x.Gaps)*s.MaxGapNs) {
				t.Errorf("stats %d threshold %d: %+v", i, k, x)
			}
			if k > 0 && (x.Gaps > s.Thresholds[k-1].Gaps || x.LostNs > s.Thresholds[k-1].LostNs) {
				t.Errorf("stats %d: threshold %d counts more than %d", i, k, k-1)
			}
		}
		if s.GapP50Ns > s.GapP99Ns || s.GapP99Ns > s.GapP999Ns || s.GapP999Ns > s.MaxGapNs ||
			s.FloorP99Ns > s.FloorP999Ns || s.FloorP999Ns > s.MaxGapNs || (s.Gaps == 0) != (s.MaxGapNs == 0) {
			t.Errorf("stats %d: percentiles or floors out of order: %+v", i, s)
		}
		if i < spinners {
			reads += s.ClockReads
			gaps += s.Gaps
			wall = max(wall, s.DurationNs)
			if r.Combined.FloorP99Ns < s.FloorP99Ns || r.Combined.FloorP999Ns < s.FloorP999Ns {
				t.Errorf("combined floors %d/%d below spinner %d's %d/%d", r.Combined.FloorP99Ns, r.Combined.FloorP999Ns,
					i, s.FloorP99Ns, s.FloorP999Ns)
			}
		}
	}
	if c := r.Combined; c.ClockReads != reads || c.Gaps != gaps || c.DurationNs != wall {
		t.Errorf("combined reads %d gaps %d duration %d, want %d %d %d", c.ClockReads, c.Gaps, c.DurationNs, reads, gaps, wall)
	}
}

func TestMeasure(t *testing.T) {
	for _, n := range []int{1, 2} {
		if n > SpinnersLimit() {
			t.Logf("%d spinners: only %d cores here", n, SpinnersLimit())
			continue
		}
		r, err := Measure(context.Background(), Options{Duration: 50 * time.Millisecond, Spinners: n})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, n)
		if r.DurationNs != int64(50*time.Millisecond) {
			t.Fatalf("requested duration %d", r.DurationNs)
		}
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"per_spinner":`, `"combined":`, `"floor_p99_ns":`, `"floor_p999_ns":`, `"gaps_per_s":`,
			`"lost_pct":`, `"max_gap_ns":`, `"gap_p999_ns":`, `"floor_source":"exact"`, `"clock_reads":`} {
			if !strings.Contains(string(js), key) {
				t.Errorf("JSON lacks %s", key)
			}
		}
		var back Result
		if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Fatalf("JSON round trip: %v", err)
		}
	}
}

func TestMeasureCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Measure(ctx, Options{Duration: DurationMax})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	// The spinner looks at its context after its first batch of reads.
	if r.Spinners != 1 || r.Combined.ClockReads != cancelEveryReads+1 {
		t.Fatalf("partial result %+v", r.Combined)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	r, err = Measure(ctx, Options{Duration: DurationMax, Spinners: min(2, SpinnersLimit())})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	checkResult(t, r, min(2, SpinnersLimit()))
	if r.Combined.DurationNs >= int64(DurationMax) {
		t.Fatalf("ran %d ns", r.Combined.DurationNs)
	}
}

func TestMarkdown(t *testing.T) {
	one := newTally(16)
	feed(one, syntheticReads...)
	r := resultOf(Options{Duration: 3 * time.Millisecond}, []*tally{one})
	md := r.Markdown()
	for _, want := range []string{"| gaps longer than | gaps/s | time lost |", "| 1.00 µs | 1636 | 99.96 % |", "| 1.00 ms | 327 | 65.42 % |",
		"| one core | **1.97 ms** | **2.00 ms** | 2.00 ms | 50.0 µs | 2.00 ms | 2.00 ms | 5 | 11 | 3.06 ms | exact |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "\n"); n != 2+len(thresholdsNs)+1+3 {
		t.Errorf("%d lines:\n%s", n, md)
	}

	two := newTally(16)
	feed(two, 0, 40, 5040)
	r = resultOf(Options{Duration: 3 * time.Millisecond}, []*tally{one, two})
	md = r.Markdown()
	for _, want := range []string{"| spinner 0 gaps/s | spinner 0 time lost | spinner 1 gaps/s | spinner 1 time lost | all gaps/s | all time lost |",
		"| spinner 1 (one core) |", "| all 2 cores at once |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestNs(t *testing.T) {
	for v, want := range map[int64]string{-1: "–", 0: "0 ns", 999: "999 ns", 1000: "1.00 µs", 9_994: "9.99 µs",
		9_996: "10.0 µs", 12_345: "12.3 µs", 99_960: "100 µs", 123_456: "123 µs", 999_400: "999 µs",
		999_949: "1.00 ms", 1_000_000: "1.00 ms", 4_567_890: "4.57 ms", 1_200_000_000: "1.20 s",
		3_600_000_000_000: "3600 s"} {
		if got := Ns(v); got != want {
			t.Errorf("Ns(%d) = %q, want %q", v, got, want)
		}
	}
}

// BenchmarkObserve is the spin loop's per-read accounting, on synthetic
// readings 30 ns apart (no gap) and 1.5 µs apart (a gap on every read).
func BenchmarkObserve(b *testing.B) {
	for _, c := range []struct {
		name string
		step int64
	}{{"no-gap", 30}, {"gap", 1500}} {
		b.Run(c.name, func(b *testing.B) {
			tl := newTally(0) // a full list: the gap path's steady state
			now := int64(0)
			tl.start(now)
			b.ReportAllocs()
			for b.Loop() {
				now += c.step
				tl.observe(now)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}

// BenchmarkSpinRead is one iteration of the real spin loop: a monotonic
// clock read and its accounting.
func BenchmarkSpinRead(b *testing.B) {
	tl := newTally(1 << 16)
	base := time.Now()
	tl.start(int64(time.Since(base)))
	b.ReportAllocs()
	for b.Loop() {
		tl.observe(int64(time.Since(base)))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}
