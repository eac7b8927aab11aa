package main

// The accelerator (DESIGN §3, §5.4): --accel picks the backend the risk
// engine's batches run on, a boot check proves it bit-identical to the cpu
// backend before the appliance serves anything, and its state joins the
// statistics line and the summary.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/device"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/failover"
	"github.com/ballast-risk/ballast/accel/fpga"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
	"github.com/ballast-risk/ballast/accel/vsim"
)

// --accel values.
const (
	accelCPU  = "cpu"
	accelVsim = "vsim"
	accelFPGA = "fpga"
)

// Boot check.
const (
	// bootSeed seeds the boot batch (its job and its scenarios).
	bootSeed = 0xBA11A57
	// bootTimeoutDefault bounds the boot batch on the chosen backend: the
	// Verilator simulation runs a small batch in seconds, a stalled device
	// never.
	bootTimeoutDefault = 2 * time.Minute
)

// bootJob shapes the boot batch: small enough for the Verilator simulation
// (U ≤ 4, I ≤ 16, A ≤ 8, S ≤ 256), and with correlated Monte Carlo
// scenarios and a stress grid so that every stage of the chain (SCENGEN,
// REVAL, AGGTAIL, GREEKS) contributes to the compared numbers.
var bootJob = jobtest.Options{U: 4, Instruments: 16, Accounts: 8, Scenarios: 256, Correlated: true, Stress: true}

// errBootMismatch reports a backend whose boot batch differs from the cpu
// backend's.
var errBootMismatch = errors.New("result differs from the cpu backend")

// deviceOpener opens a device backend; the function it returns closes the
// driver and the device.
type deviceOpener func(ctx context.Context) (*device.Backend, func() error, error)

// accelConfig selects and configures the accelerator.
type accelConfig struct {
	// kind is --accel: cpu, vsim or fpga.
	kind string
	// vsim, fpga and driver configure device.OpenVsim and
	// device.OpenFPGA (zero values: the defaults, $BALLAST_VSIM).
	vsim   vsim.Config
	fpga   fpga.Config
	driver driver.Config
	// open, when set, opens the device of a vsim or fpga kind instead
	// (tests: a device model behind the same code path).
	open deviceOpener
	// bootTimeout bounds the boot batch (0: bootTimeoutDefault).
	bootTimeout time.Duration
}

// validAccel reports whether kind is an --accel value.
func validAccel(kind string) bool {
	return kind == accelCPU || kind == accelVsim || kind == accelFPGA
}

// opener returns the device opener of c.kind (vsim or fpga). The driver's
// own job time-out defaults to the boot check's bound, so that the boot
// batch and accel/failover's deadline, not the driver, bound a batch.
func (c *accelConfig) opener() deviceOpener {
	if c.open != nil {
		return c.open
	}
	dcfg := c.driver
	if dcfg.JobTimeout == 0 {
		dcfg.JobTimeout = c.bootTimeout
		if dcfg.JobTimeout <= 0 {
			dcfg.JobTimeout = bootTimeoutDefault
		}
	}
	if c.kind == accelFPGA {
		fcfg := c.fpga
		return func(context.Context) (*device.Backend, func() error, error) { return device.OpenFPGA(fcfg, dcfg) }
	}
	vcfg := c.vsim
	return func(ctx context.Context) (*device.Backend, func() error, error) {
		return device.OpenVsim(ctx, vcfg, dcfg)
	}
}

// countedBackend counts the batches of a backend without failover (cpu).
type countedBackend struct {
	accel.Backend
	jobs, failures atomic.Uint64
}

// Risk runs the batch and counts it.
func (c *countedBackend) Risk(ctx context.Context, j *accel.RiskJob, out *accel.RiskResult) error {
	err := c.Backend.Risk(ctx, j, out)
	if err != nil {
		c.failures.Add(1)
	} else {
		c.jobs.Add(1)
	}
	return err
}

// accelerator is the risk backend the daemon holds for the engine: the cpu
// backend, or a device (vsim, fpga) behind accel/failover with cpu as the
// fallback.
type accelerator struct {
	kind    string
	backend accel.Backend   // what risk batches are submitted to
	counted *countedBackend // kind cpu
	dev     *device.Backend // kinds vsim and fpga
	fo      *failover.Backend
	closer  func() error // closes the device; nil for cpu
	// refused is set when the device refused the boot batch (beyond its
	// limits, or without the kernel's opcodes): batches run on the
	// fallback.
	refused bool
	// down records a failed device probe, so that only transitions are
	// logged.
	down atomic.Bool
}

