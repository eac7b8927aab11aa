// Package latency records nanosecond latencies in an HDR histogram
// (github.com/HdrHistogram/hdrhistogram-go): 1 ns to 10 s at 3 significant
// digits, allocation free once created, with the exact maximum and the
// samples outside the range counted apart.
package latency

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision.
const (
	// NsMin is the smallest latency the histogram resolves.
	NsMin = 1
	// NsMax is the largest latency the histogram tracks; larger samples are
	// recorded as NsMax and counted by Over.
	NsMax = int64(10 * time.Second)
	// SigFigs is the histogram's precision in significant digits.
	SigFigs = 3
)

// Recorder is a latency histogram in nanoseconds. The zero value is empty
// and ready to use (its memory is allocated by the first Record or Merge).
// A Recorder is not safe for concurrent use.
type Recorder struct {
	h     *hdrhistogram.Histogram
	max   int64
	over  uint64
	under uint64
}

// NewRecorder returns an empty Recorder with its memory allocated.
func NewRecorder() *Recorder {
	r := &Recorder{}
	r.hist()
	return r
}

func (r *Recorder) hist() *hdrhistogram.Histogram {
	if r.h == nil {
		r.h = hdrhistogram.New(NsMin, NsMax, SigFigs)
	}
	return r.h
}

// Record adds one sample of ns nanoseconds. A sample above NsMax is
// recorded as NsMax and counted by Over (Max stays exact); a negative
// sample (a clock or stamping error) is not recorded and is counted by
// Under. A zero sample is recorded as 0.
func (r *Recorder) Record(ns int64) {
	switch {
	case ns < 0:
		r.under++
		return
	case ns > NsMax:
		r.over++
	}
	r.max = max(r.max, ns)
	// In range after the clamp, so RecordValue cannot fail (and so never
	// builds an error).
	_ = r.hist().RecordValue(min(ns, NsMax))
}

// Count returns the number of samples recorded (Under excluded).
func (r *Recorder) Count() int64 {
	if r.h == nil {
		return 0
	}
	return r.h.TotalCount()
}

// Percentile returns the latency at percentile p (0 to 100): the value that
// p percent of the samples are at or below, to SigFigs digits, capped at the
// exact maximum (which p >= 100 returns); 0 when empty.
func (r *Recorder) Percentile(p float64) int64 {
	if r.Count() == 0 {
		return 0
	}
	if p >= 100 {
		return r.max
	}
	return min(r.h.ValueAtPercentile(p), r.max)
}

// Max returns the largest sample recorded, exactly; 0 when empty.
func (r *Recorder) Max() int64 { return r.max }

// Over returns the number of samples above NsMax.
func (r *Recorder) Over() uint64 { return r.over }

// Under returns the number of negative samples, which were dropped.
func (r *Recorder) Under() uint64 { return r.under }

// Merge adds o's samples to r.
func (r *Recorder) Merge(o *Recorder) {
	if o.h != nil {
		r.hist().Merge(o.h)
	}
	r.max = max(r.max, o.max)
	r.over += o.over
	r.under += o.under
}

// Reset empties r, keeping its memory.
func (r *Recorder) Reset() {
	if r.h != nil {
		r.h.Reset()
	}
	r.max, r.over, r.under = 0, 0, 0
}
