package vsimtest

import (
	"path/filepath"
	"testing"

	"github.com/ballast-risk/ballast/accel/vsim"
)

// fakeTB records what Require does with it.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestRequireFailsOrSkips(t *testing.T) {
	t.Setenv(vsim.EnvBinary, filepath.Join(t.TempDir(), "no-such-harness"))
	t.Setenv(EnvSkip, "")
	f := &fakeTB{TB: t}
	Require(f)
	if !f.failed || f.skipped {
		t.Fatalf("missing harness without %s: failed %v, skipped %v", EnvSkip, f.failed, f.skipped)
	}
	t.Setenv(EnvSkip, "no Verilator on this laptop")
	f = &fakeTB{TB: t}
	Require(f)
	if f.failed || !f.skipped {
		t.Fatalf("missing harness with %s: failed %v, skipped %v", EnvSkip, f.failed, f.skipped)
	}
}
