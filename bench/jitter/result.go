package jitter

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Floor sources (Stats.FloorSource).
const (
	// FloorExact: the floors come from the list of every gap.
	FloorExact = "exact"
	// FloorHistogram: some gap list overflowed; its floors come from the
	// histogram's buckets at their upper bounds (at most 0.1 % high).
	FloorHistogram = "histogram"
)

// Floor probabilities.
const (
	floorP99  = 0.01
	floorP999 = 0.001
)

// Result is one measurement: every spinner's figures and their
// combination.
type Result struct {
	// Spinners is the number of spinners (cores) measured.
	Spinners int `json:"spinners"`
	// DurationNs is the requested measurement time per spinner.
	DurationNs int64 `json:"duration_ns"`
	// GapFloorNs is the shortest interval between two reads counted as a
	// gap (GapFloorNs).
	GapFloorNs int64 `json:"gap_floor_ns"`
	// NumCPU and GOMAXPROCS are the process's at the time.
	NumCPU     int `json:"num_cpu"`
	GOMAXPROCS int `json:"gomaxprocs"`
	// PerSpinner are each spinner's figures, in spinner order.
	PerSpinner []Stats `json:"per_spinner"`
	// Combined are all spinners together: counts summed; DurationNs the
	// longest spinner's; gaps/s per wall second (gaps on any core); lost
	// shares over the spinners' summed time (the mean core's share); gap
	// percentiles over every gap; and the floors of a path that needs every
	// spinner's core at once (1 − Π(1 − P_c)). With one spinner it equals
	// that spinner's figures.
	Combined Stats `json:"combined"`
}

// Stats are the figures of one spinner, or of all of them (Result.Combined).
type Stats struct {
	// DurationNs is the time from the first clock read to the last.
	DurationNs int64 `json:"duration_ns"`
	// ClockReads is the number of clock reads.
	ClockReads uint64 `json:"clock_reads"`
	// ReadNs is the mean time per read, gaps included.
	ReadNs float64 `json:"read_ns"`
	// Gaps is the number of gaps (longer than GapFloorNs).
	Gaps uint64 `json:"gaps"`
	// Thresholds are the gaps longer than each of ThresholdsNs().
	Thresholds []Threshold `json:"thresholds"`
	// MaxGapNs is the longest gap, exactly.
	MaxGapNs int64 `json:"max_gap_ns"`
	// GapP50Ns, GapP99Ns and GapP999Ns are percentiles of the gaps'
	// lengths (HDR histogram, 3 significant digits; 0 without gaps).
	GapP50Ns  int64 `json:"gap_p50_ns"`
	GapP99Ns  int64 `json:"gap_p99_ns"`
	GapP999Ns int64 `json:"gap_p999_ns"`
	// FloorP99Ns and FloorP999Ns are the latency floors: the smallest delay
	// that a request arriving at a random instant exceeds with probability
	// at most 1 % (0.1 %) because of the gaps (see the package doc).
	FloorP99Ns  int64 `json:"floor_p99_ns"`
	FloorP999Ns int64 `json:"floor_p999_ns"`
	// FloorSource is FloorExact or FloorHistogram.
	FloorSource string `json:"floor_source"`
	// GapsListed is the number of gaps in the exact list(s).
	GapsListed uint64 `json:"gaps_listed"`
}

// Threshold counts the gaps longer than one threshold.
type Threshold struct {
	// OverNs is the threshold: gaps strictly longer count.
	OverNs int64 `json:"over_ns"`
	// Gaps is their number, PerSecond their rate.
	Gaps      uint64  `json:"gaps"`
	PerSecond float64 `json:"gaps_per_s"`
	// LostNs is their total length, LostPct its share of the time (%).
	LostNs  int64   `json:"lost_ns"`
	LostPct float64 `json:"lost_pct"`
}

