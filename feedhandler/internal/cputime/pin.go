package cputime

import (
	"fmt"
	"runtime"
	"testing"
)

// PinPair locks the calling goroutine to its OS thread and restricts that
// thread to a CPU, and returns a function that a second goroutine calls
// first to do the same on another CPU: a two-core benchmark then always
// measures two distinct cores (the first two the process may use), never
// two threads the scheduler happened to put on one. Where affinity cannot
// be set (fewer than two CPUs allowed, or not Linux) both goroutines are
// only locked to their threads, and the reason is logged. The calling
// goroutine's pinning is undone when b finishes.
func PinPair(b testing.TB) (other func()) {
	runtime.LockOSThread()
	cpus, err := allowedCPUs()
	if err == nil && len(cpus) < 2 {
		err = fmt.Errorf("only %d CPU allowed", len(cpus))
	}
	if err == nil {
		err = pinThread(cpus[0])
	}
	if err != nil {
		b.Logf("threads not pinned to distinct CPUs: %v", err)
		b.Cleanup(runtime.UnlockOSThread)
		return func() { runtime.LockOSThread() }
	}
	b.Cleanup(func() {
		// Give the thread back to every allowed CPU before unlocking it.
		restoreThread(cpus)
		runtime.UnlockOSThread()
	})
	second := cpus[1]
	return func() {
		runtime.LockOSThread()
		if err := pinThread(second); err != nil {
			b.Logf("second thread not pinned: %v", err)
		}
	}
}
