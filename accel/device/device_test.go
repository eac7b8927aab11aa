package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/driver/devmodel"
	"github.com/ballast-risk/ballast/accel/failover"
	"github.com/ballast-risk/ballast/accel/internal/regs"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
)

// openModel opens the model backend and closes it with the test.
func openModel(t testing.TB, dcfg driver.Config, opts ...devmodel.Option) (*Backend, *devmodel.Model) {
	t.Helper()
	b, m, closer, err := OpenModel(dcfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closer(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return b, m
}

// sameBits reports the first field where two results differ (Backend
// aside), comparing every float64 bit for bit.
func sameBits(a, b *accel.RiskResult) error {
	if a.Scenarios != b.Scenarios {
		return fmt.Errorf("Scenarios %d vs %d", a.Scenarios, b.Scenarios)
	}
	for _, f := range []struct {
		name string
		x, y []float64
	}{
		{"Value", a.Value, b.Value}, {"InstrumentLoss", a.InstrumentLoss, b.InstrumentLoss},
		{"InstrumentStress", a.InstrumentStress, b.InstrumentStress}, {"AccountLoss", a.AccountLoss, b.AccountLoss},
		{"VaR", a.VaR, b.VaR}, {"ES", a.ES, b.ES}, {"MeanLoss", a.MeanLoss, b.MeanLoss},
	} {
		if len(f.x) != len(f.y) {
			return fmt.Errorf("%s: %d vs %d values", f.name, len(f.x), len(f.y))
		}
		for i := range f.x {
			if math.Float64bits(f.x[i]) != math.Float64bits(f.y[i]) {
				return fmt.Errorf("%s[%d]: %v vs %v", f.name, i, f.x[i], f.y[i])
			}
		}
	}
	if len(a.Greeks) != len(b.Greeks) {
		return fmt.Errorf("Greeks: %d vs %d", len(a.Greeks), len(b.Greeks))
	}
	for i := range a.Greeks {
		x, y := a.Greeks[i], b.Greeks[i]
		xs := []float64{x.Price, x.Delta, x.Gamma, x.Vega, x.Theta, x.Rho, x.Vanna, x.Volga}
		ys := []float64{y.Price, y.Delta, y.Gamma, y.Vega, y.Theta, y.Rho, y.Vanna, y.Volga}
		for k := range xs {
			if math.Float64bits(xs[k]) != math.Float64bits(ys[k]) {
				return fmt.Errorf("Greeks[%d] field %d: %v vs %v", i, k, xs[k], ys[k])
			}
		}
	}
	return nil
}

// cpuResult runs j on the cpu backend.
func cpuResult(t testing.TB, j *accel.RiskJob) *accel.RiskResult {
	t.Helper()
	var r accel.RiskResult
	if err := (&cpu.Backend{}).Risk(context.Background(), j, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// checkIdentical runs j on b and compares it with the cpu backend and with
// job.Plan.Execute, bit for bit.
func checkIdentical(t *testing.T, b accel.Backend, j *accel.RiskJob) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got accel.RiskResult
	if err := b.Risk(ctx, j, &got); err != nil {
		t.Fatal(err)
	}
	if got.Backend != b.Name() {
		t.Fatalf("Backend %q, want %q", got.Backend, b.Name())
	}
	if err := sameBits(&got, cpuResult(t, j)); err != nil {
		t.Fatalf("%s vs cpu: %v", b.Name(), err)
	}
	p, err := job.NewPlan(j)
	if err != nil {
		t.Fatal(err)
	}
	var ex accel.RiskResult
	if err := p.Execute("exec", nil, &ex); err != nil {
		t.Fatal(err)
	}
	if err := sameBits(&got, &ex); err != nil {
		t.Fatalf("%s vs Plan.Execute: %v", b.Name(), err)
	}
	nonzero := p.A == 0 || p.Positions == 0
	for _, v := range got.AccountLoss {
		nonzero = nonzero || v != 0
	}
	if got.Scenarios != p.S || len(got.VaR) != p.A || !nonzero {
		t.Fatalf("implausible result: %d scenarios, %d accounts, all account losses zero: %v", got.Scenarios, len(got.VaR), !nonzero)
	}
}

func sortedConfigs() []string {
	names := make([]string, 0, len(jobtest.Configs))
	for n := range jobtest.Configs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestModelBitIdentical runs every job shape of jobtest, at several seeds
// and sizes, through the driver and the device model's executors, and
// compares with the cpu backend and Plan.Execute bit for bit.
func TestModelBitIdentical(t *testing.T) {
	b, _ := openModel(t, driver.Config{}, devmodel.WithMemory(64<<20, devmodel.DefaultIOVA))
	for _, name := range sortedConfigs() {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", name, seed), func(t *testing.T) {
				checkIdentical(t, b, jobtest.Random(seed*101, jobtest.Configs[name]))
			})
		}
	}
	for _, o := range []jobtest.Options{
		{U: 1, Instruments: 1, Accounts: 1, Scenarios: 1},
		{U: 1, Instruments: 3, Accounts: 0, Scenarios: 17},
		{U: 7, Instruments: 9, Accounts: 5, Scenarios: 16, Historical: 16, Stress: true},
		{U: 12, Instruments: 150, Accounts: 200, Scenarios: 3000, Correlated: true, VolOfVol: 0.4, Stress: true, PositionsMax: 20},
		{U: 2, Instruments: 30, Accounts: 60, Historical: 1001, Stress: true, Model: accel.DeltaGammaVega},
	} {
		t.Run(fmt.Sprintf("U%d-I%d-A%d-S%d-H%d", o.U, o.Instruments, o.Accounts, o.Scenarios, o.Historical), func(t *testing.T) {
			checkIdentical(t, b, jobtest.Random(7, o))
		})
	}
}

// TestModelLayout checks the model advertises the kernel and its limits.
func TestModelLayout(t *testing.T) {
	b, _ := openModel(t, driver.Config{})
	info := b.Device().Info()
	for _, op := range []uint16{regs.OpScengen, regs.OpReval, regs.OpAggtail, regs.OpGreeks} {
		if !info.Supports(op) {
			t.Errorf("model does not advertise %s (ID_CAPS %#x)", regs.OpcodeName(op), info.Caps)
		}
	}
	if info.AggColsMax != devmodel.RiskAggColsMax || info.ScenGenUMax != devmodel.RiskScenGenUMax || info.TablesHash == 0 {
		t.Errorf("limits %d, %d, tables %#x", info.AggColsMax, info.ScenGenUMax, info.TablesHash)
	}
	if b.Name() != NameModel {
		t.Errorf("name %q", b.Name())
	}
}

func wantLimit(t *testing.T, err error, limit string) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != limit || !errors.Is(err, accel.ErrUnavailable) || !errors.Is(err, ErrLimit) {
		t.Fatalf("error %v, want a %q LimitError wrapping accel.ErrUnavailable", err, limit)
	}
	if !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("message %q does not say unavailable", err)
	}
	return le
}