// openAccel opens the backend cfg selects and runs the boot check on it. An
// absent device, a failed batch or a result that differs from the cpu
// backend's is an error; the device is closed again then.
func openAccel(ctx context.Context, cfg accelConfig, log *slog.Logger) (*accelerator, error) {
	a := &accelerator{kind: cfg.kind}
	if cfg.kind == accelCPU {
		a.counted = &countedBackend{Backend: &cpu.Backend{}}
		a.backend = a.counted
	} else {
		dev, closer, err := cfg.opener()(ctx)
		if err != nil {
			return nil, fmt.Errorf("--accel=%s: %w", cfg.kind, err)
		}
		a.dev, a.closer = dev, closer
		a.fo, err = failover.New(dev, &cpu.Backend{}, failover.Config{Logger: log})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("--accel=%s: %w", cfg.kind, err), a.close())
		}
		a.backend = a.fo
	}
	timeout := cfg.bootTimeout
	if timeout <= 0 {
		timeout = bootTimeoutDefault
	}
	if err := a.bootCheck(ctx, timeout, log); err != nil {
		return nil, errors.Join(fmt.Errorf("--accel=%s: boot check: %w", cfg.kind, err), a.close())
	}
	return a, nil
}

// bootCheck runs the boot batch on the chosen backend itself (the device,
// not its failover, which would hide a failure behind the fallback) and on
// the cpu reference (one worker, the portable kernel), and requires the two
// results to be the same bit for bit. A device that refuses the batch as
// beyond its limits or lacks the kernel's opcodes is logged as a warning:
// batches will run on the fallback.
func (a *accelerator) bootCheck(ctx context.Context, timeout time.Duration, log *slog.Logger) error {
	j := jobtest.Random(bootSeed, bootJob)
	var target accel.Backend = a.dev
	if a.dev == nil {
		target = a.counted.Backend
	}
	ref := &cpu.Backend{Workers: 1, Kernel: cpu.KernelScalar}
	var want, got accel.RiskResult
	refStart := time.Now()
	if err := ref.Risk(ctx, j, &want); err != nil {
		return fmt.Errorf("cpu reference: %w", err)
	}
	refTook := time.Since(refStart)

	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := target.Risk(bctx, j, &got)
	took := time.Since(start)
	batch := fmt.Sprintf("U=%d I=%d A=%d S=%d seed=%#x", j.Underlyings, len(j.Instruments),
		j.Positions.Accounts(), j.Scenarios.Total(j.Underlyings), uint64(bootSeed))
	attrs := append([]any{"backend", target.Name()}, a.infoAttrs()...)
	attrs = append(attrs, "batch", batch)

	var le *device.LimitError
	switch {
	case err == nil:
	case a.dev != nil && errors.As(err, &le) && le.Limit == device.LimitOpcode && errors.Is(err, accel.ErrUnavailable):
		a.refused = true
		log.Warn("accelerator lacks the risk kernel; risk batches will run on the cpu fallback",
			append(attrs, "missing", le.Op, "reason", err.Error())...)
		return nil
	case a.dev != nil && errors.Is(err, accel.ErrExceedsLimits):
		a.refused = true
		log.Warn("boot batch beyond the accelerator's limits; risk batches will run on the cpu fallback",
			append(attrs, "reason", err.Error())...)
		return nil
	default:
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", context.Cause(ctx))
		}
		return fmt.Errorf("%s: %w", target.Name(), err)
	}
	if got.Backend != target.Name() {
		return fmt.Errorf("%s: %w: the result names backend %q", target.Name(), errBootMismatch, got.Backend)
	}
	if err := sameResult(&got, &want); err != nil {
		return fmt.Errorf("%s: %w: %v", target.Name(), errBootMismatch, err)
	}
	log.Info("accelerator ready", append(attrs, "took", took, "cpu_took", refTook, "result", "bit-identical to cpu")...)
	return nil
}

// infoAttrs describe the backend: the device's identity and limits, or the
// cpu kernel.
func (a *accelerator) infoAttrs() []any {
	if a.dev == nil {
		return []any{"kernel", string(cpu.Best()), "workers", min(runtime.GOMAXPROCS(0), cpu.WorkersMax)}
	}
	i := a.dev.Device().Info()
	return []any{"fallback", cpu.Name, "lanes", i.Lanes, "caps", fmt.Sprintf("%#x", i.Caps),
		"agg_cols_max", i.AggColsMax, "scengen_u_max", i.ScenGenUMax, "clk_mhz", i.ClkMHz,
		"abi", fmt.Sprintf("%d.%d", i.ABI>>16, i.ABI&0xFFFF), "tables_hash", fmt.Sprintf("%#08x", i.TablesHash),
		"arena_bytes", a.dev.Device().ArenaBytes()}
}

