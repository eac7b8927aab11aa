package shm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// futexChildEnv names the file a re-executed test binary waits on
// (TestHelperFutexChild).
const futexChildEnv = "SHM_TEST_FUTEX_FILE"

// deadline bounds every wait of these tests; it is never reached when the
// futex works (no test asserts on how fast anything is).
const deadline = 10 * time.Second

// mappedWord creates a one-page file and returns the u32 at offset 0 of
// two independent mappings of it, as two processes would see it.
func mappedWord(t *testing.T) (path string, a, b *atomic.Uint32) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "futex")
	ma, err := Create(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ma.Unmap() })
	mb, err := Open(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Unmap() })
	if a, err = Uint32(ma.Bytes(), 0); err != nil {
		t.Fatal(err)
	}
	if b, err = Uint32(mb.Bytes(), 0); err != nil {
		t.Fatal(err)
	}
	return path, a, b
}

// wakeOne calls FutexWake on w until it reports a woken waiter: proof that
// a FutexWait on the same file word, whatever mapping or process it came
// from, was queued in the kernel and is now released.
func wakeOne(t *testing.T, w *atomic.Uint32) {
	t.Helper()
	for end := time.Now().Add(deadline); time.Now().Before(end); time.Sleep(50 * time.Microsecond) {
		n, err := FutexWake(w, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		if n != 0 {
			t.Fatalf("FutexWake(1) woke %d", n)
		}
	}
	t.Fatal("no waiter was ever found on the word")
}

// waitWhileZero is the waiter both tests run: it sleeps (a minute per
// wait, far past the test's deadline) until the word turns non-zero.
func waitWhileZero(w *atomic.Uint32) error {
	for w.Load() == 0 {
		if err := FutexWait(w, 0, time.Minute); err != nil {
			return err
		}
	}
	return nil
}

func TestFutexWakeAcrossGoroutines(t *testing.T) {
	_, a, b := mappedWord(t)
	done := make(chan error, 1)
	go func() { done <- waitWhileZero(a) }()
	wakeOne(t, b) // the waiter sleeps on mapping a, the waker uses mapping b
	b.Store(1)
	if _, err := FutexWake(b, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(deadline):
		t.Fatal("waiter not released")
	}
}

func TestFutexWakeAcrossProcesses(t *testing.T) {
	path, a, _ := mappedWord(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFutexChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), futexChildEnv+"="+path)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	wakeOne(t, a)
	a.Store(1)
	if _, err := FutexWake(a, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("child: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("child not released")
	}
}

// TestHelperFutexChild is the body of the re-executed test binary of
// TestFutexWakeAcrossProcesses; it does nothing in a normal run.
func TestHelperFutexChild(t *testing.T) {
	path := os.Getenv(futexChildEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	err := func() error {
		m, err := Open(path, 4096)
		if err != nil {
			return err
		}
		defer m.Unmap()
		w, err := Uint32(m.Bytes(), 0)
		if err != nil {
			return err
		}
		return waitWhileZero(w)
	}()
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// bounded runs f on a goroutine and fails the test if it has not returned
// within the deadline.
func bounded(t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(deadline):
		t.Fatalf("%s did not return", what)
	}
}

func TestFutexWaitReturns(t *testing.T) {
	_, a, _ := mappedWord(t)
	// Nobody wakes: the wait ends with its timeout, without an error.
	bounded(t, "timed-out wait", func() error { return FutexWait(a, 0, time.Millisecond) })
	// The word differs from val: no wait at all (an hour otherwise).
	a.Store(5)
	bounded(t, "wait on a changed word", func() error { return FutexWait(a, 4, time.Hour) })
	bounded(t, "wait without a timeout", func() error { return FutexWait(a, 5, 0) })
	if err := FutexWait(nil, 0, time.Second); !errors.Is(err, ErrAlign) {
		t.Fatalf("nil word: %v", err)
	}
	if n, err := FutexWake(a, 1); n != 0 || err != nil {
		t.Fatalf("wake without waiters: %d %v", n, err)
	}
	if n, err := FutexWake(a, 0); n != 0 || err != nil {
		t.Fatalf("wake of none: %d %v", n, err)
	}
	if _, err := FutexWake(nil, 1); !errors.Is(err, ErrAlign) {
		t.Fatalf("nil word: %v", err)
	}
}

func TestFutexAllocs(t *testing.T) {
	_, a, _ := mappedWord(t)
	a.Store(1)
	allocs := testing.AllocsPerRun(100, func() {
		if err := FutexWait(a, 0, time.Second); err != nil { // value differs
			t.Fatal(err)
		}
		if err := FutexWait(a, 1, time.Microsecond); err != nil { // times out
			t.Fatal(err)
		}
		if _, err := FutexWake(a, 1); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per wait and wake", allocs)
	}
}

// BenchmarkFutexWakeNoWaiter is the cost of a FutexWake that finds nobody
// asleep: what a producer pays when a sleeper flag was set but the
// sleeper has already woken.
func BenchmarkFutexWakeNoWaiter(b *testing.B) {
	w, err := Uint32(Aligned(8), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FutexWake(w, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "wakes/s")
}
