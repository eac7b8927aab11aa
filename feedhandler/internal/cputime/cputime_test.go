package cputime

import (
	"runtime"
	"testing"
)

func TestThreadCPUAdvances(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread CPU time is read with RUSAGE_THREAD, Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i ^ x>>3
	}
	if threadCPU() <= start {
		t.Fatalf("thread CPU time did not advance (x=%d)", x)
	}
}

func TestPinPair(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread affinity is set with sched_setaffinity, Linux only")
	}
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skipf("only %d CPU allowed: nothing to pin apart", len(cpus))
	}
	got := make(chan []int, 1)
	t.Run("pair", func(t *testing.T) {
		other := PinPair(t)
		mine, err := allowedCPUs()
		if err != nil || len(mine) != 1 || mine[0] != cpus[0] {
			t.Fatalf("pinned thread may run on %v (%v), want [%d]", mine, err, cpus[0])
		}
		go func() {
			other()
			c, _ := allowedCPUs()
			got <- c
		}()
		if c := <-got; len(c) != 1 || c[0] != cpus[1] {
			t.Fatalf("second thread may run on %v, want [%d]", c, cpus[1])
		}
	})
	// No thread the pair restricted is left restricted under the test.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if after, err := allowedCPUs(); err != nil || len(after) != len(cpus) {
		t.Fatalf("after cleanup the thread may run on %v (%v), want %v", after, err, cpus)
	}
}
