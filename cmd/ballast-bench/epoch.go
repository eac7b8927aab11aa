package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/device"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/sim/portfolio"
)

// Epoch bounds.
const (
	// epochRepsMax bounds the repetitions per backend.
	epochRepsMax = 100
	// vsimJobTimeout bounds one batch on the simulated device.
	vsimJobTimeout = 10 * time.Minute
	// vsimMemBytes is the simulated device's host-memory window.
	vsimMemBytes = 64 << 20
)

// workload is an instrument master and accounts on disk, with the number
// of scenarios its epochs run.
type workload struct {
	name      string
	dir       string // under the repository root
	scenarios int
}

// epochBackend is a backend the figure runs: how to open it, and whether
// it runs on the workload.
type epochBackend struct {
	name string
	open func(ctx context.Context) (accel.Backend, func() error, error)
}

// epochConfig configures the epoch figure.
type epochConfig struct {
	root string // repository root
	reps int
	// reference is the headline workload (reference and cpu backends);
	// small is where every backend runs, vsim included (the simulated RTL
	// is far too slow for the reference workload).
	reference, small workload
	skip             map[string]bool // "vsim", "reference", "cpu"
}

func defaultBackends() []epochBackend {
	return []epochBackend{
		{name: "reference", open: func(context.Context) (accel.Backend, func() error, error) {
			return &kernel.Reference{}, func() error { return nil }, nil
		}},
		{name: "cpu", open: func(context.Context) (accel.Backend, func() error, error) {
			return &cpu.Backend{}, func() error { return nil }, nil
		}},
		{name: "vsim", open: func(ctx context.Context) (accel.Backend, func() error, error) {
			if err := vsim.Available(); err != nil {
				return nil, nil, err
			}
			be, closer, err := device.OpenVsim(ctx, vsim.Config{MemBytes: vsimMemBytes}, driver.Config{JobTimeout: vsimJobTimeout})
			if err != nil {
				return nil, nil, err
			}
			return be, closer, nil
		}},
	}
}

// vsimReferenceNote says why vsim does not run the reference workload.
const vsimReferenceNote = "the Verilator simulation runs at about 0.3–0.5 M device cycles/s; the reference epoch is billions of cycles (hours)"

// loadWorkload reads a workload's master and accounts.
func loadWorkload(root string, w workload) (*instrument.Master, *account.Set, error) {
	m, err := instrument.Load(filepath.Join(root, w.dir, "master.json"), portfolio.ReferenceAsOf)
	if err != nil {
		return nil, nil, err
	}
	set, err := account.Load(filepath.Join(root, w.dir, "accounts.json.gz"), m)
	if err != nil {
		return nil, nil, err
	}
	return m, set, nil
}

// epochJob is one (workload, backend) pair of the figure.
type epochJob struct {
	w       workload
	backend epochBackend
}

// epochJobs lists the pairs the figure runs, and the skipped ones.
func (c *epochConfig) jobs() ([]epochJob, []Skip) {
	var jobs []epochJob
	var skips []Skip
	for _, w := range []workload{c.reference, c.small} {
		for _, b := range defaultBackends() {
			if c.skip[b.name] {
				skips = append(skips, Skip{What: b.name + " on " + w.name, Reason: "--skip " + b.name})
				continue
			}
			if b.name == "vsim" && w.name == c.reference.name {
				skips = append(skips, Skip{What: "vsim on " + w.name, Reason: vsimReferenceNote})
				continue
			}
			jobs = append(jobs, epochJob{w: w, backend: b})
		}
	}
	return jobs, skips
}

// runEpochs measures epoch time per backend: for each job, one warm-up
// epoch, then c.reps timed epochs (RunEpoch until published).
func runEpochs(ctx context.Context, c *epochConfig, progress func(float64)) ([]EpochRun, []Skip, error) {
	if c.reps < 1 || c.reps > epochRepsMax {
		return nil, nil, fmt.Errorf("%w: epoch repetitions %d outside 1..%d", errUsage, c.reps, epochRepsMax)
	}
	jobs, skips := c.jobs()
	type loaded struct {
		m   *instrument.Master
		set *account.Set
	}
	cache := map[string]loaded{}
	var runs []EpochRun
	for i, j := range jobs {
		l, ok := cache[j.w.name]
		if !ok {
			m, set, err := loadWorkload(c.root, j.w)
			if err != nil {
				return runs, skips, fmt.Errorf("workload %s: %w", j.w.name, err)
			}
			l = loaded{m, set}
			cache[j.w.name] = l
		}
		be, closer, err := j.backend.open(ctx)
		if errors.Is(err, accel.ErrUnavailable) {
			skips = append(skips, Skip{What: j.backend.name + " on " + j.w.name, Reason: err.Error()})
			continue
		}
		if err != nil {
			return runs, skips, fmt.Errorf("backend %s: %w", j.backend.name, err)
		}
		r, err := timeEpochs(ctx, be, j, l.m, l.set, c.reps, func(f float64) {
			progress((float64(i) + f) / float64(len(jobs)))
		})
		if cerr := closer(); err == nil && cerr != nil {
			err = fmt.Errorf("closing %s: %w", j.backend.name, cerr)
		}
		if err != nil {
			return runs, skips, fmt.Errorf("%s on %s: %w", j.backend.name, j.w.name, err)
		}
		runs = append(runs, r)
	}
	return runs, skips, nil
}

// timeEpochs runs one warm-up and reps timed epochs of workload j on be.
func timeEpochs(ctx context.Context, be accel.Backend, j epochJob, m *instrument.Master, set *account.Set, reps int, progress func(float64)) (EpochRun, error) {
	cfg := engine.DefaultConfig(be)
	cfg.Scenarios = j.w.scenarios
	cfg.Now = func() time.Time { return portfolio.ReferenceAsOf }
	e, err := engine.New(cfg, m, set)
	if err != nil {
		return EpochRun{}, err
	}
	e.MarkAllFresh()
	r := EpochRun{Backend: j.backend.name, Workload: j.w.name, Scenarios: j.w.scenarios,
		Instruments: len(m.Instruments), Accounts: len(set.Accounts)}
	for i := 0; i <= reps; i++ {
		t0 := time.Now()
		ep, err := e.RunEpoch(ctx)
		if err != nil {
			return r, err
		}
		d := time.Since(t0)
		if ep.Backend != be.Name() {
			return r, fmt.Errorf("epoch computed by %q, not %q (the backend fell back)", ep.Backend, be.Name())
		}
		if i > 0 { // the first is the warm-up
			r.Seconds = append(r.Seconds, d.Seconds())
			r.BatchSeconds = append(r.BatchSeconds, ep.Duration.Seconds())
		}
		progress(float64(i+1) / float64(reps+1))
	}
	r.Min, r.Median, r.Max = stats(r.Seconds)
	return r, nil
}
