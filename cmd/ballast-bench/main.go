// Command ballast-bench is Ballast's benchmark harness: one command that
// measures the headline figures and writes a dated report.
//
//	ballast-bench [--quick] [--out bench/results] [--dir DIR] [--skip jitter,epoch,feed,t2v,load,vsim,...]
//
// It measures, each figure recording the command, commit, machine and CPU
// features:
//
//   - first, while the machine is quiet, the platform's jitter
//     (bench/jitter): the gaps a thread spinning on the clock sees on one
//     core, then on every core at once, and the latency floor they put
//     under every other figure (no p99 on this machine can be below it);
//   - epoch time per backend (reference, cpu, and vsim when the Verilator
//     harness is built) on the reference workload, in-process through the
//     engine;
//   - the feed handler's replay throughput (messages/s, packets/s, over
//     time) on a generated ITCH session;
//   - tick-to-verdict latency in-process over loopback UDP: simulated
//     exchange → feed handler → engine marks → pre-trade check;
//   - check latency per transport (SBE over TCP, shared memory, HTTP) and
//     the appliance's verdict throughput over time, against a ballastd it
//     builds and starts, driven by sim/loadgen's open loop.
//
// The report goes to OUT/STAMP/ (or DIR): report.md, report.json and one
// PNG per figure. --quick runs everything briefly (about two minutes on two
// cores): a smoke test, not figures to compare. Progress goes to stderr, as
// a bar on a terminal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/sim/portfolio"
)

// errUsage reports bad flags or configuration.
var errUsage = errors.New("usage")

// Stage names (also --skip values).
const (
	stageJitter = "jitter"
	stageEpoch  = "epoch"
	stageFeed   = "feed"
	stageT2V    = "t2v"
	stageLoad   = "load"
)

// skipValues are the accepted --skip values: stages and epoch backends.
var skipValues = []string{stageJitter, stageEpoch, stageFeed, stageT2V, stageLoad, "reference", "cpu", "vsim"}

// config is one run's configuration.
type config struct {
	root    string // repository root
	dir     string // the report's directory
	command string
	quick   bool
	skip    map[string]bool
	jitter  jitterConfig
	epoch   epochConfig
	feed    feedConfig
	t2v     t2vConfig
	load    loadConfig
}

// presets fills the stages' settings for a quick or a full run.
func (c *config) presets(reps int, seed uint64) {
	ref := workload{name: "reference", dir: "bench/workload/reference", scenarios: 10000}
	small := workload{name: "demo", dir: "bench/workload/demo", scenarios: 1000}
	c.jitter = jitterConfig{duration: 2 * time.Second, spinners: jitterSpinners()}
	c.epoch = epochConfig{root: c.root, reps: 5, reference: ref, small: small, skip: c.skip}
	c.feed = feedConfig{symbols: 50, messages: 2_000_000, seed: 1, duration: 10 * time.Second, sample: 250 * time.Millisecond}
	c.t2v = t2vConfig{root: c.root, small: small, feedRate: 20_000, checkRates: []float64{1000, 10_000, 50_000},
		warmup: time.Second, duration: 5 * time.Second, seed: seed}
	c.load = loadConfig{root: c.root, dir: c.dir, msgRate: 2000, scenarios: 2000, epochEvery: 2 * time.Second,
		warmup: time.Second, duration: 5 * time.Second, sample: time.Second, seed: seed,
		runs: []loadSpec{{"tcp", 10_000, 1}, {"tcp", 50_000, 1}, {"tcp", 100_000, 1},
			{"shm", 10_000, 1}, {"shm", 100_000, 1}, {"http", 5000, 4}, {"http", 20_000, 4}}}
	if c.quick {
		c.jitter.duration = 200 * time.Millisecond
		c.epoch.reps = 1
		c.feed.messages, c.feed.duration = 200_000, 2*time.Second
		c.t2v.checkRates, c.t2v.warmup, c.t2v.duration = []float64{10_000}, 500*time.Millisecond, 2*time.Second
		c.load.warmup, c.load.duration, c.load.sample = 500*time.Millisecond, 2*time.Second, 500*time.Millisecond
		c.load.runs = []loadSpec{{"tcp", 10_000, 1}, {"shm", 10_000, 1}, {"http", 5000, 4}}
	}
	if reps > 0 {
		c.epoch.reps = reps
	}
}

