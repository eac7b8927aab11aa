package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/cpu"
	"github.com/ballast-risk/ballast/accel/device"
	"github.com/ballast-risk/ballast/accel/driver"
	"github.com/ballast-risk/ballast/accel/driver/devmodel"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
	"github.com/ballast-risk/ballast/accel/vsim"
	"github.com/ballast-risk/ballast/accel/vsim/vsimtest"
)

// Opcodes and capability bits of docs/accel.md §4 (accel/internal/regs is
// not importable from here).
const (
	opReval  uint16 = 0x0011
	opGreeks uint16 = 0x0020
	// capsSelfTests advertises SELFTEST_PHILOX and SELFTEST_COPY only:
	// a device without the risk kernel.
	capsSelfTests uint32 = 0x3
)

// quickArgs run the demo briefly with JSON logs.
var quickArgs = []string{"--duration=500ms", "--stats-every=150ms", "--log-format=json", "--symbols=4", "--scenarios=2000"}

func withArgs(extra ...string) []string { return append(append([]string(nil), quickArgs...), extra...) }

// modelDevice is a device model opener that counts its closes.
type modelDevice struct {
	opts   []devmodel.Option
	closes atomic.Int32
}

func (m *modelDevice) open(context.Context) (*device.Backend, func() error, error) {
	opts := append([]devmodel.Option{devmodel.WithMemory(8<<20, devmodel.DefaultIOVA)}, m.opts...)
	b, _, closer, err := device.OpenModel(driver.Config{}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { m.closes.Add(1); return closer() }, nil
}

// runWith parses args, lets adjust change the options and runs the daemon
// to completion, returning the exit status and the log.
func runWith(t *testing.T, args []string, adjust func(*options)) (int, string) {
	t.Helper()
	o, err := parseArgs(args, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("parseArgs(%v): %v", args, err)
	}
	if adjust != nil {
		adjust(&o)
	}
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- runOptions(context.Background(), o, &stderr) }()
	select {
	case c := <-done:
		return c, stderr.String()
	case <-time.After(15 * time.Second):
		t.Fatalf("ballastd still running after 15s; log:\n%s", stderr.String())
		return 0, ""
	}
}

// one returns the only log line with message msg.
func one(t *testing.T, lines []map[string]any, msg, log string) map[string]any {
	t.Helper()
	got := find(lines, msg)
	if len(got) != 1 {
		t.Fatalf("%d lines %q, want 1; log:\n%s", len(got), msg, log)
	}
	return got[0]
}

func TestAccelFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, accelCPU},
		{[]string{"--accel=cpu"}, accelCPU},
		{[]string{"--accel", "vsim"}, accelVsim},
		{[]string{"--accel=fpga"}, accelFPGA},
		{[]string{"-accel=vsim", "--demo=false", "--master=" + testMaster, "--accounts=" + testAccounts}, accelVsim},
	} {
		o, err := parseArgs(tc.args, &bytes.Buffer{})
		if err != nil || o.accel.kind != tc.want {
			t.Errorf("%v: kind %q, err %v; want %q", tc.args, o.accel.kind, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"--accel=gpu"}, {"--accel="}, {"--accel=CPU"}, {"--accel=vsim,cpu"}, {"--accel"}} {
		var stdout, stderr bytes.Buffer
		if c := run(context.Background(), bad, &stdout, &stderr); c != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, c, exitUsage)
		}
		if !strings.Contains(stderr.String(), "accel") {
			t.Errorf("%v: stderr %q does not mention accel", bad, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"-h"}, &stdout, &stderr); c != exitOK ||
		!strings.Contains(stdout.String(), "-accel") || !strings.Contains(stdout.String(), "vsim") {
		t.Errorf("exit %d, usage lacks -accel:\n%s", c, stdout.String())
	}
}

