package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
)

// fake is a backend whose behaviour the test switches.
type fake struct {
	name   string
	mode   atomic.Int32 // 0 ok, 1 error, 2 hang until released
	runs   atomic.Int64
	resets atomic.Int64
	hang   chan struct{}
}

const (
	modeOK = iota
	modeErr
	modeHang
	modeTooLarge
)

func newFake(name string) *fake { return &fake{name: name, hang: make(chan struct{})} }

func (f *fake) Name() string { return f.name }

func (f *fake) Reset() error { f.resets.Add(1); return nil }

func (f *fake) Risk(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	f.runs.Add(1)
	switch f.mode.Load() {
	case modeErr:
		return errors.New(f.name + ": device error")
	case modeTooLarge:
		return fmt.Errorf("%s: 40000 scenarios, at most 16384: %w", f.name, accel.ErrExceedsLimits)
	case modeHang:
		<-f.hang // ignores ctx, like a wedged device
	}
	// The same numbers on every backend, as the fixed-point backends give.
	n := len(job.Instruments)
	if cap(out.Value) < n {
		out.Value = make([]float64, n)
	}
	out.Value = out.Value[:n]
	for i := range out.Value {
		out.Value[i] = float64(i) * 1.5
	}
	out.Backend = f.name
	out.Scenarios = job.Scenarios.Count
	return nil
}

