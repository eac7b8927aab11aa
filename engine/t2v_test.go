package engine

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/ring"
)

func TestT2VBuckets(t *testing.T) {
	if got := t2vBucket(0); got != 0 {
		t.Fatalf("bucket(0) = %d", got)
	}
	for i, b := range t2vBoundsNs {
		if i > 0 && b <= t2vBoundsNs[i-1] {
			t.Fatalf("bounds not increasing at %d: %d after %d", i, b, t2vBoundsNs[i-1])
		}
		if got := t2vBucket(b); got != i {
			t.Fatalf("bucket(%d) = %d, want %d (its upper bound)", b, got, i)
		}
		if got := t2vBucket(b + 1); got != i+1 {
			t.Fatalf("bucket(%d) = %d, want %d", b+1, got, i+1)
		}
	}
	if got := t2vBucket(math.MaxInt64); got != t2vBucketsCount {
		t.Fatalf("bucket(max) = %d, want the overflow %d", got, t2vBucketsCount)
	}
	// Four buckets per octave: relative width at most 25 %.
	if r := float64(t2vBoundsNs[40]) / float64(t2vBoundsNs[39]); r > 1.25 {
		t.Fatalf("bucket ratio %v", r)
	}
}

func TestWallSentNs(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) int64 {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute).UnixNano()
	}
	ns := func(h, m int) uint64 { return uint64(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	cases := []struct {
		exch uint64
		now  int64
		want int64
	}{
		{ns(21, 0), at(21, 1), at(21, 0)},
		{ns(23, 59), at(24, 1), at(23, 59)}, // sent before midnight, applied after
		{ns(0, 1), at(23, 59), at(24, 1)},   // sender's clock past midnight already: in the future
		{0, at(12, 0), 0},
		{uint64(dayNs), at(12, 0), 0},
	}
	for _, c := range cases {
		if got := wallSentNs(c.exch, c.now); got != c.want {
			t.Errorf("wallSentNs(%d, %d) = %d, want %d", c.exch, c.now, got, c.want)
		}
	}
}

// sinceMidnight is asOf's time of day plus d, as an ITCH timestamp.
func sinceMidnight(d time.Duration) uint64 {
	return uint64(asOf.UnixNano()%dayNs + int64(d))
}

func t2vCount(e *Engine) uint64 { return e.TickToVerdictStats().Count }

func TestTickToVerdict(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	if !f.e.BindLocate(3, "AAA") || !f.e.BindLocate(9, "BBBX") {
		t.Fatal("bind")
	}
	tick := func(locate uint32, sentBefore time.Duration) {
		ns := uint64(f.clock.ns.Load()%dayNs - int64(sentBefore))
		f.e.ApplyTick(&ring.Tick{Instrument: locate, Bid: 1000000, Ask: 1002000, ExchangeNs: ns})
	}
	// Off: nothing is recorded.
	tick(3, 3*time.Microsecond)
	f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	if st := f.e.TickToVerdictStats(); st.Enabled || st.Count != 0 {
		t.Fatalf("disabled: %+v", st)
	}
	f.e.SetTickToVerdict(true)
	f.e.SetTickToVerdict(true) // idempotent
	// The first check on the ticked underlying records once.
	tick(3, 3*time.Microsecond)
	f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	bounds, counts := f.e.TickToVerdict()
	if len(bounds) != len(counts) || bounds[len(bounds)-1] != math.MaxInt64 {
		t.Fatalf("histogram shape: %d bounds, %d counts", len(bounds), len(counts))
	}
	b := t2vBucket(3000)
	if counts[b] != 1 || t2vCount(f.e) != 1 {
		t.Fatalf("after one tick and two checks: bucket %d (≤%d ns) = %d, total %d", b, bounds[b], counts[b], t2vCount(f.e))
	}
	if st := f.e.TickToVerdictStats(); st.SumNs != 3000 {
		t.Fatalf("sum %d ns", st.SumNs)
	}
	// A check in another underlying's instrument uses the held underlying's
	// mark too (account 1001 holds AAA), and the clock moves on.
	tick(3, time.Millisecond)
	f.clock.advance(time.Millisecond) // the check comes 1 ms after the tick
	f.e.Check(Order{Account: 1001, Instrument: 5, Side: Buy, Qty: 1})
	if _, counts = f.e.TickToVerdict(); counts[t2vBucket(2_000_000)] != 1 {
		t.Fatalf("held underlying's tick not recorded at 2 ms: %v", counts)
	}
	// A check that does not use the ticked mark leaves it pending.
	tick(9, time.Microsecond)
	f.e.Check(Order{Account: 2002, Instrument: 1, Side: Buy, Qty: 1}) // holds AAA only
	if t2vCount(f.e) != 2 {
		t.Fatalf("BBB tick recorded by an AAA-only check: %d", t2vCount(f.e))
	}
	f.e.Check(Order{Account: 2001, Instrument: 5, Side: Sell, Qty: 1})
	if t2vCount(f.e) != 3 {
		t.Fatalf("BBB tick not recorded: %d", t2vCount(f.e))
	}
	// An exchange clock ahead of ours counts as negative, not as a latency.
	tick(3, -time.Millisecond)
	f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	if st := f.e.TickToVerdictStats(); st.Negative != 1 || st.Count != 3 {
		t.Fatalf("clock skew: %+v", st)
	}
	// Off again: pending ticks are dropped, the histogram kept.
	tick(3, time.Microsecond)
	f.e.SetTickToVerdict(false)
	f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	if st := f.e.TickToVerdictStats(); st.Enabled || st.Count != 3 {
		t.Fatalf("after disabling: %+v", st)
	}
}

func TestWriteTickToVerdictMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	f.e.SetTickToVerdict(true)
	f.e.BindLocate(3, "AAA")
	for i := range 5 {
		f.e.ApplyTick(&ring.Tick{Instrument: 3, Bid: 1000000, Ask: 1002000, ExchangeNs: sinceMidnight(-time.Duration(i+1) * time.Microsecond)})
		f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	}
	var buf bytes.Buffer
	if err := f.e.WriteTickToVerdictMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# TYPE ballast_tick_to_verdict_seconds histogram\n",
		`ballast_tick_to_verdict_seconds_bucket{le="+Inf"} 5` + "\n",
		"ballast_tick_to_verdict_seconds_count 5\n",
		"ballast_tick_to_verdict_seconds_sum 1.5e-05\n",
		"ballast_tick_to_verdict_negative_total 0\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// Buckets are cumulative and their bounds increase.
	var lastCum uint64
	lastLe := -1.0
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, `ballast_tick_to_verdict_seconds_bucket{le="`)
		if !ok || strings.HasPrefix(rest, "+Inf") {
			continue
		}
		le, cum, _ := strings.Cut(rest, `"} `)
		l, err := strconv.ParseFloat(le, 64)
		if err != nil || l <= lastLe {
			t.Fatalf("bad bound in %q", line)
		}
		c, err := strconv.ParseUint(cum, 10, 64)
		if err != nil || c < lastCum {
			t.Fatalf("not cumulative: %q", line)
		}
		lastLe, lastCum = l, c
	}
	if lastCum != 5 {
		t.Fatalf("finite buckets hold %d of 5", lastCum)
	}
}