// TestLimits checks every refusal: the batch never reaches the device and
// out is left alone.
func TestLimits(t *testing.T) {
	ctx := context.Background()
	small := jobtest.Options{U: 9, Instruments: 10, Accounts: 10, Scenarios: 300}
	t.Run("tail scenarios", func(t *testing.T) {
		b, _ := openModel(t, driver.Config{}, devmodel.WithLimits(256, 16))
		out := accel.RiskResult{Backend: "untouched"}
		le := wantLimit(t, b.Risk(ctx, jobtest.Random(1, small), &out), LimitTailScenarios)
		if le.Need != 300 || le.Max != 256 || out.Backend != "untouched" {
			t.Fatalf("%+v, out %q", le, out.Backend)
		}
		o := small
		o.Scenarios = 256
		checkIdentical(t, b, jobtest.Random(1, o))
	})
	t.Run("underlyings", func(t *testing.T) {
		b, _ := openModel(t, driver.Config{}, devmodel.WithLimits(4096, 8))
		le := wantLimit(t, b.Risk(ctx, jobtest.Random(1, small), new(accel.RiskResult)), LimitUnderlyings)
		if le.Need != 9 || le.Max != 8 || le.Op != "SCENGEN" {
			t.Fatalf("%+v", le)
		}
		// Without Monte Carlo columns SCENGEN is left out: the limit does not apply.
		o := small
		o.Scenarios, o.Historical = 0, 100
		checkIdentical(t, b, jobtest.Random(1, o))
	})
	t.Run("opcode", func(t *testing.T) {
		caps := uint32(1<<regs.CapSelftestPhiloxBit | 1<<regs.CapSelftestCopyBit | 1<<regs.CapScengenBit | 1<<regs.CapRevalBit | 1<<regs.CapAggtailBit)
		b, _ := openModel(t, driver.Config{}, devmodel.WithCaps(caps))
		err := b.Risk(ctx, jobtest.Random(1, small), new(accel.RiskResult))
		le := wantLimit(t, err, LimitOpcode)
		if le.Op != "GREEKS" || !errors.Is(err, driver.ErrUnsupported) {
			t.Fatalf("%v", err)
		}
	})
	big := jobtest.Options{U: 3, Instruments: 40, Accounts: 40, Scenarios: 2000}
	t.Run("arena", func(t *testing.T) {
		b, _ := openModel(t, driver.Config{ArenaBytes: 256 << 10}, devmodel.WithMemory(1<<20, devmodel.DefaultIOVA))
		le := wantLimit(t, b.Risk(ctx, jobtest.Random(1, big), new(accel.RiskResult)), LimitArena)
		if le.Max != 256<<10 || le.Need <= le.Max {
			t.Fatalf("%+v", le)
		}
		checkIdentical(t, b, jobtest.Random(1, jobtest.Configs["gaussian"]))
	})
	t.Run("driver arena", func(t *testing.T) {
		// Without WithArenaBytes the backend knows the driver's arena.
		m, err := devmodel.New(devmodel.WithRiskKernel(), devmodel.WithMemory(1<<20, devmodel.DefaultIOVA))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		dev, err := driver.Open(m, m, driver.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Close()
		b := New("custom", dev)
		err = b.Risk(ctx, jobtest.Random(1, big), new(accel.RiskResult))
		le := wantLimit(t, err, LimitArena)
		if le.Max != uint64(dev.ArenaBytes()) || le.Need <= le.Max || !errors.Is(err, accel.ErrExceedsLimits) {
			t.Fatalf("%+v: %v", le, err)
		}
		checkIdentical(t, b, jobtest.Random(1, jobtest.Configs["gaussian"]))
	})
	t.Run("ring", func(t *testing.T) {
		// Four descriptors do not fit a ring of two.
		b, _ := openModel(t, driver.Config{Entries: 2})
		err := b.Risk(ctx, jobtest.Random(1, jobtest.Configs["gaussian"]), new(accel.RiskResult))
		wantLimit(t, err, LimitDriver)
		if !errors.Is(err, driver.ErrInvalidJob) || !strings.Contains(err.Error(), "ring") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("invalid job", func(t *testing.T) {
		b, _ := openModel(t, driver.Config{})
		j := jobtest.Random(1, small)
		j.KVaR = 0
		if err := b.Risk(ctx, j, new(accel.RiskResult)); !errors.Is(err, accel.ErrInvalidJob) || errors.Is(err, accel.ErrUnavailable) {
			t.Fatalf("%v", err)
		}
	})
}

// TestModelEnforcesLimits bypasses the backend's check: the model itself
// answers BAD_DESC beyond its advertised limits, as the RTL does.
func TestModelEnforcesLimits(t *testing.T) {
	b, _ := openModel(t, driver.Config{}, devmodel.WithLimits(256, 8))
	b.info.AggColsMax, b.info.ScenGenUMax = 1<<20, 4096
	for _, c := range []struct {
		o  jobtest.Options
		op uint16
	}{
		{jobtest.Options{U: 9, Instruments: 5, Accounts: 5, Scenarios: 100}, regs.OpScengen},
		{jobtest.Options{U: 2, Instruments: 5, Accounts: 5, Scenarios: 300}, regs.OpAggtail},
	} {
		err := b.Risk(context.Background(), jobtest.Random(3, c.o), new(accel.RiskResult))
		var de *driver.DeviceError
		if !errors.As(err, &de) || de.Status != regs.CodeBadDesc || de.Opcode != c.op || !strings.Contains(err.Error(), regs.OpcodeName(c.op)+":") {
			t.Fatalf("%v, want BAD_DESC on %s", err, regs.OpcodeName(c.op))
		}
	}
}

// TestDeviceErrors checks a failed descriptor, a halt and a hang surface as
// the driver's typed errors and that the backend works again afterwards.
func TestDeviceErrors(t *testing.T) {
	b, m := openModel(t, driver.Config{})
	j := jobtest.Random(5, jobtest.Configs["vol-shocks"])
	ctx := context.Background()
	out := accel.RiskResult{Backend: "untouched"}

	// FAULT_INJECT: the next descriptor (SCENGEN) fails with DMA_READ.
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectDMARead); err != nil {
		t.Fatal(err)
	}
	err := b.Risk(ctx, j, &out)
	var de *driver.DeviceError
	if !errors.As(err, &de) || de.Status != regs.CodeDMARead || de.Opcode != regs.OpScengen || de.Pos != 0 ||
		!errors.Is(err, driver.ErrDevice) || !strings.Contains(err.Error(), "device model: SCENGEN:") {
		t.Fatalf("%v", err)
	}
	if out.Backend != "untouched" {
		t.Fatal("a failed batch wrote its result")
	}
	checkIdentical(t, b, j) // non-fatal: the device goes on

	// A fatal descriptor-fetch error halts the device until Reset.
	m.InjectDescReadError()
	if err := b.Risk(ctx, j, &out); !errors.Is(err, driver.ErrHalted) {
		t.Fatalf("%v, want ErrHalted", err)
	}
	if err := b.Risk(ctx, j, &out); !errors.Is(err, driver.ErrHalted) {
		t.Fatalf("%v, want ErrHalted until reset", err)
	}
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}
	checkIdentical(t, b, j)

	// A hung descriptor: the context's deadline ends the batch.
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectHang); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = b.Risk(tctx, j, &out)
	cancel()
	if !errors.Is(err, driver.ErrTimeout) {
		t.Fatalf("%v, want ErrTimeout", err)
	}
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}
	checkIdentical(t, b, j)
}

