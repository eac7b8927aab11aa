package srcbench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histogram range and precision.
const (
	// LatencyNsMin is the smallest latency the histogram resolves.
	LatencyNsMin = 1
	// LatencyNsMax is the largest latency the histogram tracks; larger
	// samples are recorded as LatencyNsMax and counted by Over.
	LatencyNsMax = int64(10 * time.Second)
	// LatencySigFigs is the histogram's precision in significant digits.
	LatencySigFigs = 3
)

// Recorder is a latency histogram in nanoseconds. Record never allocates.
// A Recorder is not safe for concurrent use.
type Recorder struct {
	h     *hdrhistogram.Histogram
	over  uint64
	under uint64
}

// NewRecorder returns an empty Recorder covering [LatencyNsMin,
// LatencyNsMax] with LatencySigFigs significant digits.
func NewRecorder() *Recorder {
	return &Recorder{h: hdrhistogram.New(LatencyNsMin, LatencyNsMax, LatencySigFigs)}
}

// Record adds one sample of ns nanoseconds. A sample above LatencyNsMax is
// recorded as LatencyNsMax and counted by Over; a negative sample (a clock
// or stamping error: sender and receiver share one monotonic clock) is not
// recorded and is counted by Under. A zero sample is recorded as 0.
func (r *Recorder) Record(ns int64) {
	switch {
	case ns < 0:
		r.under++
		return
	case ns > LatencyNsMax:
		r.over++
		ns = LatencyNsMax
	}
	// In range by the checks above, so RecordValue cannot fail (and so
	// never builds an error).
	_ = r.h.RecordValue(ns)
}

// Count returns the number of samples recorded (Under excluded).
func (r *Recorder) Count() int64 { return r.h.TotalCount() }

// Percentile returns the latency at percentile p (0 to 100): the value that
// p percent of the samples are at or below, to LatencySigFigs digits; 0 when
// empty.
func (r *Recorder) Percentile(p float64) int64 { return r.h.ValueAtPercentile(p) }

// Max returns the largest sample (to LatencySigFigs digits); 0 when empty.
func (r *Recorder) Max() int64 { return r.h.Max() }

// Over returns the number of samples above LatencyNsMax.
func (r *Recorder) Over() uint64 { return r.over }

// Under returns the number of negative samples, which were dropped.
func (r *Recorder) Under() uint64 { return r.under }

// Reset empties the Recorder.
func (r *Recorder) Reset() {
	r.h.Reset()
	r.over, r.under = 0, 0
}