// resultOf assembles the result of the spinners' tallies.
func resultOf(opts Options, tallies []*tally) Result {
	r := Result{Spinners: len(tallies), DurationNs: int64(opts.Duration), GapFloorNs: GapFloorNs,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	tails := make([]tail, len(tallies))
	totals := make([]int64, len(tallies))
	all := hdrhistogram.New(histNsMin, histNsMax, histSigFigs)
	var c tally // the combination's counters
	var wallNs, sumNs int64
	var listed uint64
	for i, t := range tallies {
		tails[i], totals[i] = t.tail(), t.durationNs()
		st := statsOf(t, t.durationNs(), t.durationNs(), t.durationNs(), t.hist)
		st.FloorP99Ns = tails[i].floor(budgetOf(floorP99, totals[i]))
		st.FloorP999Ns = tails[i].floor(budgetOf(floorP999, totals[i]))
		r.PerSpinner = append(r.PerSpinner, st)
		all.Merge(t.hist)
		c.reads += t.reads
		for k := range thresholdsNs {
			c.over[k] += t.over[k]
			c.lost[k] += t.lost[k]
		}
		c.max = max(c.max, t.max)
		c.dropped += t.dropped
		listed += uint64(len(t.gaps))
		wallNs = max(wallNs, t.durationNs())
		sumNs += t.durationNs()
	}
	r.Combined = statsOf(&c, wallNs, sumNs, wallNs, all)
	r.Combined.GapsListed = listed
	r.Combined.FloorP99Ns = combinedFloor(tails, totals, floorP99)
	r.Combined.FloorP999Ns = combinedFloor(tails, totals, floorP999)
	return r
}

// statsOf returns t's figures over durationNs: the reads' mean over
// spunNs, the rates per rateNs and the lost shares of spunNs, with h's
// percentiles; the floors are left to the caller.
func statsOf(t *tally, durationNs, spunNs, rateNs int64, h *hdrhistogram.Histogram) Stats {
	st := Stats{DurationNs: durationNs, ClockReads: t.reads, Gaps: t.over[0], MaxGapNs: t.max,
		GapsListed: uint64(len(t.gaps)), FloorSource: FloorExact}
	if !t.exact() {
		st.FloorSource = FloorHistogram
	}
	if t.reads > 0 {
		st.ReadNs = float64(spunNs) / float64(t.reads)
	}
	if h.TotalCount() > 0 {
		st.GapP50Ns = min(h.ValueAtQuantile(50), t.max)
		st.GapP99Ns = min(h.ValueAtQuantile(99), t.max)
		st.GapP999Ns = min(h.ValueAtQuantile(99.9), t.max)
	}
	for k, th := range thresholdsNs {
		x := Threshold{OverNs: th, Gaps: t.over[k], LostNs: t.lost[k]}
		if rateNs > 0 {
			x.PerSecond = float64(t.over[k]) / (float64(rateNs) / 1e9)
		}
		if spunNs > 0 {
			x.LostPct = 100 * float64(t.lost[k]) / float64(spunNs)
		}
		st.Thresholds = append(st.Thresholds, x)
	}
	return st
}

// Markdown renders r for a report: per threshold the gaps per second and
// the share of time lost (per spinner, and all together when several),
// then the floors and the gap lengths' percentiles.
func (r *Result) Markdown() string {
	var b strings.Builder
	cols := r.columns()
	b.WriteString("| gaps longer than |")
	sep := "|---:|"
	for _, c := range cols {
		fmt.Fprintf(&b, " %sgaps/s | %stime lost |", c.name, c.name)
		sep += "---:|---:|"
	}
	b.WriteString("\n" + sep + "\n")
	for k, th := range thresholdsNs {
		fmt.Fprintf(&b, "| %s |", Ns(th))
		for _, c := range cols {
			if k < len(c.st.Thresholds) {
				x := c.st.Thresholds[k]
				fmt.Fprintf(&b, " %s | %s |", perSec(x.PerSecond), pct(x.LostPct))
			} else {
				b.WriteString(" – | – |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| | p99 floor | p99.9 floor | longest gap | gap p50 | gap p99 | gap p99.9 | gaps | clock reads | time | floors from |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range cols {
		s := c.st
		fmt.Fprintf(&b, "| %s | **%s** | **%s** | %s | %s | %s | %s | %d | %d | %s | %s |\n", c.long, Ns(s.FloorP99Ns), Ns(s.FloorP999Ns),
			Ns(s.MaxGapNs), Ns(s.GapP50Ns), Ns(s.GapP99Ns), Ns(s.GapP999Ns), s.Gaps, s.ClockReads, Ns(s.DurationNs), s.FloorSource)
	}
	return b.String()
}

type column struct {
	name, long string
	st         Stats
}

func (r *Result) columns() []column {
	if len(r.PerSpinner) <= 1 {
		return []column{{name: "", long: "one core", st: r.Combined}}
	}
	var cols []column
	for i, s := range r.PerSpinner {
		cols = append(cols, column{name: fmt.Sprintf("spinner %d ", i), long: fmt.Sprintf("spinner %d (one core)", i), st: s})
	}
	return append(cols, column{name: "all ", long: fmt.Sprintf("all %d cores at once", len(r.PerSpinner)), st: r.Combined})
}

// Ns formats a duration in ns for a table, with three significant digits
// in the unit that keeps the number below 1000: "850 ns", "1.00 µs",
// "12.3 µs", "999 µs", "4.57 ms", "1.20 s" (negative: "–"). Every report
// of the module formats durations with it.
func Ns(v int64) string {
	switch {
	case v < 0:
		return "–"
	case v < 1000:
		return strconv.FormatInt(v, 10) + " ns"
	}
	units := [...]string{" µs", " ms", " s"}
	x, u := float64(v)/1e3, 0
	// 999.5 and up would round to 1000: the next unit shows it as 1.00.
	for x >= 999.5 && u < len(units)-1 {
		x /= 1e3
		u++
	}
	prec := 0
	switch {
	case x < 9.995:
		prec = 2
	case x < 99.95:
		prec = 1
	}
	return strconv.FormatFloat(x, 'f', prec, 64) + units[u]
}

func perSec(v float64) string {
	if v >= 10_000 {
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}

func pct(v float64) string {
	if v == 0 {
		return "0 %"
	}
	if v >= 1 {
		return fmt.Sprintf("%.2f %%", v)
	}
	return fmt.Sprintf("%.2g %%", v)
}
