package engine

import (
	"bufio"
	"io"
	"math"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"
)

// Tick-to-verdict latency: from the moment the exchange sent the packet
// that moved an underlying's mark to the moment the first pre-trade check
// that uses the new mark has its verdict.
//
// The send time is the tick's ITCH timestamp (ring.Tick.ExchangeNs,
// nanoseconds since midnight). It is only a wall-clock instant when the
// exchange stamps it with its CLOCK_REALTIME at send time, as the simulated
// exchange does with itchgen.WallClockNs, and only comparable with this
// process's clock when both run on one host or on PTP-synchronised hosts;
// hence the measurement is off until SetTickToVerdict enables it. The
// timestamp is taken as the instant of that time of day nearest the
// engine's clock (Config.Now), so a tick sent just before midnight and
// applied just after lands on the right day.
//
// The hot paths stay allocation-free: ApplyTick stores the send instant in
// the underlying's slot (one atomic store), and Check claims it (an atomic
// load, and a compare-and-swap only when a new mark is pending) for the
// order's underlying and every underlying the account holds, then records
// the latency into fixed log buckets of atomic counters. A mark replaced by
// a newer tick before any check used it is not counted: no verdict used it.

// Tick-to-verdict histogram layout: bucket 0 holds latencies up to
// t2vFirstBoundNs, then t2vSubBuckets buckets per power of two up to
// 2^t2vTopOctave ns (about 68.7 s); the last bucket is the overflow.
const (
	t2vFirstOctave  = 6 // first bound 2^6 = 64 ns
	t2vTopOctave    = 36
	t2vSubBits      = 2
	t2vSubBuckets   = 1 << t2vSubBits
	t2vFirstBoundNs = 1 << t2vFirstOctave
	// t2vBucketsCount counts the finite buckets (the overflow excluded).
	t2vBucketsCount = 1 + (t2vTopOctave-t2vFirstOctave)*t2vSubBuckets
	dayNs           = int64(24 * time.Hour)
	halfDayNs       = dayNs / 2
	// t2vClaimsMax bounds the marks one check claims; a check on an account
	// holding more underlyings leaves the rest to the next check.
	t2vClaimsMax = 16
)

// t2vBoundsNs are the inclusive upper bounds of the finite buckets.
var t2vBoundsNs = func() (b [t2vBucketsCount]int64) {
	b[0] = t2vFirstBoundNs
	for o := t2vFirstOctave; o < t2vTopOctave; o++ {
		for s := 0; s < t2vSubBuckets; s++ {
			b[1+(o-t2vFirstOctave)*t2vSubBuckets+s] = 1<<o + int64(s+1)<<(o-t2vSubBits)
		}
	}
	return b
}()

// t2vBucket returns the bucket of a latency of ns ≥ 0 nanoseconds.
func t2vBucket(ns int64) int {
	if ns <= t2vFirstBoundNs {
		return 0
	}
	v := uint64(ns - 1)
	o := bits.Len64(v) - 1
	if o >= t2vTopOctave {
		return t2vBucketsCount // overflow
	}
	s := int(v>>(o-t2vSubBits)) & (t2vSubBuckets - 1)
	return 1 + (o-t2vFirstOctave)*t2vSubBuckets + s
}

// t2vSlot is one underlying's pending send instant (wall-clock ns; 0: none
// pending), alone on its cache line so that ticks on one underlying do not
// slow checks on another.
type t2vSlot struct {
	sentNs atomic.Int64
	_      [56]byte
}

// t2vState is the engine's tick-to-verdict instrumentation.
type t2vState struct {
	slots    atomic.Pointer[[]t2vSlot] // nil: disabled
	counts   [t2vBucketsCount + 1]atomic.Uint64
	sumNs    atomic.Int64
	negative atomic.Uint64 // sent after the verdict: clocks not synchronised
}

// t2vClaims holds the send instants a check claimed.
type t2vClaims struct {
	n      int
	sentNs [t2vClaimsMax]int64
}

// claim takes underlying u's pending send instant, if any.
func (c *t2vClaims) claim(slots []t2vSlot, u int) {
	if c.n >= t2vClaimsMax || u < 0 || u >= len(slots) {
		return
	}
	p := &slots[u].sentNs
	if s := p.Load(); s != 0 && p.CompareAndSwap(s, 0) {
		c.sentNs[c.n] = s
		c.n++
	}
}

// record adds the claimed ticks' latencies at verdict time nowNs.
func (t *t2vState) record(c *t2vClaims, nowNs int64) {
	for i := 0; i < c.n; i++ {
		d := nowNs - c.sentNs[i]
		if d < 0 {
			t.negative.Add(1)
			continue
		}
		t.counts[t2vBucket(d)].Add(1)
		t.sumNs.Add(d)
	}
}

// wallSentNs converts an ITCH timestamp (ns since midnight) to a Unix
// instant within 12 hours of nowNs: on nowNs's UTC day, or the previous or
// next day across midnight. It returns 0 for a timestamp that is no time of
// day.
func wallSentNs(exchangeNs uint64, nowNs int64) int64 {
	if exchangeNs == 0 || exchangeNs >= uint64(dayNs) {
		return 0
	}
	midnight := nowNs - nowNs%dayNs
	s := midnight + int64(exchangeNs)
	switch {
	case s-nowNs > halfDayNs:
		s -= dayNs
	case nowNs-s > halfDayNs:
		s += dayNs
	}
	return s
}

