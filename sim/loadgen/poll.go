package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// Poller is an optional Session capability: the session's next reply can
// be taken without waiting. When every session of an open-loop run (Run)
// is a Poller, the run starts no receiver goroutines: its one sender
// polls every session while it waits for the next intended send time, and
// after the last send until every request is answered or DrainTimeout has
// passed. On a machine with few cores this keeps the load generator to one
// busy goroutine, so replies are not left waiting for a processor. A
// Poller's Send may fail with ErrSendFull (wrapped) when it cannot take a
// request now; the run polls and retries, for at most DrainTimeout.
type Poller interface {
	// Poll stores the next reply in rep and returns true, or returns
	// false at once when none is queued. An error ends the session.
	Poll(rep *Reply) (bool, error)
}

// ErrSendFull reports a Poller session whose Send cannot take a request
// until replies are taken off it (its request queue is full).
var ErrSendFull = errors.New("loadgen: session cannot take a request now")

// Polling bounds.
const (
	// pollCheckEvery is how often (in idle polling turns, a power of two)
	// a polling sender looks at its context and the wall clock.
	pollCheckEvery = 256
)

// pollAll polls each lane until it has nothing queued (at most its window
// plus one replies, so a flooding server cannot hold the sender), handling
// every reply at the clock's reading when it was taken. It returns how many
// replies it handled; a failing Poll is recorded as the lane's receive
// error and returned.
func (r *run) pollAll() (int, error) {
	clock := r.opts.Clock
	n := 0
	for _, l := range r.lanes {
		for range l.window + 1 {
			ok, err := l.poller.Poll(&r.rep)
			if err != nil {
				l.recvErr = err
				return n, fmt.Errorf("%w: %v", ErrSession, err)
			}
			if !ok {
				break
			}
			l.handle(&r.rep, clock.Now())
			n++
		}
	}
	return n, nil
}

// idle reports whether no request is outstanding on any lane.
func (r *run) idle() bool {
	for _, l := range r.lanes {
		if l.inflight.Load() != 0 {
			return false
		}
	}
	return true
}

// pollUntil polls every lane until the clock reaches t, at least once, and
// returns the clock's reading. Queued requests are flushed as soon as the
// sender is early. With nothing outstanding there is nothing to poll for:
// it sleeps with the clock's SleepUntil.
func (r *run) pollUntil(t int64) (int64, error) {
	clock := r.opts.Clock
	flushed := false
	for i := 0; ; i++ {
		n, err := r.pollAll()
		if err != nil {
			return 0, err
		}
		now := clock.Now()
		if now >= t {
			return now, nil
		}
		if !flushed {
			if err := r.flushAll(); err != nil {
				return 0, err
			}
			flushed = true
		}
		if n == 0 {
			if r.idle() {
				clock.SleepUntil(t)
				return clock.Now(), nil
			}
			if i%pollCheckEvery == pollCheckEvery-1 {
				if err := r.ctx.Err(); err != nil {
					return 0, err
				}
			}
		}
	}
}

// pollFor polls every lane until done returns true, failing with
// ErrStalled (what says what was awaited) after DrainTimeout.
func (r *run) pollFor(done func() (bool, error), what func() string) error {
	deadline := time.Now().Add(r.opts.DrainTimeout)
	for i := 0; ; i++ {
		if _, err := r.pollAll(); err != nil {
			return err
		}
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if i%pollCheckEvery == pollCheckEvery-1 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: %s for %v", ErrStalled, what(), r.opts.DrainTimeout)
			}
		}
	}
}

// sendPolled sends req on l, polling and retrying while the session is
// full.
func (r *run) sendPolled(l *lane, req *Request) error {
	err := l.sess.Send(req)
	if !errors.Is(err, ErrSendFull) {
		return err
	}
	return r.pollFor(func() (bool, error) {
		err := l.sess.Send(req)
		if errors.Is(err, ErrSendFull) {
			return false, nil
		}
		return true, err
	}, func() string { return fmt.Sprintf("a session refused requests (%d outstanding)", l.inflight.Load()) })
}

// drainPolled polls until every request is answered, a session fails or
// DrainTimeout has passed (the unanswered are then counted lost).
func (r *run) drainPolled() {
	_ = r.pollFor(func() (bool, error) { return r.idle(), nil }, func() string { return "answers outstanding" })
}

// polledPacer is Run's sender when every session is a Poller: one
// goroutine sends on schedule and, between sends, polls and accounts the
// replies exactly as the receivers would (latency from the intended send
// time).
func (r *run) polledPacer() openPacer {
	return openPacer{
		until: r.pollUntil,
		room: func(l *lane) error {
			return r.pollFor(func() (bool, error) { return l.hasRoom(), nil },
				func() string { return fmt.Sprintf("%d requests outstanding on one connection", l.inflight.Load()) })
		},
		send: r.sendPolled,
	}
}