// estimates are the stages' expected durations, for the ETA.
func (c *config) estimates() map[string]time.Duration {
	perEpoch := 1500 * time.Millisecond
	load := 20 * time.Second // build and start
	for range c.load.runs {
		load += c.load.warmup + c.load.duration + 500*time.Millisecond
	}
	return map[string]time.Duration{
		stageJitter: time.Duration(len(c.jitter.spinners)) * (c.jitter.duration + 50*time.Millisecond),
		stageEpoch:  5*time.Second + time.Duration(2*(c.epoch.reps+1))*perEpoch + time.Duration(c.epoch.reps+1)*4*time.Second,
		stageFeed:   c.feed.duration + time.Duration(c.feed.messages/500_000)*time.Second,
		stageT2V:    2*time.Second + time.Duration(len(c.t2v.checkRates))*(c.t2v.warmup+c.t2v.duration),
		stageLoad:   load,
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := run(ctx, os.Args[1:], os.Stderr, isTerminal(os.Stderr))
	if dir != "" {
		fmt.Fprintf(os.Stderr, "ballast-bench: report in %s\n", dir)
	}
	if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ballast-bench:", err)
		}
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ballast-bench:", err)
		os.Exit(1)
	}
}

// parseFlags builds the configuration from the command line.
func parseFlags(args []string, stderr io.Writer, now time.Time) (*config, error) {
	fs := flag.NewFlagSet("ballast-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "short runs of every stage (about two minutes): a smoke test")
	out := fs.String("out", "bench/results", "parent directory of the dated report directory (relative: to the repository root)")
	dir := fs.String("dir", "", "the report's directory itself (overrides --out/STAMP)")
	skip := fs.String("skip", "", "comma-separated stages or backends to leave out: "+strings.Join(skipValues, ", "))
	reps := fs.Int("reps", 0, fmt.Sprintf("timed epochs per backend (0: 5, --quick 1; at most %d)", epochRepsMax))
	seed := fs.Uint64("seed", 1, "seed of the order flows")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *reps < 0 || *reps > epochRepsMax {
		return nil, fmt.Errorf("%w: --reps %d outside 0..%d", errUsage, *reps, epochRepsMax)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, ok := repoRoot(wd)
	if !ok {
		return nil, fmt.Errorf("%w: run ballast-bench inside the Ballast repository (no go.mod above %s)", errUsage, wd)
	}
	c := &config{root: root, quick: *quick, skip: map[string]bool{},
		command: strings.TrimSpace("ballast-bench " + strings.Join(args, " "))}
	if *skip != "" {
		for _, s := range strings.Split(*skip, ",") {
			s = strings.TrimSpace(s)
			if !contains(skipValues, s) {
				return nil, fmt.Errorf("%w: --skip %q: want some of %s", errUsage, s, strings.Join(skipValues, ", "))
			}
			c.skip[s] = true
		}
	}
	c.dir = *dir
	if c.dir == "" {
		base := *out
		if !filepath.IsAbs(base) {
			base = filepath.Join(root, base)
		}
		c.dir = filepath.Join(base, now.UTC().Format("2006-01-02T150405Z"))
	}
	c.presets(*reps, *seed)
	return c, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// run parses args, runs the benchmark and writes the report; it returns
// the report's directory once one was written.
func run(ctx context.Context, args []string, stderr io.Writer, tty bool) (string, error) {
	start := time.Now()
	c, err := parseFlags(args, stderr, start)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return "", err
	}
	prog := NewProgress(stderr, tty, nil)
	defer prog.Close()
	meta := Meta{Command: c.command, Commit: gitCommit(ctx, c.root), Date: start.UTC(), Machine: thisMachine()}
	r, err := execute(ctx, c, meta, prog)
	prog.Close()
	if r == nil {
		return "", err
	}
	r.WallSeconds = time.Since(start).Seconds()
	if serr := r.save(c.dir); serr != nil {
		return "", errors.Join(err, serr)
	}
	return c.dir, err
}

// execute runs the stages not skipped and assembles the report with its
// plots. A stage that fails is recorded in its figure and the others still
// run; the returned error joins the failures.
func execute(ctx context.Context, c *config, meta Meta, prog *Progress) (*Report, error) {
	r := &Report{Schema: SchemaVersion, Stamp: filepath.Base(c.dir), Quick: c.quick, Meta: meta}
	est := c.estimates()
	var stages []string
	for _, s := range []string{stageJitter, stageEpoch, stageFeed, stageT2V, stageLoad} {
		if !c.skip[s] {
			stages = append(stages, s)
			prog.Plan(s, est[s])
		}
	}
	figs := map[string]*Figure{}
	for _, f := range []Figure{
		{ID: FigEpoch, Title: "Epoch time per backend", Method: epochMethod(c)},
		{ID: FigFeed, Title: "Feed handler throughput", Method: feedMethod(c)},
		{ID: FigT2V, Title: "Tick-to-verdict latency", Method: t2vMethod(c)},
		{ID: FigCheck, Title: "Check latency per transport", Method: loadMethod(c)},
		{ID: FigLoadTput, Title: "Appliance verdict throughput over time", Method: loadMethod(c)},
	} {
		f.Meta = meta
		r.Figures = append(r.Figures, f)
	}
	for i := range r.Figures {
		figs[r.Figures[i].ID] = &r.Figures[i]
	}
	r.Jitter = &JitterRun{Method: jitterMethod(c)}
	if c.skip[stageJitter] {
		r.Jitter = &JitterRun{Skipped: []Skip{{What: "the jitter measurement", Reason: "--skip " + stageJitter}}}
	}
	skipStage := map[string][]string{stageEpoch: {FigEpoch}, stageFeed: {FigFeed}, stageT2V: {FigT2V}, stageLoad: {FigCheck, FigLoadTput}}
	for s, ids := range skipStage {
		if c.skip[s] {
			for _, id := range ids {
				figs[id].Skipped = append(figs[id].Skipped, Skip{What: "this figure", Reason: "--skip " + s})
			}
		}
	}
	var errs []error
	failed := func(stage string, err error, ids ...string) {
		errs = append(errs, fmt.Errorf("%s: %w", stage, err))
		for _, id := range ids {
			figs[id].Skipped = append(figs[id].Skipped, Skip{What: "part of this figure", Reason: "failed: " + err.Error()})
		}
	}
	for _, s := range stages {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		prog.Begin(s)
		switch s {
		case stageJitter:
			runs, err := runJitter(ctx, c.jitter, prog.Set)
			r.Jitter.Runs = runs
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s, err))
				r.Jitter.Skipped = append(r.Jitter.Skipped, Skip{What: "part of the jitter measurement", Reason: "failed: " + err.Error()})
			}
		case stageEpoch:
			runs, skips, err := runEpochs(ctx, &c.epoch, prog.Set)
			f := figs[FigEpoch]
			f.Epoch, f.Skipped = runs, append(f.Skipped, skips...)
			if err != nil {
				failed(s, err, FigEpoch)
			}
		case stageFeed:
			run, series, err := runFeed(ctx, c.feed, prog.Set)
			if err != nil {
				failed(s, err, FigFeed)
				break
			}
			figs[FigFeed].Feed, figs[FigFeed].Throughput = &run, series
		case stageT2V:
			runs, err := runT2V(ctx, &c.t2v, prog.Set)
			figs[FigT2V].Latency = append(runs, figs[FigT2V].Latency...)
			if err != nil {
				failed(s, err, FigT2V)
			}
		case stageLoad:
			res, err := runLoad(ctx, &c.load, prog.Set)
			if err != nil {
				failed(s, err, FigCheck, FigLoadTput)
				break
			}
			figs[FigCheck].Latency, figs[FigLoadTput].Throughput = res.latency, res.throughput
			figs[FigCheck].Skipped = append(figs[FigCheck].Skipped, res.skips...)
			figs[FigLoadTput].Skipped = append(figs[FigLoadTput].Skipped, res.skips...)
			if res.t2v != nil {
				figs[FigT2V].Latency = append(figs[FigT2V].Latency, *res.t2v)
			} else {
				figs[FigT2V].Skipped = append(figs[FigT2V].Skipped, Skip{What: "the appliance's own histogram",
					Reason: "ballastd's /metrics has no " + "ballast_tick_to_verdict_seconds samples (not wired, or its feed is not wall-clock stamped)"})
			}
		}
		prog.End()
	}
	if err := plotFigures(c.dir, r); err != nil {
		errs = append(errs, err)
	}
	return r, errors.Join(errs...)
}

