package vsim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
)

func TestMain(m *testing.M) {
	// Re-executed by the supervision tests as a fake ballast-vsim.
	if mode := os.Getenv(envFake); mode != "" {
		os.Exit(fakeSim(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeConfig runs this test binary as the simulator in the given mode.
func fakeConfig(t *testing.T, mode string) Config {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Binary:           exe,
		ShmDir:           t.TempDir(),
		MemBytes:         MemBytesMin,
		Env:              []string{envFake + "=" + mode},
		StartTimeout:     10 * time.Second,
		RequestTimeout:   2 * time.Second,
		HeartbeatTimeout: 2 * time.Second, // generous: a loaded machine delays beats
		StopGrace:        2 * time.Second,
	}
}

func TestStartServeCloseWithFakeSimulator(t *testing.T) {
	cfg := fakeConfig(t, fakeOK)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := s.Path()
	if !strings.HasPrefix(path, cfg.ShmDir) {
		t.Fatalf("file %s outside %s", path, cfg.ShmDir)
	}
	if s.State() != StateRunning || s.PID() <= 0 || s.Err() != nil {
		t.Fatalf("state %v pid %d err %v", s.State(), s.PID(), s.Err())
	}
	bar := s.Bar()
	if err := bar.Write32(0x1C, 0xC0FFEE); err != nil {
		t.Fatal(err)
	}
	if v, err := bar.Read32(0x1C); err != nil || v != 0xC0FFEE {
		t.Fatalf("scratch read back %#x, %v", v, err)
	}
	if err := bar.Write32(irqOffset, 1); err != nil {
		t.Fatal(err)
	}
	if err := bar.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := s.IRQCount(); n != 1 {
		t.Fatalf("IRQCount %d", n)
	}
	mem := s.Memory()
	if mem.IOVA() != MemIOVA || len(mem.Bytes()) != MemBytesMin {
		t.Fatalf("memory %#x/%d", mem.IOVA(), len(mem.Bytes()))
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Cycles() == 0 || s.Heartbeat() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat from the fake simulator")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait after Close: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file left after Close: %v", err)
	}
	if _, err := bar.Read32(0x1C); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Read32 after Close: %v", err)
	}
	// The header is unmapped: accessors read zero instead of faulting.
	if s.Cycles() != 0 || s.IRQCount() != 0 || s.Heartbeat() != 0 {
		t.Fatal("header accessors read non-zero after Close")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestExitIsReportedWithStatusAndStderr(t *testing.T) {
	s, err := Start(context.Background(), fakeConfig(t, fakeExit))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Wait()
	var d *DeathError
	if !errors.As(err, &d) || !errors.Is(err, ErrSimDead) {
		t.Fatalf("Wait: %v, want a DeathError", err)
	}
	if d.ExitCode != 3 || d.Status != "exit status 3" || d.Reason != "exited" {
		t.Fatalf("death %+v", d)
	}
	if !strings.Contains(err.Error(), "simulated failure") {
		t.Fatalf("error lacks the simulator's last line: %v", err)
	}
	if _, err := s.Bar().Read32(0); !errors.As(err, &d) {
		t.Fatalf("Read32 on an exited simulator: %v", err)
	}
	if s.Err() == nil {
		t.Fatal("Err is nil after the simulator died")
	}
}

func TestHeartbeatStallKillsAndReports(t *testing.T) {
	cfg := fakeConfig(t, fakeStall)
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A request waiting when the heartbeat stops ends in ErrSimDead.
	time.Sleep(100 * time.Millisecond)
	if _, err := s.Bar().Read32(0x1C); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Read32 on a stalled simulator: %v", err)
	}
	err = s.Wait()
	var d *DeathError
	if !errors.As(err, &d) || !strings.Contains(d.Reason, "heartbeat stalled") || d.Status != "signal: killed" {
		t.Fatalf("Wait: %v (%+v)", err, d)
	}
	if !strings.Contains(strings.Join(d.Stderr, "\n"), "fake-vsim: stalling") {
		t.Fatalf("stderr tail %q", d.Stderr)
	}
}

func TestCloseKillsASimulatorIgnoringStop(t *testing.T) {
	cfg := fakeConfig(t, fakeIgnoreStop)
	cfg.StopGrace = 200 * time.Millisecond
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Close()
	if err == nil || !errors.Is(err, ErrSimDead) {
		t.Fatalf("Close of a simulator ignoring stop: %v", err)
	}
	if el := time.Since(start); el < cfg.StopGrace {
		t.Fatalf("killed after %v, before the grace period", el)
	}
}

func TestStartTimesOutAndCleansUp(t *testing.T) {
	cfg := fakeConfig(t, fakeNeverReady)
	cfg.StartTimeout = 300 * time.Millisecond
	_, err := Start(context.Background(), cfg)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, ErrSimDead) {
		t.Fatalf("Start: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.ShmDir, "*")); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
}

func TestStartCancelled(t *testing.T) {
	cfg := fakeConfig(t, fakeNeverReady)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Start(ctx, cfg); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start: %v", err)
	}
}

func TestStartReportsRefusal(t *testing.T) {
	cfg := fakeConfig(t, fakeRefuse)
	_, err := Start(context.Background(), cfg)
	var d *DeathError
	if !errors.As(err, &d) || d.ExitCode != 2 || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("Start: %v", err)
	}
}

func TestRestartAfterDeath(t *testing.T) {
	cfg := fakeConfig(t, fakeOK)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Bar().Write32(0x20, 77); err != nil {
		t.Fatal(err)
	}
	s.Memory().Bytes()[8] = 0x5A
	first := s.PID()
	// Kill it behind the supervisor's back.
	p, _ := os.FindProcess(first)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Wait after kill: %v", err)
	}
	if _, err := s.Bar().Read32(0x20); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Read32 on a killed simulator: %v", err)
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.PID() == first || s.Err() != nil || s.State() != StateRunning {
		t.Fatalf("after Restart: pid %d (was %d), err %v, state %v", s.PID(), first, s.Err(), s.State())
	}
	// A fresh device (registers from reset), the same host memory.
	if v, err := s.Bar().Read32(0x20); err != nil || v != 0 {
		t.Fatalf("register after restart: %d, %v", v, err)
	}
	if s.Memory().Bytes()[8] != 0x5A {
		t.Fatal("host memory lost across Restart")
	}
	// Restart of a healthy simulator stops it in order first.
	if err := s.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Bar().Write32(0x20, 1); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Bar().Read32(0x20); err != nil || v != 1 {
		t.Fatalf("after second restart: %d, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(context.Background()); !errors.Is(err, ErrSimDead) {
		t.Fatalf("Restart after Close: %v", err)
	}
}

func TestRemoveStaleFiles(t *testing.T) {
	dir := t.TempDir()
	// A pid far above pid_max cannot exist.
	stale := filepath.Join(dir, shmPrefix+"2147483600-1-1.shm")
	mine := filepath.Join(dir, shmPrefix+"1-1-1.shm") // pid 1 is alive
	other := filepath.Join(dir, "unrelated.shm")
	for _, p := range []string{stale, mine, other} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removeStale(dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale file kept: %v", err)
	}
	for _, p := range []string{mine, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed: %v", p, err)
		}
	}
}

