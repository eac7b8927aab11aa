// Package ring is the lock-free single-producer, single-consumer ring that
// hands Ticks from the feed handler to the engine, in the style of the LMAX
// Disruptor.
//
// A Ring has a power-of-two number of slots and two monotonically increasing
// cursors: the producer's tail (slots published) and the consumer's head
// (slots released). Each cursor lives on its own padded cache-line group
// together with that side's cached copy of the other side's cursor, so a side
// touches the other side's line only when its cached view says the ring is
// full (producer) or empty (consumer). Batch operations amortise the one
// sequentially consistent cursor store per call over many slots.
//
// Exactly one goroutine may act as the producer (TryPush, Push, TryPushBatch,
// PushBatch, Claim, Publish) and exactly one as the consumer (TryPop, Pop,
// Poll, PollWait, Peek, Release) at any time. Len, Cap, Stats, Closed and
// Close may be called from anywhere.
//
// Blocking operations wait through a WaitStrategy: BusySpin for the lowest
// latency on a dedicated core, Yield to share a core politely, or Park to
// sleep until the other side makes progress.
package ring

import (
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
)

const (
	// SlotsMax is the largest ring: 16 Mi slots (1 GiB of Ticks).
	SlotsMax = 1 << 24
	// padBytes separates the cursor groups. It is two 64-byte lines, so the
	// adjacent-line prefetcher, which pulls lines in aligned 128-byte pairs,
	// never drags one side's hot line into the other side's core.
	padBytes = 128
)

// Errors returned by the ring.
var (
	// ErrCapacity reports a slot count that is not a power of two in
	// [1, SlotsMax].
	ErrCapacity = errors.New("ring: slot count must be a power of two in [1, SlotsMax]")
	// ErrClosed reports a push to a closed ring, or a blocking pop on a
	// closed ring that has been drained.
	ErrClosed = errors.New("ring: closed")
)

// Ring is a bounded lock-free SPSC queue of T. Create it with New.
//
// Slots are not cleared when consumed: when T holds pointers, the values stay
// reachable until the producer overwrites their slots.
type Ring[T any] struct {
	_ [padBytes]byte

	// Read-mostly: written by New and once by Close.
	buf    []T
	mask   uint64
	size   uint64
	wait   WaitStrategy
	closed atomic.Bool
	_      [padBytes]byte

	// Producer-owned. tail is read by the consumer when its cache runs dry.
	prod struct {
		tail      atomic.Uint64 // next sequence to publish
		headCache uint64        // last head the producer saw
		claimed   int           // slots handed out by Claim, not yet published
		stalls    atomic.Uint64 // producer operations that found the ring full
	}
	_ [padBytes]byte

	// Consumer-owned. head is read by the producer when its cache fills up.
	cons struct {
		head      atomic.Uint64 // next sequence to consume
		tailCache uint64        // last tail the consumer saw
		peeked    int           // slots handed out by Peek, not yet released
	}
	_ [padBytes]byte

	// Parking spots, read by the opposite side after every publish or
	// release; written only when a side parks.
	prodPark Parker
	consPark Parker
	_        [padBytes]byte
}

// New returns a ring of slots slots whose blocking operations wait with
// wait; a nil wait selects DefaultWait. slots must be a power of two in
// [1, SlotsMax].
func New[T any](slots int, wait WaitStrategy) (*Ring[T], error) {
	if slots < 1 || slots > SlotsMax || bits.OnesCount(uint(slots)) != 1 {
		return nil, fmt.Errorf("%w: %d", ErrCapacity, slots)
	}
	if wait == nil {
		wait = DefaultWait
	}
	r := &Ring[T]{
		buf:  make([]T, slots),
		mask: uint64(slots - 1),
		size: uint64(slots),
		wait: wait,
	}
	r.prodPark.init(func() bool {
		return r.closed.Load() || r.prod.tail.Load()-r.cons.head.Load() < r.size
	})
	r.consPark.init(func() bool {
		return r.closed.Load() || r.prod.tail.Load() != r.cons.head.Load()
	})
	return r, nil
}

// Cap returns the number of slots.
func (r *Ring[T]) Cap() int { return int(r.size) }

// Len returns the number of published, unconsumed slots. From a goroutine
// other than the two sides it is a snapshot that may already be stale.
func (r *Ring[T]) Len() int {
	head := r.cons.head.Load() // head first: tail only grows, so tail >= head
	n := r.prod.tail.Load() - head
	if n > r.size { // tail read after the producer overtook the head snapshot
		n = r.size
	}
	return int(n)
}

// Closed reports whether Close has been called.
func (r *Ring[T]) Closed() bool { return r.closed.Load() }

// Close marks the end of the stream. Later pushes fail with ErrClosed; the
// consumer still receives every slot published before Close, after which
// its blocking operations return ErrClosed. Close wakes parked waiters and
// may be called more than once, from either side or a third goroutine. The
// producer closing its own stream is the clean shutdown; a Close from
// elsewhere that races a push may let that one push through, and the
// consumer may then have stopped before seeing it.
func (r *Ring[T]) Close() {
	r.closed.Store(true)
	r.prodPark.wake()
	r.consPark.wake()
}

