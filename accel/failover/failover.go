// Package failover runs risk batches on an accelerator and re-runs them on
// the CPU backend when the accelerator fails (DESIGN §3, issue 4): a job
// that errors or misses its deadline on the primary backend (vsim or fpga)
// is run again on the fallback (cpu). Because the fixed-point backends are
// bit-exact with each other, the re-run gives the same numbers, so verdicts
// do not change; only the time and the backend named in the result do.
//
// After a failure the backend is degraded: jobs go to the fallback directly
// and the primary is retried after a back-off that doubles with every
// consecutive failure (RetryMin to RetryMax). A primary that can be reset
// (Resetter) is reset before it is retried. Health reports the state, and
// every transition is logged.
package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/accel"
)

// Defaults.
const (
	// DeadlineDefault bounds one job on the primary.
	DeadlineDefault = 30 * time.Second
	// RetryMinDefault is the first back-off after a failure.
	RetryMinDefault = time.Second
	// RetryMaxDefault caps the back-off.
	RetryMaxDefault = 5 * time.Minute
)

// ErrDeadline reports a primary that did not finish a job in time.
var ErrDeadline = errors.New("failover: primary missed its deadline")

// Resetter is a backend that can be reset after a failure.
type Resetter interface {
	Reset() error
}

// Config configures a Backend.
type Config struct {
	// Deadline bounds one job on the primary (0: DeadlineDefault).
	Deadline time.Duration
	// RetryMin and RetryMax bound the back-off before the primary is tried
	// again after failing (0: defaults).
	RetryMin, RetryMax time.Duration
	// Logger receives state changes (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Health is a snapshot of the backend's state.
type Health struct {
	// Primary and Fallback name the two backends.
	Primary, Fallback string
	// Degraded is true while jobs run on the fallback.
	Degraded bool
	// Since is when the current state began.
	Since time.Time
	// LastError is the primary's last failure ("" if none).
	LastError string
	// RetryAt is when the primary will next be tried (zero unless degraded).
	RetryAt time.Time
	// PrimaryJobs and FallbackJobs count jobs completed by each backend.
	PrimaryJobs, FallbackJobs uint64
	// Failures counts primary errors; Deadlines counts missed deadlines
	// (included in Failures); Recoveries counts returns to the primary.
	Failures, Deadlines, Recoveries uint64
	// Oversize counts jobs the primary refused as beyond its limits
	// (accel.ErrExceedsLimits): run on the fallback, not failures.
	Oversize uint64
}

// Backend is an accel.Backend with failover. It is safe for concurrent use;
// jobs on the primary run one at a time.
type Backend struct {
	primary, fallback accel.Backend
	cfg               Config
	log               *slog.Logger

	mu        sync.Mutex
	h         Health
	streak    int  // consecutive primary failures
	abandoned bool // a timed-out primary run has not returned yet
	scratch   *accel.RiskResult
	primaryMu sync.Mutex // serialises primary runs
}

var _ accel.Backend = (*Backend)(nil)

// New returns a Backend that runs jobs on primary and falls back to
// fallback.
func New(primary, fallback accel.Backend, cfg Config) (*Backend, error) {
	if primary == nil || fallback == nil {
		return nil, fmt.Errorf("failover: primary and fallback are required")
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DeadlineDefault
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = RetryMinDefault
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = RetryMaxDefault
	}
	if cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("failover: RetryMax %v below RetryMin %v", cfg.RetryMax, cfg.RetryMin)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	b := &Backend{primary: primary, fallback: fallback, cfg: cfg, log: log, scratch: new(accel.RiskResult)}
	b.h = Health{Primary: primary.Name(), Fallback: fallback.Name(), Since: cfg.Now()}
	return b, nil
}

// Name names the primary backend.
func (b *Backend) Name() string { return b.primary.Name() }

// Health returns the current state.
func (b *Backend) Health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.h
}

// Degraded reports whether jobs currently run on the fallback.
func (b *Backend) Degraded() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.h.Degraded
}

// usePrimary decides whether this job goes to the primary.
func (b *Backend) usePrimary() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.abandoned {
		return false
	}
	return !b.h.Degraded || !b.cfg.Now().Before(b.h.RetryAt)
}

// Risk runs job on the primary, or on the fallback when the primary is
// degraded, fails or misses its deadline. Invalid jobs are refused without
// touching either backend. out.Backend names the backend that produced the
// numbers.
func (b *Backend) Risk(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	if err := job.Validate(); err != nil {
		return err
	}
	if b.usePrimary() {
		err := b.runPrimary(ctx, job, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, accel.ErrExceedsLimits) {
			// The primary is healthy; this job is beyond it.
			b.mu.Lock()
			b.h.Oversize++
			b.mu.Unlock()
		} else {
			b.fail(err)
		}
	}
	if err := b.fallback.Risk(ctx, job, out); err != nil {
		return fmt.Errorf("failover: fallback %s: %w", b.fallback.Name(), err)
	}
	b.mu.Lock()
	b.h.FallbackJobs++
	b.mu.Unlock()
	return nil
}

// runPrimary runs job on the primary into a private result and moves it to
// out on success, so that a run abandoned at its deadline never writes into
// out.
func (b *Backend) runPrimary(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	b.primaryMu.Lock()
	defer b.primaryMu.Unlock()
	b.mu.Lock()
	wasDegraded := b.h.Degraded
	res := b.scratch
	b.mu.Unlock()
	if wasDegraded {
		if r, ok := b.primary.(Resetter); ok {
			if err := r.Reset(); err != nil {
				return fmt.Errorf("reset before retry: %w", err)
			}
		}
	}
	pctx, cancel := context.WithTimeout(ctx, b.cfg.Deadline)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.primary.Risk(pctx, job, res) }()
	var err error
	select {
	case err = <-done:
	case <-pctx.Done():
		if ctx.Err() != nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w (%v)", ErrDeadline, b.cfg.Deadline)
		}
		b.mu.Lock()
		b.abandoned = true
		b.scratch = new(accel.RiskResult)
		b.mu.Unlock()
		go func() { // the run returns eventually: the primary may be used again
			<-done
			b.mu.Lock()
			b.abandoned = false
			b.mu.Unlock()
		}()
		if errors.Is(err, ErrDeadline) {
			b.mu.Lock()
			b.h.Deadlines++
			b.mu.Unlock()
		}
		return err
	}
	if err != nil {
		return err
	}
	*out, *res = *res, *out // out's old slices become the next scratch
	b.mu.Lock()
	b.h.PrimaryJobs++
	b.streak = 0
	if b.h.Degraded {
		b.h.Degraded = false
		b.h.Since = b.cfg.Now()
		b.h.RetryAt = time.Time{}
		b.h.Recoveries++
		b.log.Info("accelerator recovered", "backend", b.h.Primary)
	}
	b.mu.Unlock()
	return nil
}

// fail records a primary failure and schedules the next try.
func (b *Backend) fail(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.h.Failures++
	b.h.LastError = err.Error()
	backoff := b.cfg.RetryMin
	for i := 0; i < b.streak && backoff < b.cfg.RetryMax; i++ {
		backoff *= 2
	}
	backoff = min(backoff, b.cfg.RetryMax)
	b.streak++
	now := b.cfg.Now()
	b.h.RetryAt = now.Add(backoff)
	if !b.h.Degraded {
		b.h.Degraded = true
		b.h.Since = now
	}
	b.log.Warn("accelerator failed; running on fallback", "backend", b.h.Primary, "fallback", b.h.Fallback,
		"err", err, "consecutive", b.streak, "retry_in", backoff)
}
