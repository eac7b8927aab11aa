package udpsend

import (
	"runtime"
	"time"
)

// Clock is the sender's time source. Tests inject a fake one so pacing is
// checked in simulated time, never against the wall clock.
type Clock interface {
	// Now returns monotonic nanoseconds.
	Now() int64
	// WaitUntil returns once Now() >= ns, or earlier (callers re-check).
	// spin asks for busy-waiting rather than sleeping (high rates).
	WaitUntil(ns int64, spin bool)
}

// sleepSliceNs bounds one sleep so a waiting sender notices cancellation.
const sleepSliceNs = 50_000_000

// realClock is the monotonic wall clock.
type realClock struct{ base time.Time }

// RealClock returns the monotonic wall clock.
func RealClock() Clock { return &realClock{base: time.Now()} }

func (c *realClock) Now() int64 { return int64(time.Since(c.base)) }

func (c *realClock) WaitUntil(ns int64, spin bool) {
	d := ns - c.Now()
	if d <= 0 {
		return
	}
	if !spin {
		time.Sleep(time.Duration(min(d, sleepSliceNs)))
		return
	}
	// Busy-wait for short gaps: sleeping overshoots by tens of microseconds.
	for c.Now() < ns {
		runtime.Gosched()
	}
}
