package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ballast-risk/ballast/bench/jitter"
)

// jitterConfig is the jitter stage's settings: one measurement per entry of
// spinners, each of duration.
type jitterConfig struct {
	duration time.Duration
	spinners []int
}

// JitterRun is the platform jitter, measured before every other stage
// while the machine is quiet: report.json's "jitter".
type JitterRun struct {
	Method string `json:"method"`
	// Runs are the measurements: one spinner, then one per core.
	Runs    []jitter.Result `json:"runs,omitempty"`
	Skipped []Skip          `json:"skipped,omitempty"`
}

// jitterSpinners are the runs' spinner counts: one, then every core the
// process may use (jitter.SpinnersLimit) when that is more.
func jitterSpinners() []int {
	if n := jitter.SpinnersLimit(); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

// runJitter measures the platform jitter once per spinner count.
func runJitter(ctx context.Context, c jitterConfig, progress func(float64)) ([]jitter.Result, error) {
	var runs []jitter.Result
	for i, n := range c.spinners {
		r, err := jitter.Measure(ctx, jitter.Options{Duration: c.duration, Spinners: n})
		if err != nil {
			return runs, fmt.Errorf("%d spinner(s): %w", n, err)
		}
		runs = append(runs, r)
		progress(float64(i+1) / float64(len(c.spinners)))
	}
	return runs, nil
}

func jitterMethod(c *config) string {
	return fmt.Sprintf("bench/jitter, before the other stages: %s spinner(s), each a goroutine locked to its OS thread reading the "+
		"monotonic clock back to back for %v; an interval longer than %s between two reads (one read costs ~30 ns) is a gap, time "+
		"the spinner's core was taken from it (hypervisor, interrupts, other tasks, the Go runtime). The floor at p is the smallest "+
		"delay x with Σ max(0, gap − x) / T ≤ p: the delay a request arriving at a random instant exceeds with probability p "+
		"because of the gaps alone; for all cores at once, 1 − Π(1 − P_core) ≤ p (a path that needs a client and a server core).",
		joinInts(c.jitter.spinners, " then "), c.jitter.duration, jitter.Ns(jitter.GapFloorNs))
}

func joinInts(xs []int, sep string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = itoa(x)
	}
	return strings.Join(s, sep)
}

// markdown writes the jitter section: how to read it, the floors in one
// line, then each run's table.
func (j *JitterRun) markdown(b *strings.Builder) {
	b.WriteString("## Platform jitter (the latency floor of this machine)\n\n")
	b.WriteString("How to read it: the p99 (p99.9) floor is the delay that 1 % (0.1 %) of requests exceed on this machine only " +
		"because their cores were taken away, whatever the code does, so any latency target whose p99 is below the floor cannot " +
		"be met on this machine.\n\n")
	for _, r := range j.Runs {
		c := r.Combined
		what := "one core"
		if r.Spinners > 1 {
			what = fmt.Sprintf("all %d cores at once", r.Spinners)
		}
		fmt.Fprintf(b, "- %s: p99 floor **%s**, p99.9 floor **%s** (%.2f %% of the time lost to gaps longer than %s, %s gaps/s; longest %s)\n",
			what, jitter.Ns(c.FloorP99Ns), jitter.Ns(c.FloorP999Ns), lostPct(c), jitter.Ns(jitter.GapFloorNs), rate(perSecond(c)), jitter.Ns(c.MaxGapNs))
	}
	if len(j.Runs) > 0 {
		b.WriteString("\n")
	}
	if j.Method != "" {
		fmt.Fprintf(b, "%s\n\n", j.Method)
	}
	for _, r := range j.Runs {
		fmt.Fprintf(b, "### %d spinner(s), %v\n\n%s\n", r.Spinners, time.Duration(r.DurationNs), r.Markdown())
	}
	for _, s := range j.Skipped {
		fmt.Fprintf(b, "- skipped %s: %s\n", s.What, s.Reason)
	}
	if len(j.Skipped) > 0 {
		b.WriteString("\n")
	}
}

func lostPct(s jitter.Stats) float64 {
	if len(s.Thresholds) == 0 {
		return 0
	}
	return s.Thresholds[0].LostPct
}

func perSecond(s jitter.Stats) float64 {
	if len(s.Thresholds) == 0 {
		return 0
	}
	return s.Thresholds[0].PerSecond
}
