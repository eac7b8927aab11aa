package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/bench/jitter"
	"github.com/ballast-risk/ballast/sim/loadgen"
)

// SchemaVersion is report.json's format version.
const SchemaVersion = 1

// Figure ids.
const (
	FigEpoch    = "epoch"
	FigFeed     = "feed-throughput"
	FigCheck    = "check-latency"
	FigT2V      = "tick-to-verdict"
	FigLoadTput = "load-throughput"
)

// ErrReport reports a report.json that does not decode into this schema.
var ErrReport = errors.New("ballast-bench: bad report")

// Report is one run of the harness: report.json, and the source of
// report.md and the plots.
type Report struct {
	Schema int    `json:"schema"`
	Stamp  string `json:"stamp"`
	Quick  bool   `json:"quick"`
	// Meta is the run's command, commit and machine (every figure repeats
	// it, so a figure copied alone still says where it came from).
	Meta        Meta    `json:"meta"`
	WallSeconds float64 `json:"wall_s"`
	// Jitter is the platform's jitter and the latency floor it sets,
	// measured first (nil in reports from before the jitter stage).
	Jitter  *JitterRun `json:"jitter,omitempty"`
	Figures []Figure   `json:"figures"`
}

// Figure is one measured figure and its plot.
type Figure struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Plot is the PNG's file name in the report's directory ("" when
	// nothing was measured).
	Plot string `json:"plot,omitempty"`
	Meta Meta   `json:"meta"`
	// Method says what was measured and how.
	Method  string `json:"method"`
	Skipped []Skip `json:"skipped,omitempty"`

	Epoch      []EpochRun   `json:"epoch,omitempty"`
	Feed       *FeedRun     `json:"feed,omitempty"`
	Latency    []LatencyRun `json:"latency,omitempty"`
	Throughput []Series     `json:"throughput,omitempty"`
}

// Skip is a part of a figure that did not run, and why.
type Skip struct {
	What   string `json:"what"`
	Reason string `json:"reason"`
}

// EpochRun is the epoch time of one backend on one workload.
type EpochRun struct {
	Backend     string `json:"backend"`
	Workload    string `json:"workload"`
	Scenarios   int    `json:"scenarios"`
	Instruments int    `json:"instruments"`
	Accounts    int    `json:"accounts"`
	// Seconds are the repetitions' times from RunEpoch's call until the
	// epoch is published (snapshot, batch, instrument summaries); the
	// warm-up epoch is not among them.
	Seconds []float64 `json:"seconds"`
	// BatchSeconds are the backend's share (epoch.Duration).
	BatchSeconds []float64 `json:"batch_seconds"`
	Min          float64   `json:"min_s"`
	Median       float64   `json:"median_s"`
	Max          float64   `json:"max_s"`
}

// FeedRun is the feed handler's replay throughput.
type FeedRun struct {
	Symbols         int     `json:"symbols"`
	SessionMessages uint64  `json:"session_messages"`
	CaptureBytes    int     `json:"capture_bytes"`
	Passes          int     `json:"passes"`
	Messages        uint64  `json:"messages"`
	Packets         uint64  `json:"packets"`
	Seconds         float64 `json:"seconds"`
	MsgsPerSec      float64 `json:"msgs_per_s"`
	PacketsPerSec   float64 `json:"packets_per_s"`
}

// Percentile is one point of a latency distribution.
type Percentile struct {
	P  float64 `json:"p"` // percent, e.g. 99.9
	Ns int64   `json:"ns"`
}

// Histogram is a latency histogram: Counts[i] samples in
// (BoundsNs[i-1], BoundsNs[i]]; the last bound may be math.MaxInt64.
type Histogram struct {
	BoundsNs []int64  `json:"bounds_ns"`
	Counts   []uint64 `json:"counts"`
}

