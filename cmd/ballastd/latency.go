package main

import "github.com/ballast-risk/ballast/feedhandler/latency"

// latencyHist is the tick-latency histogram: a latency.Recorder in which a
// negative sample (a clock that went backwards) counts as 0 rather than
// being dropped, read with quantiles in (0, 1]. The zero value is empty and
// ready to use; it is not safe for concurrent use.
type latencyHist struct{ r latency.Recorder }

// Record adds one latency of ns nanoseconds; negative values count as 0.
func (l *latencyHist) Record(ns int64) { l.r.Record(max(ns, 0)) }

// Count returns the number of latencies recorded.
func (l *latencyHist) Count() uint64 { return uint64(l.r.Count()) }

// Max returns the largest latency recorded, exactly; 0 when empty.
func (l *latencyHist) Max() int64 { return l.r.Max() }

// Quantile returns the q-quantile (0 < q <= 1), capped at the exact maximum
// (which q >= 1 returns); 0 when empty.
func (l *latencyHist) Quantile(q float64) int64 { return l.r.Percentile(q * 100) }

// Merge adds o's latencies to l.
func (l *latencyHist) Merge(o *latencyHist) { l.r.Merge(&o.r) }

// Reset empties l, keeping its memory.
func (l *latencyHist) Reset() { l.r.Reset() }
