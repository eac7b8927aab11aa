package engine

import (
	"context"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/device"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/accel/vsim/vsimtest"
)

// TestEpochOnVsimBackend runs the demo universe's epoch on the RTL under
// Verilator (accel/device over accel/vsim, the harness `make hdl` builds)
// through the same interface as the other backends: every account's
// requirement and state equal the cpu backend's exactly — the device
// computes the same integers. It fails when the harness is missing, unless
// BALLAST_VSIM_SKIP is set to a reason.
func TestEpochOnVsimBackend(t *testing.T) {
	vsimtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	be, closer, err := device.OpenVsim(ctx, vsim.Config{MemBytes: 64 << 20}, driver.Config{JobTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := closer(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	dev := demoEngineOn(t, be)
	fx := demoEngineOn(t, &cpu.Backend{})
	if be.Stats().Batches == 0 {
		t.Fatal("no batch ran on the device")
	}
	for _, a := range fx.Accounts() {
		fs, err := fx.Status(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := dev.Status(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Requirement != fs.Requirement || ds.State != fs.State {
			t.Fatalf("account %d: vsim %+v (%v), cpu %+v (%v)", a.ID, ds.Requirement, ds.State, fs.Requirement, fs.State)
		}
	}
	t.Logf("device cycles: %+v", be.Stats())
}
