// Package vsimtest is the one rule every co-simulation test follows: the
// Verilator harness (`make hdl`) must be there — a missing harness fails the
// test — unless BALLAST_VSIM_SKIP gives a reason to skip, which the skip
// message repeats. CI never sets it, so the co-simulation cannot silently
// skip there.
package vsimtest

import (
	"os"
	"testing"

	"github.com/ballast-risk/ballast/accel/vsim"
)

// EnvSkip names the variable whose value, when set, is the reason to skip
// co-simulation tests on a machine without the harness.
const EnvSkip = "BALLAST_VSIM_SKIP"

// Require fails tb when the harness ($BALLAST_VSIM, else
// hdl/build/ballast-vsim) is unavailable, or skips it when EnvSkip is set.
func Require(tb testing.TB) {
	tb.Helper()
	err := vsim.Available()
	if err == nil {
		return
	}
	if reason := os.Getenv(EnvSkip); reason != "" {
		tb.Skipf("co-simulation skipped (%s=%q): %v", EnvSkip, reason, err)
		return
	}
	tb.Fatalf("co-simulation needs the Verilator harness: %v\n(build it with `make hdl`, or set %s=<reason> to skip)", err, EnvSkip)
}
