package main

import (
	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histogram range and precision: 1 ns to 10 s at 3 significant
// digits (a recorded value is within 0.1% of itself). Larger values are
// clamped to the top of the range; the exact maximum is kept apart.
const (
	latencyNsMax   = 10_000_000_000
	latencySigFigs = 3
)

// latencyHist is a bounded HDR histogram of nanosecond latencies, backed by
// github.com/HdrHistogram/hdrhistogram-go (allocation free once created).
// The zero value is empty and ready to use; it is not safe for concurrent
// use.
type latencyHist struct {
	h   *hdrhistogram.Histogram
	max int64
}

func (l *latencyHist) hist() *hdrhistogram.Histogram {
	if l.h == nil {
		l.h = hdrhistogram.New(1, latencyNsMax, latencySigFigs)
	}
	return l.h
}

// Record adds one latency of ns nanoseconds; negative values (a clock that
// went backwards) count as 0.
func (l *latencyHist) Record(ns int64) {
	ns = max(ns, 0)
	l.max = max(l.max, ns)
	// The range check is done here, so RecordValue cannot fail.
	_ = l.hist().RecordValue(min(ns, latencyNsMax))
}

// Count returns the number of latencies recorded.
func (l *latencyHist) Count() uint64 {
	if l.h == nil {
		return 0
	}
	return uint64(l.h.TotalCount())
}

// Max returns the largest latency recorded, exactly; 0 when empty.
func (l *latencyHist) Max() int64 { return l.max }

// Quantile returns the q-quantile (0 < q <= 1) of the recorded latencies,
// capped at the exact maximum (which q >= 1 returns); 0 when empty.
func (l *latencyHist) Quantile(q float64) int64 {
	if l.Count() == 0 {
		return 0
	}
	if q >= 1 {
		return l.max
	}
	return min(l.h.ValueAtQuantile(q*100), l.max)
}

// Merge adds o's latencies to l.
func (l *latencyHist) Merge(o *latencyHist) {
	if o.h == nil {
		return
	}
	l.hist().Merge(o.h)
	l.max = max(l.max, o.max)
}

// Reset empties l, keeping its memory.
func (l *latencyHist) Reset() {
	if l.h != nil {
		l.h.Reset()
	}
	l.max = 0
}
