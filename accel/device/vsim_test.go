package device

// Co-simulation: the risk batch on the RTL under Verilator (the harness
// hdl/build/ballast-vsim or $BALLAST_VSIM, `make hdl`), bit for bit against
// the cpu backend and Plan.Execute, and failover from the simulated device
// to cpu. The tests fail when the harness is missing, unless
// BALLAST_VSIM_SKIP is set to a reason, which skips them with it (as
// accel/vsim's co-simulation tests do).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/failover"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/accel/vsim/vsimtest"
)

func openVsim(t *testing.T) *Backend {
	t.Helper()
	vsimtest.Require(t)
	cfg := vsim.Config{MemBytes: 4 << 20, MemLatencyCycles: 8, StallPermille: 50, Seed: 5}
	if testing.Verbose() {
		cfg.Stderr = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, closer, err := OpenVsim(ctx, cfg, driver.Config{JobTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := closer(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if b.Name() != NameVsim {
		t.Fatalf("name %q", b.Name())
	}
	return b
}

// TestVsimBitIdentical runs small batches (co-simulation is slow: U ≤ 8,
// S ≤ 256, I ≤ 16, A ≤ 8) of every kind on the simulated RTL.
func TestVsimBitIdentical(t *testing.T) {
	b := openVsim(t)
	for _, o := range []jobtest.Options{
		{U: 2, Instruments: 8, Accounts: 4, Scenarios: 64},
		{U: 4, Instruments: 12, Accounts: 6, Scenarios: 100, Correlated: true, Stress: true},
		{U: 3, Instruments: 10, Accounts: 5, Scenarios: 128, StudentT: 5, VolOfVol: 0.7, Stress: true},
		{U: 2, Instruments: 6, Accounts: 3, Scenarios: 40, Historical: 24, Stress: true, Model: accel.DeltaGammaVega},
		{U: 8, Instruments: 16, Accounts: 8, Scenarios: 256, Correlated: true},
		{U: 1, Instruments: 4, Accounts: 2, Historical: 50},
	} {
		name := fmt.Sprintf("U%d-I%d-A%d-S%d-H%d", o.U, o.Instruments, o.Accounts, o.Scenarios, o.Historical)
		t.Run(name, func(t *testing.T) {
			checkIdentical(t, b, jobtest.Random(11, o))
		})
	}
}

// TestVsimFailover composes accel/failover with the simulated RTL as primary
// and cpu as fallback: an RTL fault (FAULT_INJECT.DMA_READ through the real
// register file) and then a killed simulator process each re-run the batch on
// cpu with the same bits and mark the device degraded; after the back-off
// the failover's Reset (a restart of the dead simulator) brings the batch
// back onto the RTL.
func TestVsimFailover(t *testing.T) {
	b := openVsim(t)
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(time.Hour); mu.Unlock() }
	fo, err := failover.New(b, &cpu.Backend{}, failover.Config{
		Deadline: 5 * time.Minute, RetryMin: time.Second, RetryMax: time.Minute, Now: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	j := jobtest.Random(5, jobtest.Options{U: 3, Instruments: 8, Accounts: 4, Scenarios: 96, Correlated: true, Stress: true})
	want := cpuResult(t, j)
	ctx := context.Background()
	var out accel.RiskResult
	run := func(what, backend string) {
		t.Helper()
		if err := fo.Risk(ctx, j, &out); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if out.Backend != backend {
			t.Fatalf("%s: ran on %q, want %q (health %+v)", what, out.Backend, backend, fo.Health())
		}
		if err := sameBits(&out, want); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("healthy", NameVsim)

	// An RTL fault: the next descriptor fails with DMA_READ.
	if err := b.Device().InjectFault(driver.FaultDMARead); err != nil {
		t.Fatal(err)
	}
	run("injected DMA_READ", cpu.Name)
	if h := fo.Health(); !h.Degraded || h.Failures != 1 || !strings.Contains(h.LastError, "DMA_READ") {
		t.Fatalf("after the fault: %+v", h)
	}
	advance()
	run("retry after the fault", NameVsim)

	// The simulator process dies.
	pid := b.Sim().PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.Sim().Done()
	run("simulator killed", cpu.Name)
	if h := fo.Health(); !h.Degraded || h.Failures != 2 {
		t.Fatalf("after the kill: %+v", h)
	}
	advance()
	run("retry after the kill", NameVsim)
	if h := fo.Health(); h.Degraded || h.Recoveries != 2 || b.Sim().PID() == pid {
		t.Fatalf("after recovery: %+v, pid %d (was %d)", h, b.Sim().PID(), pid)
	}
}
