//go:build linux

package xsk_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ballast-risk/ballast/feedhandler/internal/xsk"
)

func loopbackConfig(t *testing.T) xsk.Config {
	t.Helper()
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skipf("no loopback interface: %v", err)
	}
	return xsk.Config{
		Ifindex:            lo.Index,
		FrameCount:         128,
		FrameSize:          xsk.FrameSize2K,
		FillRingSize:       64,
		CompletionRingSize: 16,
		RxRingSize:         64,
		TxRingSize:         16,
		Mode:               xsk.ModeCopy,
		NeedWakeup:         true,
	}
}

// openOrSkip opens a socket and skips the test with the exact error when the
// kernel refuses AF_XDP.
func openOrSkip(t *testing.T, cfg xsk.Config) *xsk.Socket {
	t.Helper()
	s, err := xsk.Open(cfg)
	if errors.Is(err, xsk.ErrUnsupported) {
		t.Skipf("kernel refuses AF_XDP: %v", err)
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenLoopback(t *testing.T) {
	cfg := loopbackConfig(t)
	s := openOrSkip(t, cfg)
	if s.FD() < 0 {
		t.Fatalf("fd %d", s.FD())
	}
	if s.Mode() != xsk.ModeCopy {
		t.Fatalf("mode %v, want copy", s.Mode())
	}
	if got, want := s.FreeFrames(), cfg.FrameCount-cfg.FillRingSize; got != want {
		t.Fatalf("%d free frames, want %d", got, want)
	}
	st, err := s.Statistics()
	if err != nil {
		t.Fatalf("Statistics: %v", err)
	}
	if st != (xsk.Statistics{}) {
		t.Fatalf("fresh socket has statistics %+v", st)
	}
	descs := make([]xsk.Desc, 8)
	if n := s.Receive(descs); n != 0 {
		t.Fatalf("received %d on a socket no XDP program feeds", n)
	}
	start := time.Now()
	ready, err := s.Wait(20 * time.Millisecond)
	if ready || err != nil {
		t.Fatalf("Wait: %v %v", ready, err)
	}
	if el := time.Since(start); el < 15*time.Millisecond {
		t.Fatalf("Wait returned after %v, before its timeout", el)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Wait(-1)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	s.Interrupt()
	select {
	case err := <-done:
		if !errors.Is(err, xsk.ErrInterrupted) {
			t.Fatalf("Wait after Interrupt: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Interrupt did not end an unbounded Wait")
	}
	if _, err := s.Wait(time.Second); !errors.Is(err, xsk.ErrInterrupted) {
		t.Fatalf("later Wait: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); !errors.Is(err, xsk.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Statistics(); !errors.Is(err, xsk.ErrClosed) {
		t.Fatalf("Statistics after Close: %v", err)
	}
	if n := s.Receive(descs); n != 0 {
		t.Fatalf("Receive after Close: %d", n)
	}
}

func TestOpenErrors(t *testing.T) {
	base := loopbackConfig(t)
	for _, tc := range []struct {
		name string
		edit func(*xsk.Config)
	}{
		{"ifindex", func(c *xsk.Config) { c.Ifindex = 0 }},
		{"queue", func(c *xsk.Config) { c.QueueID = xsk.QueueIDMax + 1 }},
		{"frame size", func(c *xsk.Config) { c.FrameSize = 3000 }},
		{"frame count pow2", func(c *xsk.Config) { c.FrameCount = 100 }},
		{"frame count max", func(c *xsk.Config) { c.FrameCount = xsk.FrameCountMax * 2 }},
		{"umem max", func(c *xsk.Config) { c.FrameCount, c.FrameSize = xsk.FrameCountMax, xsk.FrameSize4K }},
		{"fill ring", func(c *xsk.Config) { c.FillRingSize = 8 }},
		{"completion ring", func(c *xsk.Config) { c.CompletionRingSize = 0 }},
		{"rx ring", func(c *xsk.Config) { c.RxRingSize = 48 }},
		{"tx ring", func(c *xsk.Config) { c.TxRingSize = xsk.RingSizeMax * 2 }},
		{"mode", func(c *xsk.Config) { c.Mode = 9 }},
	} {
		cfg := base
		tc.edit(&cfg)
		s, err := xsk.Open(cfg)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, xsk.ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", tc.name, err)
		}
	}

	// The kernel's own refusals: no such interface, no such queue.
	cfg := base
	cfg.Ifindex = 1 << 30
	if s, err := xsk.Open(cfg); err == nil {
		s.Close()
		t.Error("bind to a missing interface succeeded")
	} else if errors.Is(err, xsk.ErrUnsupported) {
		t.Skipf("kernel refuses AF_XDP: %v", err)
	} else if !errors.Is(err, unix.ENODEV) {
		t.Errorf("bind to a missing interface: %v, want ENODEV", err)
	}
	cfg = base
	cfg.QueueID = 1000
	if s, err := xsk.Open(cfg); err == nil {
		s.Close()
		t.Error("bind to a missing queue succeeded")
	} else if !errors.Is(err, unix.EINVAL) {
		t.Errorf("bind to a missing queue: %v, want EINVAL", err)
	}
	// Loopback has no zero-copy driver support.
	cfg = base
	cfg.Mode = xsk.ModeZeroCopy
	if s, err := xsk.Open(cfg); err == nil {
		s.Close()
		t.Error("zero-copy bind on loopback succeeded")
	} else if !errors.Is(err, xsk.ErrUnsupported) {
		t.Errorf("zero-copy bind on loopback: %v, want ErrUnsupported", err)
	}
}

func TestTwoSocketsOneQueue(t *testing.T) {
	cfg := loopbackConfig(t)
	openOrSkip(t, cfg)
	if s2, err := xsk.Open(cfg); err == nil {
		s2.Close()
		t.Fatal("second socket bound to the same queue")
	}
}