func TestAvailable(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-vsim")
	err := AvailableBinary(missing)
	if !errors.Is(err, accel.ErrUnavailable) || !strings.Contains(err.Error(), "make hdl") ||
		!strings.Contains(err.Error(), missing) {
		t.Fatalf("missing binary: %v", err)
	}
	script := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := AvailableBinary(script("good", "echo 'ballast-vsim 1.0 shm-v1 trace=off'", 0o755)); err != nil {
		t.Fatalf("working binary: %v", err)
	}
	if err := AvailableBinary(script("wrong", "echo hello", 0o755)); !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("wrong binary: %v", err)
	}
	if err := AvailableBinary(script("fails", "exit 1", 0o755)); !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("failing binary: %v", err)
	}
	if err := AvailableBinary(script("noexec", "true", 0o644)); !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("non-executable: %v", err)
	}
	_, err = Start(context.Background(), Config{Binary: missing, ShmDir: dir})
	if !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("Start without a binary: %v", err)
	}
	t.Setenv(EnvBinary, "/x/y")
	if bin, err := DefaultBinary(); err != nil || bin != "/x/y" {
		t.Fatalf("DefaultBinary with %s set: %q, %v", EnvBinary, bin, err)
	}
	t.Setenv(EnvBinary, "")
	bin, err := DefaultBinary()
	if err != nil || !strings.HasSuffix(bin, filepath.FromSlash("hdl/build/ballast-vsim")) {
		t.Fatalf("DefaultBinary in the module: %q, %v", bin, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(bin))), "go.mod")); err != nil {
		t.Fatalf("DefaultBinary %s is not under the module root: %v", bin, err)
	}
}

func TestTailWriterKeepsLastLines(t *testing.T) {
	var copyTo strings.Builder
	w := newTailWriter(3, &copyTo)
	for _, s := range []string{"a\nb\n", "c\nd", "d\n", strings.Repeat("x", 2*lineBytesMax) + "\npartial"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	got := w.Lines()
	want := []string{"dd", strings.Repeat("x", lineBytesMax), "partial"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q", got)
	}
	if !strings.HasPrefix(copyTo.String(), "a\nb\nc\ndd\n") {
		t.Fatalf("copy %q", copyTo.String())
	}
}