// Stats is a snapshot of a ring's counters.
type Stats struct {
	// Cap is the number of slots; Len the published, unconsumed slots.
	Cap, Len int
	// Published and Consumed count slots since New: the two cursors.
	Published, Consumed uint64
	// Stalls counts producer operations that found the ring full: failed
	// TryPush/TryPushBatch/Claim calls that placed nothing, and Push or
	// PushBatch calls that had to wait. It measures back-pressure.
	Stalls uint64
	// Closed reports whether Close has been called.
	Closed bool
}

// Stats returns the ring's counters. Safe from any goroutine.
func (r *Ring[T]) Stats() Stats {
	consumed := r.cons.head.Load()
	published := r.prod.tail.Load()
	n := published - consumed
	if n > r.size {
		n = r.size
	}
	return Stats{
		Cap:       int(r.size),
		Len:       int(n),
		Published: published,
		Consumed:  consumed,
		Stalls:    r.prod.stalls.Load(),
		Closed:    r.closed.Load(),
	}
}

// ---- producer ----

// free returns the number of free slots at tail, refreshing the cached head
// from the consumer's cursor only when the cache shows fewer than want.
func (r *Ring[T]) free(tail uint64, want uint64) uint64 {
	free := r.size - (tail - r.prod.headCache)
	if free < want {
		r.prod.headCache = r.cons.head.Load()
		free = r.size - (tail - r.prod.headCache)
	}
	return free
}

// publish makes the slots up to newTail visible and wakes a parked consumer.
func (r *Ring[T]) publish(newTail uint64) {
	r.prod.tail.Store(newTail)
	if r.consPark.sleeping.Load() != 0 {
		r.consPark.wake()
	}
}

// TryPush appends v and reports true, or reports false without waiting when
// the ring is full or closed.
func (r *Ring[T]) TryPush(v T) bool {
	if r.closed.Load() {
		return false
	}
	tail := r.prod.tail.Load()
	if r.free(tail, 1) == 0 {
		r.prod.stalls.Add(1)
		return false
	}
	r.buf[tail&r.mask] = v
	r.publish(tail + 1)
	return true
}

// Push appends v, waiting while the ring is full. It returns ErrClosed if
// the ring is or becomes closed before v is placed.
func (r *Ring[T]) Push(v T) error {
	for attempt := 0; ; attempt++ {
		if r.closed.Load() {
			return ErrClosed
		}
		tail := r.prod.tail.Load()
		if r.free(tail, 1) != 0 {
			r.buf[tail&r.mask] = v
			r.publish(tail + 1)
			return nil
		}
		if attempt == 0 {
			r.prod.stalls.Add(1)
		}
		r.wait.Wait(attempt, &r.prodPark)
	}
}

// pushSome copies as much of src as fits and publishes it with one cursor
// store. It returns the count placed.
func (r *Ring[T]) pushSome(src []T) int {
	tail := r.prod.tail.Load()
	n := min(uint64(len(src)), r.free(tail, uint64(len(src))))
	if n == 0 {
		return 0
	}
	idx := tail & r.mask
	first := min(n, r.size-idx)
	copy(r.buf[idx:idx+first], src[:first])
	copy(r.buf[:n-first], src[first:n])
	r.publish(tail + n)
	return int(n)
}

// TryPushBatch appends the longest prefix of src that fits without waiting,
// publishing it at once, and returns its length: 0 when the ring is full or
// closed.
func (r *Ring[T]) TryPushBatch(src []T) int {
	if len(src) == 0 || r.closed.Load() {
		return 0
	}
	n := r.pushSome(src)
	if n == 0 {
		r.prod.stalls.Add(1)
	}
	return n
}

// PushBatch appends all of src, in as few publishes as space allows,
// waiting while the ring is full. It returns the count placed, which is
// less than len(src) only with ErrClosed.
func (r *Ring[T]) PushBatch(src []T) (int, error) {
	done := 0
	stalled := false
	for attempt := 0; done < len(src); {
		if r.closed.Load() {
			return done, ErrClosed
		}
		if n := r.pushSome(src[done:]); n > 0 {
			done += n
			attempt = 0
			continue
		}
		if !stalled {
			stalled = true
			r.prod.stalls.Add(1)
		}
		r.wait.Wait(attempt, &r.prodPark)
		attempt++
	}
	return done, nil
}

// Claim returns up to n free slots, contiguous in the ring, for the
// producer to fill in place; Publish(k) then makes the first k visible. The
// slice is shorter than n when fewer slots are free or the free run wraps,
// and empty when the ring is full or closed. A new Claim replaces an
// unpublished one.
func (r *Ring[T]) Claim(n int) []T {
	r.prod.claimed = 0
	if n <= 0 || r.closed.Load() {
		return nil
	}
	tail := r.prod.tail.Load()
	free := r.free(tail, uint64(n))
	if free == 0 {
		r.prod.stalls.Add(1)
		return nil
	}
	idx := tail & r.mask
	m := min(uint64(n), free, r.size-idx)
	r.prod.claimed = int(m)
	return r.buf[idx : idx+m : idx+m]
}