// TestCompletionSize checks that a device reporting the wrong out_bytes is
// refused rather than decoded.
func TestCompletionSize(t *testing.T) {
	short := func(src, dst []byte, _ driver.Descriptor, _ devmodel.DMA) (int, uint16) {
		n, st := job.ExecGreeks(src, dst)
		return n - 64, st
	}
	b, _ := openModel(t, driver.Config{}, devmodel.HandleDMA(regs.OpGreeks, short))
	err := b.Risk(context.Background(), jobtest.Random(1, jobtest.Configs["gaussian"]), new(accel.RiskResult))
	if !errors.Is(err, ErrCompletion) || !strings.Contains(err.Error(), "GREEKS") {
		t.Fatalf("%v", err)
	}
}

// TestConcurrent runs batches from several goroutines on one backend (run
// it with -race) and checks each against the cpu backend.
func TestConcurrent(t *testing.T) {
	b, _ := openModel(t, driver.Config{Entries: 16}, devmodel.WithMemory(32<<20, devmodel.DefaultIOVA))
	names := sortedConfigs()
	jobs := make([]*accel.RiskJob, len(names))
	want := make([]*accel.RiskResult, len(names))
	for i, n := range names {
		jobs[i] = jobtest.Random(uint64(40+i), jobtest.Configs[n])
		want[i] = cpuResult(t, jobs[i])
	}
	const workers, rounds = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out accel.RiskResult
			for r := range rounds {
				k := (w + r*workers) % len(jobs)
				if err := b.Risk(context.Background(), jobs[k], &out); err != nil {
					errs <- err
					return
				}
				if err := sameBits(&out, want[k]); err != nil {
					errs <- fmt.Errorf("job %s: %w", names[k], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestFailover composes accel/failover with the model as primary and cpu as
// fallback: a device fault re-runs the batch on cpu (same numbers), marks
// the backend degraded, and the primary comes back after the back-off.
func TestFailover(t *testing.T) {
	b, m := openModel(t, driver.Config{})
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	fo, err := failover.New(b, &cpu.Backend{}, failover.Config{
		RetryMin: time.Second, RetryMax: time.Minute, Now: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	j := jobtest.Random(9, jobtest.Configs["correlated"])
	want := cpuResult(t, j)
	ctx := context.Background()
	var out accel.RiskResult
	if err := fo.Risk(ctx, j, &out); err != nil || out.Backend != NameModel {
		t.Fatalf("healthy: %v, backend %q", err, out.Backend)
	}
	if err := m.Write32(regs.RegFaultInject, regs.FaultInjectDMARead); err != nil {
		t.Fatal(err)
	}
	if err := fo.Risk(ctx, j, &out); err != nil {
		t.Fatal(err)
	}
	h := fo.Health()
	if out.Backend != cpu.Name || !h.Degraded || h.Failures != 1 || !strings.Contains(h.LastError, "DMA_READ") {
		t.Fatalf("after a fault: backend %q, health %+v", out.Backend, h)
	}
	if err := sameBits(&out, want); err != nil {
		t.Fatal(err)
	}
	// Degraded: straight to cpu until the back-off ends.
	if err := fo.Risk(ctx, j, &out); err != nil || out.Backend != cpu.Name {
		t.Fatalf("degraded: %v, backend %q", err, out.Backend)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if err := fo.Risk(ctx, j, &out); err != nil || out.Backend != NameModel {
		t.Fatalf("retry: %v, backend %q", err, out.Backend)
	}
	if h := fo.Health(); h.Degraded || h.Recoveries != 1 {
		t.Fatalf("after recovery: %+v", h)
	}
	if err := sameBits(&out, want); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkRiskModel runs a small batch (the gaussian shape: 3 underlyings,
// 20 instruments, 30 accounts, 500 scenarios) through the driver and the
// device model.
func BenchmarkRiskModel(b *testing.B) {
	bk, _ := openModel(b, driver.Config{})
	j := jobtest.Random(1, jobtest.Configs["gaussian"])
	var out accel.RiskResult
	ctx := context.Background()
	if err := bk.Risk(ctx, j, &out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := bk.Risk(ctx, j, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
	b.ReportMetric(float64(b.N*out.Scenarios*len(j.Instruments))/b.Elapsed().Seconds(), "revals/s")
}

// openReplay opens a model whose kernel answers with precomputed outputs
// (those of Plan.Execute for p): the device costs nothing, so what remains
// is the backend's host path, and the decoded result is the cpu backend's.
func openReplay(t testing.TB, p *job.Plan) *Backend {
	t.Helper()
	pre := p.NewBuffers()
	if err := p.Execute("exec", pre, new(accel.RiskResult)); err != nil {
		t.Fatal(err)
	}
	reply := func(data []byte) devmodel.DMAHandler {
		return func(_, dst []byte, _ driver.Descriptor, _ devmodel.DMA) (int, uint16) {
			return copy(dst, data), regs.CodeOK
		}
	}
	mats := 1
	if p.Scen.VolShocks() {
		mats = 2
	}
	scen := func(_, _ []byte, _ driver.Descriptor, _ devmodel.DMA) (int, uint16) {
		return mats * 4 * p.U * p.Sp, regs.CodeOK
	}
	b, _ := openModel(t, driver.Config{}, devmodel.HandleDMA(regs.OpScengen, scen),
		devmodel.HandleDMA(regs.OpReval, reply(pre.Loss)), devmodel.HandleDMA(regs.OpAggtail, reply(pre.Tails)),
		devmodel.HandleDMA(regs.OpGreeks, reply(pre.Greeks)))
	return b
}

// TestRunPlanAllocs checks the host path of a batch (encoding into the
// kept scratch, the driver job, the completion checks, decoding into a
// reused result) allocates nothing. The model's executors allocate their
// own scratch, so the device replays precomputed outputs here.
func TestRunPlanAllocs(t *testing.T) {
	j := jobtest.Random(3, jobtest.Configs["vol-shocks"])
	p, err := job.NewPlan(j)
	if err != nil {
		t.Fatal(err)
	}
	b := openReplay(t, p)
	ctx := context.Background()
	var out accel.RiskResult
	run := func() {
		if err := b.RunPlan(ctx, p, &out); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if err := sameBits(&out, cpuResult(t, j)); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("RunPlan allocates %.1f times per batch, want 0", n)
	}
}

// BenchmarkRunPlanHost is the backend's host path on a small batch (the
// gaussian shape): encoding, the driver's copies, rings and completions,
// decoding; the device replays precomputed outputs.
func BenchmarkRunPlanHost(b *testing.B) {
	j := jobtest.Random(1, jobtest.Configs["gaussian"])
	p, err := job.NewPlan(j)
	if err != nil {
		b.Fatal(err)
	}
	bk := openReplay(b, p)
	ctx := context.Background()
	var out accel.RiskResult
	b.ReportAllocs()
	for b.Loop() {
		if err := bk.RunPlan(ctx, p, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
	b.ReportMetric(float64(b.N*ArenaBytesFor(p))/b.Elapsed().Seconds()/1e6, "MB/s")
}

// TestStatsCountDescriptors: every completed batch adds one descriptor per
// opcode of its chain and the device's cycles.
func TestStatsCountDescriptors(t *testing.T) {
	b, _ := openModel(t, driver.Config{})
	j := jobtest.Random(2, jobtest.Configs["gaussian"])
	for range 2 {
		if err := b.Risk(context.Background(), j, new(accel.RiskResult)); err != nil {
			t.Fatal(err)
		}
	}
	s := b.Stats()
	if s.Batches != 2 {
		t.Fatalf("batches %d, want 2", s.Batches)
	}
	for name, o := range map[string]OpStats{"SCENGEN": s.ScenGen, "REVAL": s.Reval, "AGGTAIL": s.AggTail, "GREEKS": s.Greeks} {
		if o.Descriptors != 2 || o.Cycles < o.LastCycles {
			t.Errorf("%s: %+v", name, o)
		}
	}
}
