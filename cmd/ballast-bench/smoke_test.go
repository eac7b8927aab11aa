package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tinyConfig is a --quick-like run scaled down to seconds: the demo
// workload for the epochs, a short feed replay, a short in-process
// tick-to-verdict run and (without -short) one short load run against a
// freshly built ballastd.
func tinyConfig(t *testing.T) *config {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := repoRoot(wd)
	if !ok {
		t.Fatal("no repository root")
	}
	dir := t.TempDir()
	c := &config{root: root, dir: dir, command: "ballast-bench (smoke test)", quick: true, skip: map[string]bool{"vsim": true}}
	c.presets(1, 1)
	c.jitter.duration = 50 * time.Millisecond
	demo := workload{name: "demo", dir: "bench/workload/demo", scenarios: 200}
	c.epoch.reference, c.epoch.small = demo, workload{name: "demo-small", dir: "bench/workload/demo", scenarios: 100}
	c.feed.symbols, c.feed.messages, c.feed.duration, c.feed.sample = 8, 20_000, 300*time.Millisecond, 50*time.Millisecond
	c.t2v.feedRate, c.t2v.checkRates, c.t2v.warmup, c.t2v.duration = 5000, []float64{2000}, 100*time.Millisecond, 700*time.Millisecond
	c.load.warmup, c.load.duration, c.load.sample = 200*time.Millisecond, 800*time.Millisecond, 200*time.Millisecond
	c.load.runs = []loadSpec{{"tcp", 2000, 1}}
	if testing.Short() {
		c.skip[stageLoad] = true
	}
	return c
}

func TestSmoke(t *testing.T) {
	if raceEnabled {
		t.Skip("timing-driven stages are too slow under the race detector to say anything in seconds")
	}
	c := tinyConfig(t)
	var progress strings.Builder
	prog := NewProgress(&progress, false, nil)
	meta := Meta{Command: c.command, Commit: gitCommit(context.Background(), c.root), Date: time.Now().UTC(), Machine: thisMachine()}
	r, err := execute(context.Background(), c, meta, prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.save(c.dir); err != nil {
		t.Fatal(err)
	}
	figs := map[string]Figure{}
	for _, f := range r.Figures {
		figs[f.ID] = f
	}
	if j := r.Jitter; j == nil || len(j.Runs) != len(jitterSpinners()) || len(j.Skipped) != 0 || j.Method == "" {
		t.Errorf("jitter %+v", j)
	} else {
		for i, run := range j.Runs {
			if run.Spinners != jitterSpinners()[i] || run.Combined.ClockReads == 0 || run.DurationNs != int64(c.jitter.duration) {
				t.Errorf("jitter run %d: %+v", i, run)
			}
		}
	}
	if ep := figs[FigEpoch].Epoch; len(ep) != 4 {
		t.Fatalf("epoch runs: %+v (want reference and cpu on two workloads)", ep)
	} else {
		for _, e := range ep {
			if len(e.Seconds) != 1 || !(e.Median > 0) || e.Min > e.Median || e.Median > e.Max {
				t.Errorf("epoch run %+v", e)
			}
		}
	}
	if s := figs[FigEpoch].Skipped; len(s) != 2 || !strings.Contains(s[0].Reason, "--skip vsim") {
		t.Errorf("vsim not reported skipped: %+v", s)
	}
	if fd := figs[FigFeed].Feed; fd == nil || fd.Passes < 1 || fd.Messages < fd.SessionMessages || !(fd.MsgsPerSec > 0) {
		t.Errorf("feed run %+v", fd)
	}
	if len(figs[FigFeed].Throughput) != 2 || len(figs[FigFeed].Throughput[0].Points) == 0 {
		t.Errorf("feed series %+v", figs[FigFeed].Throughput)
	}
	t2v := figs[FigT2V].Latency
	if len(t2v) == 0 || t2v[0].Count == 0 || len(t2v[0].Percentiles) == 0 || t2v[0].Percentiles[0].Ns <= 0 {
		t.Fatalf("tick-to-verdict: %+v", t2v)
	}
	if !testing.Short() {
		if l := figs[FigCheck].Latency; len(l) != 1 || l[0].Count == 0 || l[0].Lost != 0 {
			t.Errorf("load runs %+v, skipped %+v", l, figs[FigCheck].Skipped)
		}
	}
	for _, f := range r.Figures {
		if f.Plot == "" {
			if testing.Short() && (f.ID == FigCheck || f.ID == FigLoadTput) {
				continue
			}
			t.Errorf("figure %s has no plot", f.ID)
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, f.Plot)); err != nil {
			t.Error(err)
		}
	}
	fr, err := os.Open(filepath.Join(c.dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if _, err := ReadReport(fr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bench: [1/", "bench: done jitter", "bench: done epoch", "bench: done t2v"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

func TestParseFlags(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 40, 5, 0, time.UTC)
	var errOut strings.Builder
	c, err := parseFlags([]string{"--quick", "--skip", "vsim,load"}, &errOut, now)
	if err != nil {
		t.Fatal(err)
	}
	if !c.quick || !c.skip["vsim"] || !c.skip["load"] || c.epoch.reps != 1 || len(c.load.runs) != 3 {
		t.Fatalf("quick config %+v", c)
	}
	if filepath.Base(c.dir) != "2026-11-21T234005Z" || filepath.Base(filepath.Dir(c.dir)) != "results" {
		t.Fatalf("dir %s", c.dir)
	}
	if c.command != "ballast-bench --quick --skip vsim,load" {
		t.Fatalf("command %q", c.command)
	}
	full, err := parseFlags([]string{"--dir", "/tmp/x", "--reps", "3"}, &errOut, now)
	if err != nil || full.dir != "/tmp/x" || full.epoch.reps != 3 || len(full.load.runs) != 7 || full.quick {
		t.Fatalf("full config %+v, %v", full, err)
	}
	for _, bad := range [][]string{{"--skip", "gpu"}, {"--reps", "-1"}, {"--reps", "1000"}, {"extra"}, {"--nope"}} {
		if _, err := parseFlags(bad, &errOut, now); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