// TestAccelCPUBootCheck runs the default backend: the boot batch on cpu
// equals the single-worker scalar reference, and the accelerator's state is
// in every statistics line and the summary.
func TestAccelCPUBootCheck(t *testing.T) {
	_, stderr, code := runAsync(context.Background(), withArgs())
	if c := wait(t, code, 8*time.Second, stderr); c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, stderr)
	}
	log := stderr.String()
	lines := logLines(t, log)
	ready := one(t, lines, "accelerator ready", log)
	if ready["backend"] != "cpu" || ready["result"] != "bit-identical to cpu" || ready["kernel"] == "" ||
		!strings.HasPrefix(ready["batch"].(string), "U=4 I=16 A=8 S=256") {
		t.Errorf("boot line %v", ready)
	}
	if num(t, ready, "took") <= 0 || num(t, ready, "workers") < 1 {
		t.Errorf("boot line %v", ready)
	}
	periodic := find(lines, "feed")
	if len(periodic) == 0 {
		t.Fatalf("no statistics line; log:\n%s", log)
	}
	sum := one(t, lines, "summary", log)
	for _, l := range append(periodic, sum) {
		if field(t, l, "accel.backend") != "cpu" || field(t, l, "accel.degraded") != false ||
			num(t, l, "accel.fallback_jobs") != 0 || num(t, l, "accel.failures") != 0 {
			t.Errorf("accel state %v", l["accel"])
		}
	}
	// The risk epochs ran on the backend (the boot check is not counted).
	if num(t, sum, "accel.primary_jobs") < 1 || len(find(lines, "first risk epoch published")) != 1 {
		t.Errorf("no risk epoch ran on the backend: %v", sum["accel"])
	}
	if len(find(lines, "accelerator closed")) != 0 {
		t.Error("cpu backend logged a device close")
	}
}

// TestAccelModelBootCheck runs the device path (failover over a device,
// boot check, state, close) on the Go device model.
func TestAccelModelBootCheck(t *testing.T) {
	m := &modelDevice{}
	c, log := runWith(t, withArgs("--accel=fpga"), func(o *options) { o.accel.open = m.open })
	if c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, log)
	}
	lines := logLines(t, log)
	ready := one(t, lines, "accelerator ready", log)
	if ready["backend"] != device.NameModel || ready["fallback"] != "cpu" || ready["result"] != "bit-identical to cpu" ||
		num(t, ready, "lanes") < 1 || ready["caps"] == "0x3" || num(t, ready, "agg_cols_max") < 256 {
		t.Errorf("boot line %v", ready)
	}
	sum := one(t, lines, "summary", log)
	for _, l := range append(find(lines, "feed"), sum) {
		if field(t, l, "accel.backend") != device.NameModel || field(t, l, "accel.boot") != "bit-identical" ||
			field(t, l, "accel.degraded") != false || field(t, l, "accel.device") != "ok" || num(t, l, "accel.failures") != 0 {
			t.Errorf("accel state %v", l["accel"])
		}
	}
	one(t, lines, "accelerator closed", log)
	if n := m.closes.Load(); n != 1 {
		t.Errorf("device closed %d times, want 1", n)
	}
}

// TestAccelRiskBackend checks what the daemon holds for the engine: a batch
// submitted to it runs on the device, is counted, and the numbers are the
// cpu backend's.
func TestAccelRiskBackend(t *testing.T) {
	m := &modelDevice{}
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	acc, err := openAccel(context.Background(), accelConfig{kind: accelVsim, open: m.open}, log)
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{accel: acc}
	j := jobtest.Random(3, jobtest.Configs["gaussian"])
	var got, want accel.RiskResult
	if err := d.riskBackend().Risk(context.Background(), j, &got); err != nil {
		t.Fatal(err)
	}
	if err := (&cpu.Backend{}).Risk(context.Background(), j, &want); err != nil {
		t.Fatal(err)
	}
	if got.Backend != device.NameModel {
		t.Errorf("batch ran on %q, want the model", got.Backend)
	}
	if err := sameResult(&got, &want); err != nil {
		t.Errorf("model vs cpu: %v", err)
	}
	s := acc.state()
	if s.health.PrimaryJobs != 1 || s.health.FallbackJobs != 0 || s.devErr != "" || s.cycles == 0 {
		t.Errorf("state %+v", s)
	}
	if err := acc.close(); err != nil || m.closes.Load() != 1 {
		t.Fatalf("close: %v, %d closes", err, m.closes.Load())
	}
	// Closed: the probe fails, and a batch runs on the fallback.
	if s := acc.state(); s.devErr == "" {
		t.Errorf("probe of a closed device succeeded: %+v", s)
	}
	if err := d.riskBackend().Risk(context.Background(), j, &got); err != nil || got.Backend != "cpu" {
		t.Errorf("batch after close: %v on %q, want the cpu fallback", err, got.Backend)
	}
	if h := acc.fo.Health(); !h.Degraded || h.Failures != 1 || h.FallbackJobs != 1 {
		t.Errorf("health after close %+v", h)
	}
	if err := acc.close(); err != nil || m.closes.Load() != 1 {
		t.Errorf("second close: %v, %d closes", err, m.closes.Load())
	}
}