// sameResult returns nil when got equals want field by field, every
// float64 bit for bit (a NaN is never equal), else the first difference.
func sameResult(got, want *accel.RiskResult) error {
	if got.Scenarios != want.Scenarios {
		return fmt.Errorf("Scenarios %d, cpu %d", got.Scenarios, want.Scenarios)
	}
	for _, f := range [...]struct {
		name string
		g, w []float64
	}{
		{"Value", got.Value, want.Value}, {"InstrumentLoss", got.InstrumentLoss, want.InstrumentLoss},
		{"InstrumentStress", got.InstrumentStress, want.InstrumentStress},
		{"AccountLoss", got.AccountLoss, want.AccountLoss},
		{"VaR", got.VaR, want.VaR}, {"ES", got.ES, want.ES}, {"MeanLoss", got.MeanLoss, want.MeanLoss},
	} {
		if len(f.g) != len(f.w) {
			return fmt.Errorf("%s has %d values, cpu %d", f.name, len(f.g), len(f.w))
		}
		for i := range f.g {
			if !sameFloat(f.g[i], f.w[i]) {
				return fmt.Errorf("%s[%d] = %v, cpu %v", f.name, i, f.g[i], f.w[i])
			}
		}
	}
	if len(got.Greeks) != len(want.Greeks) {
		return fmt.Errorf("Greeks has %d values, cpu %d", len(got.Greeks), len(want.Greeks))
	}
	names := [...]string{"Price", "Delta", "Gamma", "Vega", "Theta", "Rho", "Vanna", "Volga"}
	for i := range got.Greeks {
		g, w := greekValues(&got.Greeks[i]), greekValues(&want.Greeks[i])
		for k := range g {
			if !sameFloat(g[k], w[k]) {
				return fmt.Errorf("Greeks[%d].%s = %v, cpu %v", i, names[k], g[k], w[k])
			}
		}
	}
	return nil
}

func greekValues(g *accel.Greeks) [8]float64 {
	return [8]float64{g.Price, g.Delta, g.Gamma, g.Vega, g.Theta, g.Rho, g.Vanna, g.Volga}
}

// sameFloat is float64 equality that also tells +0 from −0.
func sameFloat(x, y float64) bool { return x == y && math.Float64bits(x) == math.Float64bits(y) }

// accelState is a snapshot of the accelerator for the logs.
type accelState struct {
	backend  string
	wrapped  bool            // a device behind failover
	refused  bool            // the device refused the boot batch
	health   failover.Health // wrapped
	jobs     uint64          // cpu: batches completed
	failures uint64          // cpu: batches failed
	// devErr is the device probe's failure ("" when its registers
	// answered); cycles is its cycle counter.
	devErr string
	cycles uint64
}

// state returns the accelerator's state, probing a device's registers (a
// dead or stalled simulator, a card gone from the bus, fail the probe).
func (a *accelerator) state() accelState {
	s := accelState{backend: a.backend.Name()}
	if a.fo == nil {
		s.jobs, s.failures = a.counted.jobs.Load(), a.counted.failures.Load()
		return s
	}
	s.wrapped, s.refused, s.health = true, a.refused, a.fo.Health()
	st, err := a.dev.Device().Stats()
	if err != nil {
		s.devErr = err.Error()
	} else {
		s.cycles = st.Cycles
	}
	return s
}

// observe is state, logging when the device probe starts or stops failing.
func (a *accelerator) observe(log *slog.Logger) accelState {
	s := a.state()
	if !s.wrapped {
		return s
	}
	if down := s.devErr != ""; a.down.Swap(down) != down {
		if down {
			log.Error("accelerator device not answering; risk batches will run on the cpu fallback",
				"backend", s.backend, "err", s.devErr)
		} else {
			log.Info("accelerator device answering again", "backend", s.backend)
		}
	}
	return s
}

// attrs renders the state as log attributes.
func (s *accelState) attrs() []any {
	if !s.wrapped {
		return []any{"backend", s.backend, "degraded", false, "primary_jobs", s.jobs, "fallback_jobs", uint64(0),
			"failures", s.failures, "boot", "bit-identical"}
	}
	h := &s.health
	boot := "bit-identical"
	if s.refused {
		boot = "refused"
	}
	a := []any{"backend", s.backend, "degraded", h.Degraded, "primary_jobs", h.PrimaryJobs,
		"fallback_jobs", h.FallbackJobs, "failures", h.Failures, "fallback", h.Fallback, "boot", boot,
		"oversize", h.Oversize, "deadlines", h.Deadlines, "recoveries", h.Recoveries}
	if h.LastError != "" {
		a = append(a, "last_error", h.LastError)
	}
	if s.devErr != "" {
		return append(a, "device", s.devErr)
	}
	return append(a, "device", "ok", "device_cycles", s.cycles)
}

// close closes the device (the driver, then the simulator or the card);
// nil for cpu.
func (a *accelerator) close() error {
	if a.closer == nil {
		return nil
	}
	c := a.closer
	a.closer = nil
	return c()
}
