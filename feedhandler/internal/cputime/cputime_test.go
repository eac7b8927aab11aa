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