// LatencyRun is one latency distribution: a load run against one transport
// at one rate, or a tick-to-verdict run.
type LatencyRun struct {
	Name      string  `json:"name"`
	Transport string  `json:"transport,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	// Achieved is the measured answers (or samples) per second.
	Achieved    float64      `json:"achieved_per_s"`
	Count       int64        `json:"count"`
	MeanNs      float64      `json:"mean_ns"`
	MaxNs       int64        `json:"max_ns"`
	Percentiles []Percentile `json:"percentiles"`
	Histogram   *Histogram   `json:"histogram,omitempty"`
	Errors      uint64       `json:"errors,omitempty"`
	Lost        uint64       `json:"lost,omitempty"`
	Mismatches  uint64       `json:"mismatches,omitempty"`
	Late        uint64       `json:"late,omitempty"`
	Note        string       `json:"note,omitempty"`
	// Load is the load generator's whole result (load runs only).
	Load *loadgen.Result `json:"load,omitempty"`
}

// Series is a quantity over time.
type Series struct {
	Name   string  `json:"name"`
	Unit   string  `json:"unit"`
	Points []Point `json:"points"`
}

// Point is one sample of a Series.
type Point struct {
	T float64 `json:"t_s"` // seconds from the series' start
	V float64 `json:"v"`
}

// stats returns min, median and max of xs (NaN when empty).
func stats(xs []float64) (lo, med, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], med, s[n-1]
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport decodes report.json, refusing unknown fields and other schema
// versions.
func ReadReport(rd io.Reader) (*Report, error) {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReport, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%w: schema %d, want %d", ErrReport, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// WriteMarkdown writes the human report: every figure with its plot, its
// table, and the command, commit and machine it came from.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ballast benchmark report %s\n\n", r.Stamp)
	mode := "full"
	if r.Quick {
		mode = "quick (--quick: short runs, for smoke tests; not for comparisons)"
	}
	fmt.Fprintf(&b, "- command: `%s`\n- commit: `%s`\n- date: %s\n- mode: %s, %.0f s in all\n- machine: %s\n- CPU features: %s\n\n",
		r.Meta.Command, r.Meta.Commit, r.Meta.Date.UTC().Format(time.RFC3339), mode, r.WallSeconds,
		r.Meta.Machine.Summary(), r.Meta.Machine.FeatureLine())
	if r.Jitter != nil {
		r.Jitter.markdown(&b)
	}
	for i := range r.Figures {
		r.Figures[i].markdown(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (f *Figure) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "## %s\n\n", f.Title)
	if f.Plot != "" {
		fmt.Fprintf(b, "![%s](%s)\n\n", f.Title, f.Plot)
	}
	if f.Method != "" {
		fmt.Fprintf(b, "%s\n\n", f.Method)
	}
	switch {
	case len(f.Epoch) > 0:
		b.WriteString("| workload | backend | scenarios | reps | min | median | max | batch (median) |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, e := range f.Epoch {
			_, bm, _ := stats(e.BatchSeconds)
			fmt.Fprintf(b, "| %s | %s | %d | %d | %s | **%s** | %s | %s |\n", e.Workload, e.Backend, e.Scenarios,
				len(e.Seconds), secs(e.Min), secs(e.Median), secs(e.Max), secs(bm))
		}
		b.WriteString("\n")
	case f.Feed != nil:
		fd := f.Feed
		fmt.Fprintf(b, "| symbols | session messages | capture | passes | messages | time | messages/s | packets/s |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(b, "| %d | %d | %.1f MB | %d | %d | %.2f s | **%s** | %s |\n\n", fd.Symbols, fd.SessionMessages,
			float64(fd.CaptureBytes)/1e6, fd.Passes, fd.Messages, fd.Seconds, rate(fd.MsgsPerSec), rate(fd.PacketsPerSec))
	}
	if len(f.Latency) > 0 {
		b.WriteString("| run | count | achieved/s | p50 | p90 | p99 | p99.9 | p99.99 | max | errors | lost |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range f.Latency {
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", l.Name, l.Count, rate(l.Achieved),
				jitter.Ns(pct(l, 50)), jitter.Ns(pct(l, 90)), jitter.Ns(pct(l, 99)), jitter.Ns(pct(l, 99.9)), jitter.Ns(pct(l, 99.99)), jitter.Ns(l.MaxNs), l.Errors, l.Lost)
		}
		b.WriteString("\n")
		for _, l := range f.Latency {
			if l.Note != "" {
				fmt.Fprintf(b, "- %s: %s\n", l.Name, l.Note)
			}
		}
		b.WriteString("\n")
	}
	if len(f.Throughput) > 0 {
		b.WriteString("| series | unit | samples | min | median | max |\n|---|---|---:|---:|---:|---:|\n")
		for _, s := range f.Throughput {
			vs := make([]float64, len(s.Points))
			for i, p := range s.Points {
				vs[i] = p.V
			}
			lo, med, hi := stats(vs)
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", s.Name, s.Unit, len(s.Points), rate(lo), rate(med), rate(hi))
		}
		b.WriteString("\n")
	}
	for _, s := range f.Skipped {
		fmt.Fprintf(b, "- skipped %s: %s\n", s.What, s.Reason)
	}
	if len(f.Skipped) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "<sub>command `%s` · commit `%s` · %s · machine: %s · CPU features: %s</sub>\n\n",
		f.Meta.Command, f.Meta.Commit, f.Meta.Date.UTC().Format(time.RFC3339), f.Meta.Machine.Summary(), f.Meta.Machine.FeatureLine())
}

// pct returns run l's latency at percentile p (-1: not measured).
func pct(l LatencyRun, p float64) int64 {
	for _, q := range l.Percentiles {
		if q.P == p {
			return q.Ns
		}
	}
	return -1
}

func secs(s float64) string {
	switch {
	case math.IsNaN(s):
		return "–"
	case s < 1e-3:
		return fmt.Sprintf("%.0f µs", s*1e6)
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1e3)
	}
	return fmt.Sprintf("%.3f s", s)
}

func rate(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// save writes report.json and report.md into dir.
func (r *Report) save(dir string) error {
	var js, md strings.Builder
	if err := r.WriteJSON(&js); err != nil {
		return err
	}
	if err := r.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), []byte(js.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}
