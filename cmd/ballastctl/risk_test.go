package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/ballast-risk/ballast/accel/vsim/vsimtest"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fpga"
)

const riskFixture = "../../engine/riskfile/testdata/portfolio.json"

func runRiskCmd(t *testing.T, args ...string) (riskOutput, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"risk"}, args...), &out, &errb)
	var r riskOutput
	if code == exitOK {
		dec := json.NewDecoder(&out)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
	}
	return r, errb.String(), code
}

func TestRiskCommand(t *testing.T) {
	a, _, code := runRiskCmd(t, "--file", riskFixture, "--scenarios", "5000", "--seed", "3", "--alpha", "0.975")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if a.Scenarios != 5000 || a.Seed != 3 || a.Alpha != 0.975 || a.Backend != "reference" || len(a.EpochHash) != 64 {
		t.Fatalf("output %+v", a)
	}
	if !(a.ES >= a.VaR && a.VaR > 0) {
		t.Fatalf("VaR %v ES %v", a.VaR, a.ES)
	}
	// Same inputs and seed: identical output, hash included.
	b, _, _ := runRiskCmd(t, "--file", riskFixture, "--scenarios", "5000", "--seed", "3", "--alpha", "0.975")
	if a != b {
		t.Fatalf("not reproducible: %+v vs %+v", a, b)
	}
	c, _, _ := runRiskCmd(t, "--file", riskFixture, "--scenarios", "5000", "--seed", "4", "--alpha", "0.975")
	if c.EpochHash == a.EpochHash || c.ES == a.ES {
		t.Fatal("a different seed gave the same result")
	}
	// The fixed-point cpu kernel: the same scenarios, ES within 0.1 %.
	d, stderr, code := runRiskCmd(t, "--file", riskFixture, "--scenarios", "5000", "--seed", "3", "--alpha", "0.975", "--accel", "cpu")
	if code != exitOK || d.Backend != "cpu" || math.Abs(d.ES-a.ES) > 1e-3*math.Abs(a.ES) || d.EpochHash != a.EpochHash {
		t.Fatalf("cpu backend: %+v (reference %+v) %q", d, a, stderr)
	}
	e, _, _ := runRiskCmd(t, "--file", riskFixture, "--scenarios", "5000", "--seed", "3", "--alpha", "0.975", "--accel", "cpu")
	if e != d {
		t.Fatalf("cpu backend not reproducible: %+v vs %+v", e, d)
	}
}

func TestRiskCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"rate": 0.01, "horizon_days": 1, "underlyings": [], "positions": []}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, exitUsage, ""},
		{[]string{"--file", riskFixture, "--alpha", "1"}, exitUsage, ""},
		{[]string{"--file", riskFixture, "--scenarios", "0"}, exitUsage, ""},
		{[]string{"--file", filepath.Join(dir, "missing.json")}, exitFail, "missing.json"},
		{[]string{"--file", bad}, exitFail, "underlyings"},
		{[]string{"--file", riskFixture, "--accel", "fpga"}, exitFail, "fpga"},
		{[]string{"--file", riskFixture, "--accel", "gpu"}, exitFail, "unknown backend"},
	} {
		_, stderr, code := runRiskCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d %q", tc.args, code, stderr)
		}
	}
}

// runRiskRaw runs `ballastctl risk` and returns its stdout bytes.
func runRiskRaw(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"risk"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// sameAsCPU checks that a device backend's output is the cpu backend's,
// byte for byte, but for the backend's name.
func sameAsCPU(t *testing.T, name, got, cpu string) {
	t.Helper()
	want := strings.Replace(cpu, `"backend":"cpu"`, `"backend":"`+name+`"`, 1)
	if want == cpu {
		t.Fatalf("cpu output %q does not name its backend", cpu)
	}
	if got != want {
		t.Fatalf("--accel %s output\n%s differs from --accel cpu\n%s", name, got, cpu)
	}
}

// sameJSONAsCPU runs two batches on backend and on cpu and checks the JSON
// is the same but for the backend's name.
func sameJSONAsCPU(t *testing.T, backend string) {
	t.Helper()
	for _, args := range [][]string{
		{"--file", riskFixture, "--scenarios", "5000", "--seed", "3", "--alpha", "0.975"},
		{"--file", riskFixture, "--scenarios", "777", "--seed", "11", "--alpha", "0.99"},
	} {
		cpu, stderr, code := runRiskRaw(t, append(args, "--accel", "cpu")...)
		if code != exitOK {
			t.Fatalf("cpu: exit %d %q", code, stderr)
		}
		got, stderr, code := runRiskRaw(t, append(args, "--accel", backend)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d %q", backend, code, stderr)
		}
		sameAsCPU(t, backend, got, cpu)
	}
}

// TestRiskCommandModel runs the device path (driver, rings, DMA buffers,
// the device model's kernel) and checks its JSON against the cpu backend's.
func TestRiskCommandModel(t *testing.T) { sameJSONAsCPU(t, "model") }

// TestRiskCommandVsim runs the batch on the simulated RTL (the harness
// `make hdl` builds): the same JSON as cpu, byte for byte but for the
// backend's name. It fails when the harness is missing, unless
// BALLAST_VSIM_SKIP is set to a reason.
func TestRiskCommandVsim(t *testing.T) {
	vsimtest.Require(t)
	sameJSONAsCPU(t, "vsim")
}

// TestRiskCommandFPGA checks an absent card is the unavailable exit with
// fpga's reason.
func TestRiskCommandFPGA(t *testing.T) {
	if err := fpga.Available(fpga.Config{}); !errors.Is(err, accel.ErrUnavailable) {
		t.Skipf("a card may be present here (%v): the absent-card path cannot be tested", err)
	}
	_, stderr, code := runRiskRaw(t, "--file", riskFixture, "--scenarios", "100", "--accel", "fpga")
	if code != exitFail || !strings.Contains(stderr, "fpga") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}