func testJob() *accel.RiskJob {
	return &accel.RiskJob{
		Underlyings: 1,
		Instruments: []accel.Instrument{{Kind: accel.Spot, S: 100, Carry: 1, Multiplier: 1}},
		Scenarios:   accel.Scenarios{Seed: 1, Count: 8, HorizonYears: 0.01, Vols: []float64{0.2}},
		Positions:   accel.Positions{Start: []uint32{0, 1}, Instrument: []uint32{0}, Qty: []float64{3}},
		KVaR:        1, KES: 1,
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newBackend(t *testing.T, p, f *fake, c *clock, deadline time.Duration) *Backend {
	t.Helper()
	b, err := New(p, f, Config{Deadline: deadline, RetryMin: time.Second, RetryMax: 4 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFailoverRerunsOnFallbackAndRecovers(t *testing.T) {
	p, f := newFake("vsim"), newFake("cpu")
	c := &clock{t: time.Unix(1000, 0)}
	b := newBackend(t, p, f, c, time.Minute)
	job := testJob()
	var out accel.RiskResult
	if err := b.Risk(context.Background(), job, &out); err != nil || out.Backend != "vsim" {
		t.Fatalf("healthy run: %v on %q", err, out.Backend)
	}
	want := append([]float64(nil), out.Value...)

	p.mode.Store(modeErr)
	if err := b.Risk(context.Background(), job, &out); err != nil || out.Backend != "cpu" {
		t.Fatalf("failing primary: %v on %q", err, out.Backend)
	}
	for i := range want {
		if out.Value[i] != want[i] {
			t.Fatalf("fallback value %d = %v, primary gave %v", i, out.Value[i], want[i])
		}
	}
	h := b.Health()
	if !h.Degraded || h.Failures != 1 || h.LastError == "" || !h.RetryAt.Equal(c.now().Add(time.Second)) {
		t.Fatalf("health after failure: %+v", h)
	}
	// While degraded and before RetryAt, the primary is not tried.
	runs := p.runs.Load()
	if err := b.Risk(context.Background(), job, &out); err != nil || out.Backend != "cpu" || p.runs.Load() != runs {
		t.Fatalf("degraded run went to the primary (%d runs) or failed: %v", p.runs.Load()-runs, err)
	}
	// The back-off doubles with consecutive failures and is capped.
	for i, wantBackoff := range []time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second} {
		c.advance(h.RetryAt.Sub(c.now()))
		if err := b.Risk(context.Background(), job, &out); err != nil {
			t.Fatal(err)
		}
		h = b.Health()
		if got := h.RetryAt.Sub(c.now()); got != wantBackoff {
			t.Fatalf("retry %d: back-off %v, want %v", i, got, wantBackoff)
		}
	}
	// Recovery: the primary works again; it is reset before the retry.
	p.mode.Store(modeOK)
	resets := p.resets.Load()
	c.advance(h.RetryAt.Sub(c.now()))
	if err := b.Risk(context.Background(), job, &out); err != nil || out.Backend != "vsim" {
		t.Fatalf("recovery run: %v on %q", err, out.Backend)
	}
	h = b.Health()
	if h.Degraded || h.Recoveries != 1 || p.resets.Load() != resets+1 {
		t.Fatalf("health after recovery: %+v, resets %d", h, p.resets.Load()-resets)
	}
	if h.PrimaryJobs != 2 || h.FallbackJobs != 5 || h.Failures != 4 {
		t.Fatalf("counters: %+v", h)
	}
}

// TestFailoverOversizeIsNotAFailure: a job beyond the primary's limits runs
// on the fallback, and the primary stays healthy for the next job.
func TestFailoverOversizeIsNotAFailure(t *testing.T) {
	p, f := newFake("vsim"), newFake("cpu")
	b := newBackend(t, p, f, &clock{t: time.Unix(1000, 0)}, time.Minute)
	var out accel.RiskResult
	p.mode.Store(modeTooLarge)
	if err := b.Risk(context.Background(), testJob(), &out); err != nil || out.Backend != "cpu" {
		t.Fatalf("oversize job: %v on %q", err, out.Backend)
	}
	if h := b.Health(); h.Degraded || h.Failures != 0 || h.Oversize != 1 || h.FallbackJobs != 1 {
		t.Fatalf("health after an oversize job: %+v", h)
	}
	p.mode.Store(modeOK)
	if err := b.Risk(context.Background(), testJob(), &out); err != nil || out.Backend != "vsim" {
		t.Fatalf("next job: %v on %q", err, out.Backend)
	}
}

func TestFailoverDeadline(t *testing.T) {
	p, f := newFake("fpga"), newFake("cpu")
	c := &clock{t: time.Unix(1000, 0)}
	b := newBackend(t, p, f, c, 20*time.Millisecond)
	p.mode.Store(modeHang)
	var out accel.RiskResult
	if err := b.Risk(context.Background(), testJob(), &out); err != nil || out.Backend != "cpu" {
		t.Fatalf("hung primary: %v on %q", err, out.Backend)
	}
	h := b.Health()
	if !h.Degraded || h.Deadlines != 1 {
		t.Fatalf("health after deadline: %+v", h)
	}
	// While the abandoned run has not returned, the primary is not used
	// even when the back-off has passed.
	c.advance(time.Hour)
	runs := p.runs.Load()
	if err := b.Risk(context.Background(), testJob(), &out); err != nil || p.runs.Load() != runs {
		t.Fatalf("primary used while its abandoned run is outstanding: %v", err)
	}
	// The abandoned run returns; it must not have written into out.
	out.Value[0] = -1
	p.mode.Store(modeOK)
	close(p.hang)
	deadline := time.Now().Add(5 * time.Second)
	for b.usePrimary() == false && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if out.Value[0] != -1 {
		t.Fatal("the abandoned primary run wrote into the caller's result")
	}
	if err := b.Risk(context.Background(), testJob(), &out); err != nil || out.Backend != "fpga" {
		t.Fatalf("after the abandoned run returned: %v on %q", err, out.Backend)
	}
}

func TestFailoverCallerCancel(t *testing.T) {
	p, f := newFake("vsim"), newFake("cpu")
	c := &clock{t: time.Unix(1000, 0)}
	b := newBackend(t, p, f, c, time.Minute)
	p.mode.Store(modeHang)
	defer close(p.hang)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	var out accel.RiskResult
	if err := b.Risk(ctx, testJob(), &out); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if b.Health().Failures != 0 {
		t.Fatal("a caller's cancellation counted as a device failure")
	}
}

func TestFailoverRefusesInvalidJob(t *testing.T) {
	p, f := newFake("vsim"), newFake("cpu")
	b := newBackend(t, p, f, &clock{t: time.Unix(0, 0)}, time.Minute)
	job := testJob()
	job.KVaR = 0
	var out accel.RiskResult
	if err := b.Risk(context.Background(), job, &out); !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("invalid job: %v", err)
	}
	if p.runs.Load()+f.runs.Load() != 0 {
		t.Fatal("an invalid job reached a backend")
	}
}

func TestFailoverConcurrent(t *testing.T) {
	p, f := newFake("vsim"), newFake("cpu")
	c := &clock{t: time.Unix(1000, 0)}
	b := newBackend(t, p, f, c, time.Minute)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var out accel.RiskResult
			for i := 0; i < 50; i++ {
				if i == 25 && w == 0 {
					p.mode.Store(modeErr)
				}
				if err := b.Risk(context.Background(), testJob(), &out); err != nil {
					t.Error(err)
					return
				}
				if out.Value[0] != 0 {
					t.Errorf("value %v", out.Value[0])
					return
				}
			}
		}(w)
	}
	wg.Wait()
	h := b.Health()
	if h.PrimaryJobs+h.FallbackJobs != 200 {
		t.Fatalf("jobs %d + %d, want 200", h.PrimaryJobs, h.FallbackJobs)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(nil, newFake("cpu"), Config{}); err == nil {
		t.Fatal("nil primary accepted")
	}
	if _, err := New(newFake("a"), newFake("b"), Config{RetryMin: time.Minute, RetryMax: time.Second}); err == nil {
		t.Fatal("RetryMax < RetryMin accepted")
	}
}