// Publish makes the first k slots of the last Claim visible to the consumer
// and ends that claim. It panics if k exceeds the claimed length.
func (r *Ring[T]) Publish(k int) {
	if k < 0 || k > r.prod.claimed {
		panic(fmt.Sprintf("ring: Publish(%d) with %d slots claimed", k, r.prod.claimed))
	}
	r.prod.claimed = 0
	if k == 0 {
		return
	}
	r.publish(r.prod.tail.Load() + uint64(k))
}

// ---- consumer ----

// avail returns the number of readable slots at head, refreshing the cached
// tail from the producer's cursor only when the cache shows fewer than want.
func (r *Ring[T]) avail(head uint64, want uint64) uint64 {
	avail := r.cons.tailCache - head
	if avail < want {
		r.cons.tailCache = r.prod.tail.Load()
		avail = r.cons.tailCache - head
	}
	return avail
}

// release frees the slots before newHead and wakes a parked producer.
func (r *Ring[T]) release(newHead uint64) {
	r.cons.head.Store(newHead)
	if r.prodPark.sleeping.Load() != 0 {
		r.prodPark.wake()
	}
}

// TryPop removes and returns the oldest slot, or reports false without
// waiting when the ring is empty.
func (r *Ring[T]) TryPop() (T, bool) {
	head := r.cons.head.Load()
	if r.avail(head, 1) == 0 {
		var zero T
		return zero, false
	}
	v := r.buf[head&r.mask]
	r.release(head + 1)
	return v, true
}

// Pop removes and returns the oldest slot, waiting while the ring is empty.
// It returns ErrClosed once the ring is closed and drained.
func (r *Ring[T]) Pop() (T, error) {
	for attempt := 0; ; attempt++ {
		if v, ok := r.TryPop(); ok {
			return v, nil
		}
		if r.drainedClosed() {
			var zero T
			return zero, ErrClosed
		}
		r.wait.Wait(attempt, &r.consPark)
	}
}

// drainedClosed reports, for the consumer, that the ring is closed and no
// slot remains. Close follows every publish the producer made before it, so
// a tail read after seeing closed includes them all.
func (r *Ring[T]) drainedClosed() bool {
	if !r.closed.Load() {
		return false
	}
	return r.prod.tail.Load() == r.cons.head.Load()
}

// Poll moves up to len(dst) of the oldest slots into dst, releasing them
// with one cursor store, and returns the count; 0 when the ring is empty.
func (r *Ring[T]) Poll(dst []T) int {
	if len(dst) == 0 {
		return 0
	}
	head := r.cons.head.Load()
	n := min(uint64(len(dst)), r.avail(head, uint64(len(dst))))
	if n == 0 {
		return 0
	}
	idx := head & r.mask
	first := min(n, r.size-idx)
	copy(dst[:first], r.buf[idx:idx+first])
	copy(dst[first:n], r.buf[:n-first])
	r.release(head + n)
	return int(n)
}

// PollWait is Poll that waits while the ring is empty. It returns at least
// one slot (when len(dst) > 0), or ErrClosed once the ring is closed and
// drained.
func (r *Ring[T]) PollWait(dst []T) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	for attempt := 0; ; attempt++ {
		if n := r.Poll(dst); n > 0 {
			return n, nil
		}
		if r.drainedClosed() {
			return 0, ErrClosed
		}
		r.wait.Wait(attempt, &r.consPark)
	}
}

// Peek returns a view of up to n of the oldest slots, contiguous in the
// ring, without copying; Release(k) then frees the first k. The view is
// shorter than n when fewer slots are readable or they wrap, and empty when
// the ring is empty. The slots stay valid until released. A new Peek
// replaces an unreleased one.
func (r *Ring[T]) Peek(n int) []T {
	r.cons.peeked = 0
	if n <= 0 {
		return nil
	}
	head := r.cons.head.Load()
	avail := r.avail(head, uint64(n))
	if avail == 0 {
		return nil
	}
	idx := head & r.mask
	m := min(uint64(n), avail, r.size-idx)
	r.cons.peeked = int(m)
	return r.buf[idx : idx+m : idx+m]
}

// Release frees the first k slots of the last Peek for the producer and
// ends that view. It panics if k exceeds the view's length.
func (r *Ring[T]) Release(k int) {
	if k < 0 || k > r.cons.peeked {
		panic(fmt.Sprintf("ring: Release(%d) with %d slots peeked", k, r.cons.peeked))
	}
	r.cons.peeked = 0
	if k == 0 {
		return
	}
	r.release(r.cons.head.Load() + uint64(k))
}