// plotFigures draws every figure that has data and names its PNG.
func plotFigures(dir string, r *Report) error {
	var errs []error
	for i := range r.Figures {
		f := &r.Figures[i]
		file := f.ID + ".png"
		path := filepath.Join(dir, file)
		var err error
		switch {
		case f.ID == FigEpoch && len(f.Epoch) > 0:
			err = plotEpoch(path, f.Epoch, f.Meta)
		case f.ID == FigFeed && len(f.Throughput) > 0:
			err = plotSeries(path, "Feed handler replay throughput", byUnit(f.Throughput), f.Meta)
		case f.ID == FigT2V && len(f.Latency) > 0:
			err = plotPercentiles(path, "Tick-to-verdict latency (exchange send → first verdict on the new mark)", f.Latency, f.Meta)
		case f.ID == FigCheck && len(f.Latency) > 0:
			err = plotPercentiles(path, "Check latency per transport (open loop, from intended send)", f.Latency, f.Meta)
		case f.ID == FigLoadTput && len(f.Throughput) > 0:
			err = plotSeries(path, "Appliance verdicts per second during the load runs", byUnit(f.Throughput), f.Meta)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("plot %s: %w", f.ID, err))
			continue
		}
		f.Plot = file
	}
	return errors.Join(errs...)
}

