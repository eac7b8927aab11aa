// Package jitter measures the platform's jitter ("hiccups"): how often, and
// for how long, a thread that wants to run all the time is kept off its core
// (hypervisor steal, interrupts, other tasks, the kernel, the Go runtime's
// own preemption and GC). It is the floor under every latency figure
// measured on the machine, in the manner of jHiccup, sysjitter and
// cyclictest.
//
// Measure runs Spinners goroutines, each locked to its OS thread, each
// reading the monotonic clock back to back for Duration. A read costs about
// 25–50 ns, so an interval longer than GapFloorNs (1 µs) between two
// consecutive reads is a gap: time the spinner did not run. Every gap is
// counted against the thresholds 1, 3, 10, 25, 100 µs and 1 ms (how many
// gaps per second longer than each, and the share of time they took),
// recorded in an HDR histogram (3 significant digits) and kept in an exact
// list of up to 2^20 gaps per spinner.
//
// The gaps include the Go runtime's own interruptions, which every Go spin
// loop in Ballast pays too: sysmon preempts a goroutine that has run for
// 10 ms, and for a goroutine locked to its thread that is a hand-off
// between threads (tens of µs on a VM). Measure collects garbage before it
// starts and the spin loop allocates nothing, so no GC cycle runs during a
// measurement unless another goroutine of the process allocates.
//
// # The latency floor
//
// A request that arrives at a uniformly random instant during a gap of
// length g waits the residual r, uniform in [0, g). Over a measurement of T
// ns with gaps g_1..g_n, the chance of a wait longer than x is
//
//	P(delay > x) = Σ_i max(0, g_i − x) / T
//
// and the floor at probability p is the smallest x (ns) with
// P(delay > x) ≤ p: FloorP99Ns for p = 1 %, FloorP999Ns for p = 0.1 %. No
// request path on that core can have a lower p99 (p99.9), whatever its code
// does. A path that needs several cores at once (a client core and a server
// core) is delayed when any of them is away; with the cores taken as
// independent,
//
//	P_any(delay > x) = 1 − Π_c (1 − P_c(x))
//
// and the combined floors are the smallest x with P_any ≤ p. The floors are
// computed exactly from the gap list (FloorSource "exact"); a spinner whose
// list overflowed uses its histogram's buckets at their upper bounds
// (FloorSource "histogram": at most 0.1 % high). FloorOf, DelayProb and
// CombinedFloorOf are the same computations on any gap list.
package jitter

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Bounds and defaults of Options.
const (
	// DurationDefault is the measurement time when Options.Duration is 0.
	DurationDefault = 2 * time.Second
	// DurationMax bounds Options.Duration.
	DurationMax = 10 * time.Minute
	// SpinnersDefault is the number of spinners when Options.Spinners is 0.
	SpinnersDefault = 1
	// SpinnersMax bounds Options.Spinners (which is also bounded by the
	// cores: see SpinnersLimit).
	SpinnersMax = 64
)

// cancelEveryReads is how many clock reads a spinner makes between two
// looks at its context (a few hundred µs).
const cancelEveryReads = 4096

// ErrOptions reports Options out of their bounds.
var ErrOptions = errors.New("jitter: bad options")

// Options configure Measure. The zero value measures one spinner for
// DurationDefault.
type Options struct {
	// Duration is how long every spinner spins (0: DurationDefault; at most
	// DurationMax).
	Duration time.Duration
	// Spinners is the number of spinners, one core each (0:
	// SpinnersDefault; at most SpinnersLimit()).
	Spinners int
}

// SpinnersLimit is the most spinners Measure accepts here: the cores the
// process may use (runtime.NumCPU and GOMAXPROCS, since a spinner that has
// to share a P with another goroutine measures Go's scheduler, not the
// platform), at most SpinnersMax.
func SpinnersLimit() int {
	return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0), SpinnersMax))
}

// normalize fills the defaults and checks the bounds.
func (o Options) normalize() (Options, error) {
	if o.Duration == 0 {
		o.Duration = DurationDefault
	}
	if o.Spinners == 0 {
		o.Spinners = SpinnersDefault
	}
	if o.Duration < 0 || o.Duration > DurationMax {
		return o, fmt.Errorf("%w: duration %v outside (0, %v]", ErrOptions, o.Duration, DurationMax)
	}
	if lim := SpinnersLimit(); o.Spinners < 0 || o.Spinners > lim {
		return o, fmt.Errorf("%w: %d spinners outside 1..%d (the cores this process may use)", ErrOptions, o.Spinners, lim)
	}
	return o, nil
}

// Measure spins opts.Spinners goroutines, each locked to an OS thread,
// reading the monotonic clock for opts.Duration (overshooting by at most
// one batch of reads, a few hundred µs, and the gap then under way), and
// returns their gaps and floors. The spinners start together, after their
// memory is set up and a garbage collection. It needs up to 8 MiB per
// spinner for the gap lists, and blocks its cores for the duration.
// When ctx ends first, Measure returns the partial result (what each
// spinner measured until it noticed, within a few hundred µs) and
// ctx.Err(). Bad options return ErrOptions.
func Measure(ctx context.Context, opts Options) (Result, error) {
	opts, err := opts.normalize()
	if err != nil {
		return Result{}, err
	}
	// No gap is shorter than GapFloorNs, so a run of D ns holds at most
	// D/GapFloorNs of them before the deadline and one across it.
	listMax := int(min(int64(gapsMax), int64(opts.Duration)/GapFloorNs+2))
	tallies := make([]*tally, opts.Spinners)
	for i := range tallies {
		tallies[i] = newTally(listMax)
	}
	// Finish any GC cycle now, so that none runs during the measurement
	// (its workers would take the spinners' cores).
	runtime.GC()
	base := time.Now()
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var endNs int64 // set before start is closed
	for _, t := range tallies {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			spin(ctx, t, base, endNs)
		}()
	}
	ready.Wait()
	endNs = int64(time.Since(base) + opts.Duration)
	close(start)
	done.Wait()
	res := resultOf(opts, tallies)
	return res, ctx.Err()
}

// spin reads the clock until endNs (ns since base) or ctx's end.
func spin(ctx context.Context, t *tally, base time.Time, endNs int64) {
	cancelled := ctx.Done()
	t.start(int64(time.Since(base)))
	for {
		for range cancelEveryReads {
			t.observe(int64(time.Since(base)))
		}
		if t.last >= endNs {
			return
		}
		select {
		case <-cancelled:
			return
		default:
		}
	}
}