// TestAccelCPUCounted checks the cpu backend's job counts.
func TestAccelCPUCounted(t *testing.T) {
	acc, err := openAccel(context.Background(), accelConfig{kind: accelCPU}, slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var r accel.RiskResult
	if err := acc.backend.Risk(context.Background(), jobtest.Random(1, jobtest.Configs["hist-only"]), &r); err != nil {
		t.Fatal(err)
	}
	bad := jobtest.Random(1, jobtest.Configs["hist-only"])
	bad.KVaR = 0
	if err := acc.backend.Risk(context.Background(), bad, &r); !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("invalid job: %v", err)
	}
	if s := acc.state(); s.backend != "cpu" || s.jobs != 1 || s.failures != 1 {
		t.Errorf("state %+v", s)
	}
}

// TestAccelBootMismatch corrupts one output word of the device (the first
// instrument's fixed-point price, by one unit in the last place): the boot
// check refuses to start.
func TestAccelBootMismatch(t *testing.T) {
	corrupt := func(src, dst []byte, _ driver.Descriptor, _ devmodel.DMA) (int, uint16) {
		n, st := job.ExecGreeks(src, dst)
		if st == job.StatusOK && n >= 8 {
			binary.LittleEndian.PutUint64(dst, binary.LittleEndian.Uint64(dst)+1)
		}
		return n, st
	}
	m := &modelDevice{opts: []devmodel.Option{devmodel.HandleDMA(opGreeks, corrupt)}}
	c, log := runWith(t, withArgs("--accel=vsim"), func(o *options) { o.accel.open = m.open })
	if c != exitFail {
		t.Fatalf("exit %d, want %d; log:\n%s", c, exitFail, log)
	}
	lines := logLines(t, log)
	fail := one(t, lines, "start-up failed", log)
	msg, _ := fail["err"].(string)
	for _, want := range []string{"--accel=vsim", "boot check", "differs from the cpu backend", "Greeks[0].Price"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if len(find(lines, "feed handler listening"))+len(find(lines, "accelerator ready")) != 0 {
		t.Errorf("started despite the mismatch; log:\n%s", log)
	}
	if m.closes.Load() != 1 {
		t.Errorf("device closed %d times, want 1", m.closes.Load())
	}
}

// TestAccelBootDeviceError: a device whose descriptor fails is a start-up
// failure, not a fallback.
func TestAccelBootDeviceError(t *testing.T) {
	fail := func(src, dst []byte, _ driver.Descriptor, _ devmodel.DMA) (int, uint16) { return 0, job.StatusBadDesc }
	m := &modelDevice{opts: []devmodel.Option{devmodel.HandleDMA(opReval, fail)}}
	c, log := runWith(t, withArgs("--accel=fpga"), func(o *options) { o.accel.open = m.open })
	if c != exitFail || !strings.Contains(log, "start-up failed") || !strings.Contains(log, "REVAL") {
		t.Fatalf("exit %d; want %d and the failed REVAL; log:\n%s", c, exitFail, log)
	}
	if m.closes.Load() != 1 {
		t.Errorf("device closed %d times, want 1", m.closes.Load())
	}
}

// TestAccelBootRefused: a device without the kernel's opcodes, or too small
// for the boot batch, is a warning; batches run on the fallback.
func TestAccelBootRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []devmodel.Option
		msg  string
	}{
		{"no-kernel", []devmodel.Option{devmodel.WithCaps(capsSelfTests)}, "accelerator lacks the risk kernel; risk batches will run on the cpu fallback"},
		{"limits", []devmodel.Option{devmodel.WithLimits(64, 8)}, "boot batch beyond the accelerator's limits; risk batches will run on the cpu fallback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &modelDevice{opts: tc.opts}
			var buf syncBuffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			acc, err := openAccel(context.Background(), accelConfig{kind: accelFPGA, open: m.open}, log)
			if err != nil {
				t.Fatal(err)
			}
			defer acc.close()
			lines := logLines(t, buf.String())
			w := one(t, lines, tc.msg, buf.String())
			if w["level"] != "WARN" || w["backend"] != device.NameModel || !strings.Contains(w["reason"].(string), "backend unavailable") {
				t.Errorf("warning %v", w)
			}
			if tc.name == "no-kernel" && (w["missing"] != "SCENGEN" || w["caps"] != "0x3") {
				t.Errorf("warning %v", w)
			}
			var r accel.RiskResult
			if err := acc.backend.Risk(context.Background(), jobtest.Random(bootSeed, bootJob), &r); err != nil || r.Backend != "cpu" {
				t.Fatalf("batch: %v on %q, want the cpu fallback", err, r.Backend)
			}
			s := acc.state()
			if !s.refused || s.health.Degraded || s.health.FallbackJobs != 1 || s.health.Oversize != 1 || s.health.Failures != 0 {
				t.Errorf("state %+v", s)
			}
			attrs := s.attrs()
			if !containsPair(attrs, "boot", "refused") || !containsPair(attrs, "device", "ok") {
				t.Errorf("attrs %v", attrs)
			}
		})
	}
}