// byUnit groups series by unit, in first-seen order (one panel each).
func byUnit(series []Series) [][]Series {
	var out [][]Series
	idx := map[string]int{}
	for _, s := range series {
		i, ok := idx[s.Unit]
		if !ok {
			i = len(out)
			idx[s.Unit] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], s)
	}
	return out
}

func epochMethod(c *config) string {
	return fmt.Sprintf("In-process through the engine (engine.RunEpoch): one warm-up epoch, then %d timed epochs per backend, "+
		"each from the call until the epoch is published (snapshot, batch, instrument summaries); the batch column is the backend's share. "+
		"Workloads: %s (%s, %d scenarios) for every backend that can run it, and %s (%s, %d scenarios) for all three, "+
		"the Verilator simulation included when hdl/build/ballast-vsim is built. GOMAXPROCS cores.",
		c.epoch.reps, c.epoch.reference.name, c.epoch.reference.dir, c.epoch.reference.scenarios,
		c.epoch.small.name, c.epoch.small.dir, c.epoch.small.scenarios)
}

func feedMethod(c *config) string {
	return fmt.Sprintf("A generated ITCH 5.0 session (sim/itchgen: %d symbols, %d messages, seed %d) in MoldUDP64 packets, "+
		"as a pcap capture in memory (sim/pcapw), replayed pass after pass for %v through the feed handler "+
		"(feedhandler/source pcap reader, MoldUDP64 sequencing, ITCH decoding, order books) on one goroutine; "+
		"a fresh handler per pass (its construction is not timed). Rates sampled every %v of replay time.",
		c.feed.symbols, c.feed.messages, c.feed.seed, c.feed.duration, c.feed.sample)
}

func t2vMethod(c *config) string {
	return fmt.Sprintf("In this process, over the real path: a simulated exchange (sim/itchgen, seed %d, %d symbols, %s msg/s) "+
		"stamps each ITCH message with its wall-clock send time (itchgen.NextWallClock) and sends MoldUDP64 over loopback UDP "+
		"(sim/udpsend); the feed handler (UDP source, recvmmsg) publishes ticks on the ring; the engine applies them to its marks "+
		"(%s, cpu backend, one epoch of %d scenarios); a checker asks pre-trade checks at a fixed rate on random accounts and instruments. "+
		"For every tick that moved a mark the engine records the time from the send to the first verdict that used the new mark "+
		"(engine.TickToVerdict) — so the figure includes the wait for the next check that touches that underlying, which shrinks "+
		"as the check rate grows; a mark replaced by a newer tick before any check used it is not counted (no verdict used it). "+
		"Same host, same clock. Sender, feed handler, engine and checker share the cores.",
		portfolio.DemoFeedSeed, portfolio.DemoFeedSymbols, rate0(c.t2v.feedRate), c.t2v.small.dir, t2vScenarios)
}

func loadMethod(c *config) string {
	return fmt.Sprintf("Against `%s` (built from this tree, demo universe and simulated feed, on this host), driven in-process by "+
		"sim/loadgen's open loop (fixed-rate schedule, latency from each request's intended send time, so stalls are not hidden): "+
		"%v warm-up then %v measured per run. Percentiles are loadgen's (HDR, 3 significant digits). The throughput series are "+
		"the appliance's verdict counters (/metrics, all transports) sampled every %v. The load generator, the appliance and its "+
		"feed share the cores.", c.load.applianceLine(), c.load.warmup, c.load.duration, c.load.sample)
}
