package ring

import (
	"runtime"
	"sync/atomic"
	"time"
)

// WaitStrategy decides how a blocking operation waits for the other side: a
// producer for free slots, a consumer for published ones. Implementations
// must be safe for concurrent use by both sides of a ring (and of several
// rings); per-side state lives in the Parker.
type WaitStrategy interface {
	// Wait pauses the caller once. attempt counts the consecutive waits of
	// the current blocking call, starting at 0. Wait may return at any time;
	// the caller re-checks the ring and calls again with attempt+1. p is the
	// waiting side's parking spot, for strategies that sleep.
	Wait(attempt int, p *Parker)
}

// BusySpin re-checks the ring immediately: lowest hand-off latency, one core
// burnt at 100% while waiting. Use it only with a core to spare per side.
//
// Every busySpinYieldEvery attempts it yields the processor once, so that
// on an oversubscribed process (fewer Ps than spinning goroutines, e.g.
// GOMAXPROCS=1) the other side still runs instead of waiting for the
// scheduler's 10 ms preemption on every hand-off.
type BusySpin struct{}

// busySpinYieldEvery is the number of spins between yields (a power of two).
const busySpinYieldEvery = 1 << 10

// Wait returns at once, yielding the processor every busySpinYieldEvery
// attempts.
func (BusySpin) Wait(attempt int, _ *Parker) {
	if attempt&(busySpinYieldEvery-1) == busySpinYieldEvery-1 {
		runtime.Gosched()
	}
}

// Yield calls runtime.Gosched between checks: low latency, and other
// goroutines on the same P still run while the ring is idle.
type Yield struct{}

// Wait yields the processor.
func (Yield) Wait(int, *Parker) { runtime.Gosched() }

// Park spins, then yields, then sleeps on the side's Parker until the other
// side makes progress (a publish or release wakes it), Close is called, or
// Timeout passes. An idle side costs no CPU.
type Park struct {
	// Spins is the number of attempts that return at once.
	Spins int
	// Yields is the number of attempts after Spins that call Gosched.
	Yields int
	// Timeout bounds one sleep; 0 selects ParkTimeoutDefault. Values are
	// clamped to [ParkTimeoutMin, ParkTimeoutMax].
	Timeout time.Duration
}

// Park timeout bounds.
const (
	// ParkTimeoutMin is the shortest sleep Park honours.
	ParkTimeoutMin = time.Microsecond
	// ParkTimeoutDefault is Park's sleep bound when Timeout is 0.
	ParkTimeoutDefault = 10 * time.Millisecond
	// ParkTimeoutMax is the longest sleep Park honours.
	ParkTimeoutMax = time.Second
)

// DefaultWait is the strategy New uses when given nil: a short spin, a few
// yields, then park.
var DefaultWait WaitStrategy = Park{Spins: 64, Yields: 16}

// Wait spins, yields or parks depending on attempt.
func (s Park) Wait(attempt int, p *Parker) {
	switch {
	case attempt < s.Spins:
	case attempt-s.Spins < s.Yields:
		runtime.Gosched()
	default:
		p.Park(s.Timeout)
	}
}

// Parker is one side's parking spot in a ring. The side about to sleep
// raises a flag, re-checks the ring and sleeps; the other side looks at the
// flag after every publish or release (one load of a line nobody writes
// while the flag is down) and wakes the sleeper through a one-slot channel.
// Because both the flag and the cursors are sequentially consistent atomics,
// either the sleeper sees the progress or the waker sees the flag, so no
// wake-up is lost; the timeout is a safety bound, not the wake mechanism.
type Parker struct {
	sleeping atomic.Uint32
	wakeC    chan struct{}
	timer    *time.Timer
	ready    func() bool
	timeouts uint64 // parks that ended by timeout, not by a wake-up
}

func (p *Parker) init(ready func() bool) {
	p.wakeC = make(chan struct{}, 1)
	p.timer = time.NewTimer(ParkTimeoutMax)
	p.timer.Stop()
	p.ready = ready
}

// Park sleeps until the other side makes progress, the ring is closed, or
// timeout (clamped to [ParkTimeoutMin, ParkTimeoutMax]; 0 selects
// ParkTimeoutDefault) passes. It returns at once if the ring is already
// ready. Only the side owning the Parker may call it.
func (p *Parker) Park(timeout time.Duration) {
	p.sleeping.Store(1)
	if p.ready() {
		p.sleeping.Store(0)
		return
	}
	p.timer.Reset(parkTimeout(timeout))
	select {
	case <-p.wakeC:
	case <-p.timer.C:
		p.timeouts++
	}
	p.timer.Stop()
	p.sleeping.Store(0)
}

// parkTimeout applies Park's default and bounds to timeout.
func parkTimeout(timeout time.Duration) time.Duration {
	switch {
	case timeout == 0:
		return ParkTimeoutDefault
	case timeout < ParkTimeoutMin:
		return ParkTimeoutMin
	case timeout > ParkTimeoutMax:
		return ParkTimeoutMax
	}
	return timeout
}

// wake lets a parked side run; a wake with nobody parked leaves one token,
// which makes the next Park return early for a harmless re-check.
func (p *Parker) wake() {
	select {
	case p.wakeC <- struct{}{}:
	default:
	}
}