// Ticks and checks with the measurement on allocate nothing.
func TestTickToVerdictDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop its items: allocation counts are meaningless under -race")
	}
	f := newFixture(t, nil)
	f.epoch(t)
	f.e.SetTickToVerdict(true)
	f.e.BindLocate(3, "AAA")
	tk := ring.Tick{Instrument: 3, Bid: 1000000, Ask: 1002000, ExchangeNs: sinceMidnight(-time.Microsecond)}
	o := Order{Account: 1002, Instrument: 3, Side: Sell, Qty: 5}
	f.e.ApplyTick(&tk)
	f.e.Check(o)
	before := t2vCount(f.e)
	if n := testing.AllocsPerRun(200, func() { f.e.ApplyTick(&tk); f.e.Check(o) }); n != 0 {
		t.Fatalf("%v allocations per tick and check", n)
	}
	if t2vCount(f.e) < before+200 {
		t.Fatalf("checks did not record: %d → %d", before, t2vCount(f.e))
	}
}

// BenchmarkCheckTickToVerdict is a tick followed by a check of an order on
// the ticked underlying, with the measurement off (the cost before it
// existed, but for one atomic load) and on (claim, clock read, record).
func BenchmarkCheckTickToVerdict(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, nil)
			f.epoch(b)
			f.e.SetTickToVerdict(on)
			f.e.BindLocate(3, "AAA")
			tk := ring.Tick{Instrument: 3, Bid: 1000000, Ask: 1002000, ExchangeNs: sinceMidnight(-time.Microsecond)}
			o := Order{Account: 1002, Instrument: 3, Side: Sell, Qty: 5}
			for b.Loop() {
				f.e.ApplyTick(&tk)
				f.e.Check(o)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			if on && t2vCount(f.e) < uint64(b.N) {
				b.Fatalf("%d samples for %d checks", t2vCount(f.e), b.N)
			}
		})
	}
}
