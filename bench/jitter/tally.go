package jitter

import (
	"github.com/HdrHistogram/hdrhistogram-go"
)

// GapFloorNs is the shortest interval between two consecutive clock reads
// that counts as a gap: a read costs about 25–50 ns, so an interval longer
// than 1 µs means the spinner was not running for most of it.
const GapFloorNs = 1000

// thresholdsNs are the gap lengths the result reports counts and lost time
// for (gaps strictly longer than each), ascending; the first is GapFloorNs.
var thresholdsNs = [...]int64{1000, 3000, 10_000, 25_000, 100_000, 1_000_000}

// ThresholdsNs returns the gap lengths (ns) whose longer gaps Stats counts,
// ascending.
func ThresholdsNs() []int64 { return append([]int64(nil), thresholdsNs[:]...) }

// Gap histogram range and precision.
const (
	histNsMin   = 1
	histNsMax   = int64(3600e9) // one hour; longer gaps are recorded as an hour (MaxGapNs stays exact)
	histSigFigs = 3
)

// gapsMax bounds each spinner's exact gap list (8 MiB); beyond it the floors
// come from the histogram.
const gapsMax = 1 << 20

// tally is one spinner's accounting of its clock reads. observe is the spin
// loop's whole per-read work; it never allocates.
type tally struct {
	first int64 // the first read (ns since the common base)
	last  int64 // the latest read
	reads uint64
	over  [len(thresholdsNs)]uint64 // gaps longer than thresholdsNs[i]
	lost  [len(thresholdsNs)]int64  // their total length
	max   int64                     // the longest gap
	hist  *hdrhistogram.Histogram   // every gap, clamped to histNsMax
	// gaps lists every gap while it has room (its capacity is fixed up
	// front); dropped counts the gaps that found it full.
	gaps    []int64
	dropped uint64
}

// newTally returns a tally whose exact list holds up to listMax gaps, its
// memory allocated and touched so that the spin loop does not fault on it.
func newTally(listMax int) *tally {
	t := &tally{hist: hdrhistogram.New(histNsMin, histNsMax, histSigFigs), gaps: make([]int64, listMax)}
	for i := range t.gaps {
		t.gaps[i] = 0 // touch every page now, not in the spin loop
	}
	t.gaps = t.gaps[:0]
	return t
}

// start accounts the first read.
func (t *tally) start(now int64) {
	t.first, t.last, t.reads = now, now, 1
}

// observe accounts one clock read, now ns since the common base: the
// interval since the previous read is a gap when longer than GapFloorNs.
func (t *tally) observe(now int64) {
	t.reads++
	d := now - t.last
	t.last = now
	if d > GapFloorNs {
		t.gap(d)
	}
}

// gap accounts one gap of d ns (d > GapFloorNs).
func (t *tally) gap(d int64) {
	for i, th := range thresholdsNs {
		if d <= th {
			break
		}
		t.over[i]++
		t.lost[i] += d
	}
	t.max = max(t.max, d)
	// In range after the clamp, so RecordValue neither fails nor allocates.
	_ = t.hist.RecordValue(min(d, histNsMax))
	if len(t.gaps) < cap(t.gaps) {
		t.gaps = append(t.gaps, d)
	} else {
		t.dropped++
	}
}

// durationNs is the time from the first read to the last.
func (t *tally) durationNs() int64 { return t.last - t.first }

// exact says whether the list holds every gap.
func (t *tally) exact() bool { return t.dropped == 0 }

// tail is the gap multiset for the floors: the exact list while it holds
// every gap, else the histogram's buckets, each at its highest equivalent
// value (at most 0.1 % long: the floors err high), the longest capped at the
// exact maximum.
func (t *tally) tail() tail {
	if t.exact() {
		return tailOf(t.gaps)
	}
	bars := t.hist.Distribution()
	var tl tail
	for i := len(bars) - 1; i >= 0; i-- {
		b := bars[i]
		if b.Count == 0 {
			continue
		}
		// Only the top bucket holds the maximum, and its lowest value is above
		// every other bucket's, so the capped lengths stay descending.
		tl.add(min(b.To, t.max), b.Count)
	}
	return tl
}
