package engine

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
)

// demoEngineOn builds the demo universe (bench/workload/demo) on backend be
// with 2,000 scenarios and runs one epoch.
func demoEngineOn(t *testing.T, be accel.Backend) *Engine {
	t.Helper()
	asOf := time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)
	m, err := instrument.Load("../bench/workload/demo/master.json", asOf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := account.Load("../bench/workload/demo/accounts.json.gz", m)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(be)
	cfg.Scenarios = 2000
	cfg.Now = func() time.Time { return asOf }
	e, err := New(cfg, m, set)
	if err != nil {
		t.Fatal(err)
	}
	e.MarkAllFresh()
	ep, err := e.RunEpoch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ep.Result.Backend != be.Name() {
		t.Fatalf("epoch computed by %q, want %q", ep.Result.Backend, be.Name())
	}
	return e
}

// TestEpochOnCPUBackend runs the demo universe's epochs on the fixed-point
// cpu backend through the same interface as the reference: every account's
// initial margin within 0.1 % (plus one currency unit) of the float64
// engine's, the same margin states, and the same numbers on a re-run.
func TestEpochOnCPUBackend(t *testing.T) {
	ref := demoEngineOn(t, &kernel.Reference{})
	fx := demoEngineOn(t, &cpu.Backend{})
	again := demoEngineOn(t, &cpu.Backend{Workers: 1})
	states := 0
	for _, a := range ref.Accounts() {
		rs, err := ref.Status(a.ID)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := fx.Status(a.ID)
		gs, _ := again.Status(a.ID)
		if fs.Requirement.IM != gs.Requirement.IM || fs.State != gs.State {
			t.Fatalf("account %d: cpu backend not reproducible: IM %v vs %v", a.ID, fs.Requirement.IM, gs.Requirement.IM)
		}
		if math.Abs(fs.Requirement.IM-rs.Requirement.IM) > 1e-3*math.Abs(rs.Requirement.IM)+1 {
			t.Errorf("account %d: IM %v on cpu, %v on the reference", a.ID, fs.Requirement.IM, rs.Requirement.IM)
		}
		if fs.State == rs.State {
			states++
		}
	}
	if n := len(ref.Accounts()); states != n {
		t.Fatalf("%d of %d accounts in the same margin state on both backends", states, n)
	}
}
