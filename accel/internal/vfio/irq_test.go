package vfio

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newTestIRQ(t testing.TB) (*IRQ, int) {
	t.Helper()
	q, efd, err := NewEventFDIRQ()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q, efd
}

func TestIRQWaitWakesAndRearms(t *testing.T) {
	q, efd := newTestIRQ(t)
	rearms := 0
	q.rearm = func() error { rearms++; return nil }
	go func() {
		time.Sleep(5 * time.Millisecond)
		SignalEventFD(efd)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if rearms != 1 {
		t.Fatalf("rearmed %d times, want 1", rearms)
	}
	// Two interrupts before a wait coalesce into one wake-up.
	SignalEventFD(efd)
	SignalEventFD(efd)
	if err := q.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if err := q.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait with nothing pending: %v, want DeadlineExceeded", err)
	}
	if rearms != 2 {
		t.Fatalf("rearmed %d times, want 2", rearms)
	}
}

func TestIRQWaitCancel(t *testing.T) {
	q, _ := newTestIRQ(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.Wait(ctx) }()
	time.Sleep(15 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not notice the cancellation")
	}
}

func TestIRQRearmErrorAndClose(t *testing.T) {
	q, efd := newTestIRQ(t)
	boom := errors.New("unmask failed")
	q.rearm = func() error { return boom }
	disabled := false
	q.disable = func() error { disabled = true; return nil }
	SignalEventFD(efd)
	if err := q.Wait(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("rearm error lost: %v", err)
	}
	if err := q.Close(); err != nil || !disabled {
		t.Fatalf("close: %v, disabled %v", err, disabled)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := q.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after close: %v", err)
	}
}

func TestIRQWaitDoesNotAllocate(t *testing.T) {
	q, efd := newTestIRQ(t)
	ctx := context.Background()
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0} // preallocated: only Wait is measured
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := unix.Write(efd, one); err != nil {
			t.Fatal(err)
		}
		if err := q.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per signal+wait", allocs)
	}
}

func BenchmarkIRQSignalWait(b *testing.B) {
	q, efd := newTestIRQ(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		SignalEventFD(efd)
		if err := q.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