// SetTickToVerdict turns the tick-to-verdict measurement on or off. Turn it
// on only when the feed's ITCH timestamps are the exchange's wall-clock send
// times (see itchgen.WallClockNs) from a clock synchronised with this
// host's. Turning it off drops the pending ticks; the histogram is kept.
func (e *Engine) SetTickToVerdict(on bool) {
	if !on {
		e.ticks.t2v.slots.Store(nil)
		return
	}
	if e.ticks.t2v.slots.Load() == nil {
		s := make([]t2vSlot, len(e.marks))
		e.ticks.t2v.slots.CompareAndSwap(nil, &s)
	}
}

// noteTick remembers a mark update's send instant (ApplyTick).
func (e *Engine) noteTick(u int, exchangeNs uint64, nowNs int64) {
	p := e.ticks.t2v.slots.Load()
	if p == nil {
		return
	}
	if s := wallSentNs(exchangeNs, nowNs); s != 0 {
		(*p)[u].sentNs.Store(s)
	}
}

// claimTicks claims the pending send instants of underlying u and of every
// underlying in held (Check, before it reads any mark).
func (e *Engine) claimTicks(c *t2vClaims, u int, held []int) {
	p := e.ticks.t2v.slots.Load()
	if p == nil {
		return
	}
	slots := *p
	c.claim(slots, u)
	for _, h := range held {
		if h != u {
			c.claim(slots, h)
		}
	}
}

// verdictDone records the claimed ticks once the verdict is computed.
func (e *Engine) verdictDone(c *t2vClaims) {
	if c.n == 0 {
		return
	}
	e.ticks.t2v.record(c, e.now().UnixNano())
}

// TickToVerdict returns the tick-to-verdict histogram: counts[i] latencies
// in (boundsNs[i-1], boundsNs[i]] nanoseconds (bucket 0 from 0); the last
// bound is math.MaxInt64 (the overflow beyond about 68 s).
func (e *Engine) TickToVerdict() (boundsNs []int64, counts []uint64) {
	boundsNs = make([]int64, t2vBucketsCount+1)
	copy(boundsNs, t2vBoundsNs[:])
	boundsNs[t2vBucketsCount] = math.MaxInt64
	counts = make([]uint64, t2vBucketsCount+1)
	for i := range counts {
		counts[i] = e.ticks.t2v.counts[i].Load()
	}
	return boundsNs, counts
}

// TickToVerdictStats summarises the tick-to-verdict measurement.
type TickToVerdictStats struct {
	// Enabled says SetTickToVerdict(true) is in force.
	Enabled bool
	// Count and SumNs cover the recorded latencies.
	Count uint64
	SumNs int64
	// Negative counts ticks whose send time was after their verdict: the
	// exchange's clock is ahead of this host's.
	Negative uint64
}

// TickToVerdictStats returns the measurement's totals.
func (e *Engine) TickToVerdictStats() TickToVerdictStats {
	st := TickToVerdictStats{Enabled: e.ticks.t2v.slots.Load() != nil,
		SumNs: e.ticks.t2v.sumNs.Load(), Negative: e.ticks.t2v.negative.Load()}
	for i := range e.ticks.t2v.counts {
		st.Count += e.ticks.t2v.counts[i].Load()
	}
	return st
}

// TickToVerdictMetric is the Prometheus name of the histogram written by
// WriteTickToVerdictMetrics.
const TickToVerdictMetric = "ballast_tick_to_verdict_seconds"

// WriteTickToVerdictMetrics appends the tick-to-verdict histogram to w in
// the Prometheus text exposition format 0.0.4: the family
// ballast_tick_to_verdict_seconds (buckets, _sum, _count) and the counter
// ballast_tick_to_verdict_negative_total.
func (e *Engine) WriteTickToVerdictMetrics(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bounds, counts := e.TickToVerdict()
	st := e.TickToVerdictStats()
	bw.WriteString("# HELP " + TickToVerdictMetric + " Exchange send time of a tick that moved a mark to the first verdict using that mark.\n")
	bw.WriteString("# TYPE " + TickToVerdictMetric + " histogram\n")
	var cum uint64
	for i, ub := range bounds {
		cum += counts[i]
		le := "+Inf"
		if ub != math.MaxInt64 {
			le = strconv.FormatFloat(float64(ub)/1e9, 'g', -1, 64)
		}
		bw.WriteString(TickToVerdictMetric + `_bucket{le="` + le + `"} ` + strconv.FormatUint(cum, 10) + "\n")
	}
	bw.WriteString(TickToVerdictMetric + "_sum " + strconv.FormatFloat(float64(st.SumNs)/1e9, 'g', -1, 64) + "\n")
	bw.WriteString(TickToVerdictMetric + "_count " + strconv.FormatUint(cum, 10) + "\n")
	bw.WriteString("# HELP ballast_tick_to_verdict_negative_total Ticks stamped after their verdict (exchange clock ahead of this host's).\n")
	bw.WriteString("# TYPE ballast_tick_to_verdict_negative_total counter\n")
	bw.WriteString("ballast_tick_to_verdict_negative_total " + strconv.FormatUint(st.Negative, 10) + "\n")
	return bw.Flush()
}
