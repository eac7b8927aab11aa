package loadgen

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"
)

// Clock is the load generator's time source, in nanoseconds on a monotonic
// scale with an arbitrary origin. Tests inject a fake one.
type Clock interface {
	// Now returns the current time.
	Now() int64
	// SleepUntil returns once Now() >= t.
	SleepUntil(t int64)
}

// DefaultSpin is how close to a deadline MonoClock stops sleeping and
// spins. Go's timers wake up to about a millisecond late on Linux (the
// network poller's wait has millisecond resolution), so anything shorter
// than that is spun.
const DefaultSpin = 2 * time.Millisecond

// MonoClock is the real Clock: Go's monotonic clock. SleepUntil sleeps
// until spin before the deadline and then spins reading the clock, which
// keeps one processor busy while a schedule's gaps are shorter than spin.
// With yield it calls runtime.Gosched between reads; on a machine with few
// cores that is worse, not better: the spinner, back on the run queue, is
// found before the network poller is, so answers wait for sysmon's poll
// (measured on a 2-CPU VM: p50 at 10 k/s over TCP 35 µs spinning, 6 ms
// yielding).
type MonoClock struct {
	base  time.Time
	spin  int64
	yield bool
}

// NewMonoClock returns a MonoClock whose origin is now; spin <= 0 takes
// DefaultSpin.
func NewMonoClock(spin time.Duration, yield bool) *MonoClock {
	if spin <= 0 {
		spin = DefaultSpin
	}
	return &MonoClock{base: time.Now(), spin: int64(spin), yield: yield}
}

// Now implements Clock.
func (c *MonoClock) Now() int64 { return int64(time.Since(c.base)) }

// SleepUntil implements Clock.
func (c *MonoClock) SleepUntil(t int64) {
	for {
		d := t - c.Now()
		switch {
		case d <= 0:
			return
		case d > c.spin:
			time.Sleep(time.Duration(d - c.spin))
		case c.yield:
			runtime.Gosched()
		}
	}
}

// Bounds on a schedule.
const (
	// RateMax bounds the arrival rate, in requests per second.
	RateMax = 100e6
	// RateMin is the smallest arrival rate, in requests per second.
	RateMin = 1e-3
)

// ErrSchedule reports an invalid arrival rate.
var ErrSchedule = errors.New("loadgen: invalid schedule")

// Schedule yields the intended send times of an open-loop run as offsets in
// nanoseconds from its start: arrival i at i/rate seconds (fixed), or with
// exponential gaps of mean 1/rate drawn from a seeded generator (Poisson).
// The sequence depends only on the rate, the process and the seed.
type Schedule struct {
	periodNs float64
	poisson  bool
	state    uint64
	i        uint64
	acc      float64
}

// NewSchedule returns a schedule of rate arrivals per second.
func NewSchedule(rate float64, poisson bool, seed uint64) (*Schedule, error) {
	if !(rate >= RateMin && rate <= RateMax) {
		return nil, fmt.Errorf("%w: rate %g/s (want %g to %g)", ErrSchedule, rate, RateMin, RateMax)
	}
	return &Schedule{periodNs: 1e9 / rate, poisson: poisson, state: seed ^ 0x5eed5c4ed01e}, nil
}

// Next returns the next arrival's offset from the start, in nanoseconds;
// offsets never decrease.
func (s *Schedule) Next() int64 {
	if !s.poisson {
		t := int64(float64(s.i) * s.periodNs)
		s.i++
		return t
	}
	t := int64(s.acc)
	// u in (0, 1]: 53 random bits, never 0, so the log is finite.
	u := float64(splitMix64(&s.state)>>11+1) / (1 << 53)
	s.acc += -math.Log(u) * s.periodNs
	return t
}