func containsPair(attrs []any, k string, v any) bool {
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i] == k && attrs[i+1] == v {
			return true
		}
	}
	return false
}

// TestAccelFPGAAbsent: no card is a start-up failure that says why.
func TestAccelFPGAAbsent(t *testing.T) {
	sysfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(sysfs, "bus", "pci", "devices"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, log := runWith(t, withArgs("--accel=fpga"), func(o *options) { o.accel.fpga.Sysfs = sysfs })
	if c != exitFail {
		t.Fatalf("exit %d, want %d; log:\n%s", c, exitFail, log)
	}
	fail := one(t, logLines(t, log), "start-up failed", log)
	if msg, _ := fail["err"].(string); !strings.Contains(msg, "--accel=fpga") || !strings.Contains(msg, "no PCI device") {
		t.Errorf("error %q does not say the card is absent", msg)
	}
}

// TestAccelVsimBinaryAbsent: --accel=vsim without the simulator binary is a
// start-up failure naming it.
func TestAccelVsimBinaryAbsent(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ballast-vsim")
	t.Setenv(vsim.EnvBinary, bin)
	var stdout, stderr bytes.Buffer
	c := run(context.Background(), withArgs("--accel=vsim"), &stdout, &stderr)
	if c != exitFail || !strings.Contains(stderr.String(), bin) || !strings.Contains(stderr.String(), "does not exist") {
		t.Fatalf("exit %d, log %s; want %d and the missing binary", c, stderr.String(), exitFail)
	}
}

// simProcesses returns the pids of processes whose command line names path.
func simProcesses(t *testing.T, path string) []int {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, d := range dirs {
		pid := 0
		for _, c := range d.Name() {
			if c < '0' || c > '9' {
				pid = -1
				break
			}
			pid = pid*10 + int(c-'0')
		}
		if pid <= 0 {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(path)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startVsim runs ballastd --accel=vsim with its shared-memory file in a
// fresh directory, returns the file's path and pid once the simulator runs,
// and the channel of the exit status.
func startVsim(t *testing.T, ctx context.Context, args []string) (shmDir, shm string, pid int, stderr *syncBuffer, code <-chan int) {
	t.Helper()
	o, err := parseArgs(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	shmDir = t.TempDir()
	o.accel.vsim.ShmDir = shmDir
	stderr = &syncBuffer{}
	c := make(chan int, 1)
	go func() { c <- runOptions(ctx, o, stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(shmDir, "*.shm"))
		if len(names) == 1 {
			if pids := simProcesses(t, names[0]); len(pids) == 1 {
				return shmDir, names[0], pids[0], stderr, c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no simulator running on a file in %s (files %v); log:\n%s", shmDir, names, stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestAccelVsim starts the Verilator simulator through --accel=vsim: the
// boot check passes or warns that the kernel's opcodes are missing, the
// device answers in every statistics line, and at shutdown the simulator
// has stopped and its shared-memory file is gone.
func TestAccelVsim(t *testing.T) {
	vsimtest.Require(t)
	shmDir, shm, _, stderr, code := startVsim(t, context.Background(), withArgs("--accel=vsim"))
	if c := wait(t, code, 15*time.Second, stderr); c != exitOK {
		t.Fatalf("exit %d; log:\n%s", c, stderr)
	}
	log := stderr.String()
	lines := logLines(t, log)
	ready := find(lines, "accelerator ready")
	if len(ready) != 1 || len(find(lines, "accelerator lacks the risk kernel; risk batches will run on the cpu fallback")) != 0 {
		t.Fatalf("want one ready line and no fallback warning; log:\n%s", log)
	}
	if ready[0]["backend"] != "vsim" || ready[0]["result"] != "bit-identical to cpu" {
		t.Errorf("boot line %v", ready[0])
	}
	boot := "bit-identical"
	periodic := find(lines, "feed")
	if len(periodic) == 0 {
		t.Fatalf("no statistics line; log:\n%s", log)
	}
	for _, l := range append(periodic, one(t, lines, "summary", log)) {
		if field(t, l, "accel.backend") != "vsim" || field(t, l, "accel.device") != "ok" ||
			num(t, l, "accel.device_cycles") <= 0 || field(t, l, "accel.boot") != boot || field(t, l, "accel.degraded") != false {
			t.Errorf("accel state %v", l["accel"])
		}
	}
	one(t, lines, "accelerator closed", log)
	if names, _ := filepath.Glob(filepath.Join(shmDir, "*")); len(names) != 0 {
		t.Errorf("left behind %v", names)
	}
	if pids := simProcesses(t, shm); len(pids) != 0 {
		t.Errorf("simulator still running: pids %v", pids)
	}
}

// TestAccelVsimDies kills the simulator under a running daemon: the next
// statistics line reports the device not answering (with the simulator's
// death and its last output), the daemon still shuts down in order and
// removes the file, and the exit status says the accelerator failed.
func TestAccelVsimDies(t *testing.T) {
	vsimtest.Require(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	shmDir, shm, pid, stderr, code := startVsim(t, ctx,
		[]string{"--accel=vsim", "--stats-every=50ms", "--log-format=json", "--symbols=4", "--duration=10s"})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"feed"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no statistics line; log:\n%s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(stderr.String(), "accelerator device not answering") {
		if time.Now().After(deadline) {
			t.Fatalf("death not reported; log:\n%s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel(errors.New("test stop"))
	c := wait(t, code, 10*time.Second, stderr)
	log := stderr.String()
	lines := logLines(t, log)
	down := one(t, lines, "accelerator device not answering; risk batches will run on the cpu fallback", log)
	if msg, _ := down["err"].(string); !strings.Contains(msg, "simulator") || !strings.Contains(msg, "signal: killed") {
		t.Errorf("death report %q does not describe the killed simulator", msg)
	}
	sum := one(t, lines, "summary", log)
	if d, _ := field(t, sum, "accel.device").(string); d == "ok" {
		t.Errorf("summary reports a live device: %v", sum["accel"])
	}
	// The driver cannot close a dead device in order: exit 1, saying so.
	if c != exitFail {
		t.Errorf("exit %d, want %d after the simulator died; log:\n%s", c, exitFail, log)
	}
	if l := one(t, lines, "accelerator did not close cleanly", log); !strings.Contains(l["err"].(string), "signal: killed") {
		t.Errorf("close error %v", l["err"])
	}
	if pids := simProcesses(t, shm); len(pids) != 0 {
		t.Errorf("simulator still running: pids %v", pids)
	}
	if names, _ := filepath.Glob(filepath.Join(shmDir, "*")); len(names) != 0 {
		t.Errorf("left behind %v", names)
	}
}
