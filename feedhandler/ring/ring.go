// Package ring is the lock-free single-producer, single-consumer ring that
// hands Ticks from the feed handler to the engine.
//
// A Ring has a power-of-two number of slots, each a value next to a
// sequence word. The producer publishes positions [p, q) — one value or a
// batch — by writing their values and then storing q, the batch's end, into
// the sequence word of slot p, the batch's first (FastForward, Giacomoni et
// al. 2008, extended to batches; the Disruptor's availability buffer is the
// same idea). The consumer, at position h, learns that h is ready from the
// word in h's own slot, so a hand-off costs it one cache-line transfer: a
// Tick is 56 bytes, a Tick slot one aligned 64-byte line, and the word and
// the value arrive together. There is no shared tail cursor on the
// consumer's path. A batch costs one sequence store, not one per slot.
//
// Why the consumer may trust the word: it only ever reads the word of a
// batch boundary h (0, or the end of a batch it has already seen), and the
// next batch starts exactly there. The word of slot h then holds either this
// lap's end q > h, or a word from an earlier lap: the end of a batch that
// started at or before h-Cap, hence <= h (a batch spans at most Cap slots),
// or 0. So "word > h" means [h, word) is published. The store of q is an
// atomic store made after, in the producer's program order, every value of
// [p, q) and every earlier word; a load that observes it synchronizes with
// it (Go memory model), so all those writes happen before the consumer's
// reads. To take more than one batch the consumer hops from batch end to
// batch end, each hop reading a line it is about to read anyway.
//
// The consumer frees slots through a head cursor on its own padded
// cache-line group; the producer keeps a cached copy and reads the cursor
// only when that copy says the ring may be full, so in the common case the
// producer touches only the slots it writes. The producer also keeps its
// tail, the published count, on its own line for Len and Stats; the
// consumer never reads it. Each side works from a private copy of its own
// cursor, so polling an empty ring reads only the consumer's private line,
// the read-mostly header and the next slot.
//
// Exactly one goroutine may act as the producer (TryPush, Push, TryPushBatch,
// PushBatch, Claim, Publish) and exactly one as the consumer (TryPop, Pop,
// Poll, PollWait, Peek, Release) at any time. Len, Cap, Stats, Closed and
// Close may be called from anywhere.
//
// For the lowest hand-off latency the producer writes in place: Claim, fill
// the slot, Publish (the feed handler does). TryPush and Push take the value
// as an argument, and copying it into the slot reads back the caller's
// fresh, overlapping stores of that argument, which store-to-load
// forwarding cannot serve: about 30 ns more per hand-off on the development
// VM (BenchmarkHandoffLatencyInPlace against BenchmarkHandoffLatencyPaced).
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
	"unsafe"
)

const (
	// SlotsMax is the largest ring: 16 Mi slots (1 GiB of Tick slots).
	SlotsMax = 1 << 24
	// padBytes separates the cursor groups. It is two 64-byte lines, so the
	// adjacent-line prefetcher, which pulls lines in aligned 128-byte pairs,
	// never drags one side's hot line into the other side's core.
	padBytes = 128
	// largeObjectBytesMin is the smallest allocation the Go runtime serves
	// as a large object: a span of its own, starting on a page boundary,
	// with no allocation header. New allocates at least this much so that
	// the slot array is page-aligned, hence cache-line aligned, for every T.
	largeObjectBytesMin = 32<<10 + 1
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

// slot is one ring entry. When the slot's position p starts a published
// batch [p, q), seq is q; see the package comment. For a 56-byte T the slot
// is one 64-byte cache line.
type slot[T any] struct {
	seq atomic.Uint64
	v   T
}

// Ring is a bounded lock-free SPSC queue of T. Create it with New.
//
// Slots are not cleared when consumed: when T holds pointers, the values stay
// reachable until the producer overwrites their slots. Slots smaller than a
// cache line share lines with their neighbours; T of 56 bytes (Tick) gives
// exactly one line per slot.
type Ring[T any] struct {
	_ [padBytes]byte

	// Read-mostly: written by New and once by Close.
	buf    []slot[T] // Cap slots, page-aligned
	mask   uint64
	size   uint64
	wait   WaitStrategy
	closed atomic.Bool
	_      [padBytes]byte

	// Producer-owned. The consumer never reads this group; Len and Stats
	// read tail and stalls.
	prod struct {
		next      uint64        // next position to publish; the producer's copy of tail
		headCache uint64        // last head the producer saw
		claimed   int           // slots handed out by Claim, not yet published
		tail      atomic.Uint64 // next position to publish: slots published
		stalls    atomic.Uint64 // producer operations that found the ring full
	}
	_ [padBytes]byte

	// Consumer-owned and private: the producer never reads this group.
	cons struct {
		next     uint64 // next position to consume; the consumer's copy of head
		pubCache uint64 // positions below it are known published; a batch boundary
		peeked   int    // slots handed out by Peek, not yet released
	}
	_ [padBytes]byte

	// Consumer-written, read by the producer when its cache fills up (and by
	// Len and Stats). Apart from cons so that the consumer's polling never
	// touches a line the producer reads.
	head atomic.Uint64 // next position to consume: slots consumed
	_    [padBytes]byte

	// Parking spots, read by the opposite side after every publish or
	// release; written only when a side parks.
	prodPark Parker
	consPark Parker
	_        [padBytes]byte
}

// New returns a ring of slots slots whose blocking operations wait with
// wait; a nil wait selects DefaultWait. slots must be a power of two in
// [1, SlotsMax]. The slot array takes at least 32 KiB, so that it is
// page-aligned.
func New[T any](slots int, wait WaitStrategy) (*Ring[T], error) {
	if slots < 1 || slots > SlotsMax || bits.OnesCount(uint(slots)) != 1 {
		return nil, fmt.Errorf("%w: %d", ErrCapacity, slots)
	}
	if wait == nil {
		wait = DefaultWait
	}
	slotBytes := int(unsafe.Sizeof(slot[T]{})) // the package's only use of unsafe
	alloc := make([]slot[T], max(slots, (largeObjectBytesMin+slotBytes-1)/slotBytes))
	r := &Ring[T]{
		buf:  alloc[:slots:slots],
		mask: uint64(slots - 1),
		size: uint64(slots),
		wait: wait,
	}
	r.prodPark.init(func() bool {
		return r.closed.Load() || r.prod.next-r.head.Load() < r.size
	})
	r.consPark.init(func() bool {
		return r.closed.Load() || r.batchEnd(r.cons.pubCache) != 0
	})
	return r, nil
}

// Cap returns the number of slots.
func (r *Ring[T]) Cap() int { return int(r.size) }

// Len returns the number of published, unconsumed slots. From a goroutine
// other than the two sides it is a snapshot that may already be stale.
func (r *Ring[T]) Len() int {
	head := r.head.Load() // head first: tail only grows, so tail >= head
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
	consumed := r.head.Load()
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
		r.prod.headCache = r.head.Load()
		free = r.size - (tail - r.prod.headCache)
	}
	return free
}

// publish makes positions [tail, newTail), whose values are written, visible
// with one store into the first slot's sequence word, advances the
// published count and wakes a parked consumer.
func (r *Ring[T]) publish(tail, newTail uint64) {
	r.buf[tail&r.mask].seq.Store(newTail)
	r.prod.next = newTail
	r.prod.tail.Store(newTail)
	if r.consPark.sleeping.Load() != 0 {
		r.consPark.wake()
	}
}

// put writes v into the slot at tail and publishes it.
func (r *Ring[T]) put(tail uint64, v *T) {
	r.buf[tail&r.mask].v = *v
	r.publish(tail, tail+1)
}

// TryPush appends v and reports true, or reports false without waiting when
// the ring is full or closed.
func (r *Ring[T]) TryPush(v T) bool {
	if r.closed.Load() {
		return false
	}
	tail := r.prod.next
	if r.free(tail, 1) == 0 {
		r.prod.stalls.Add(1)
		return false
	}
	r.put(tail, &v)
	return true
}

// Push appends v, waiting while the ring is full. It returns ErrClosed if
// the ring is or becomes closed before v is placed.
func (r *Ring[T]) Push(v T) error {
	for attempt := 0; ; attempt++ {
		if r.closed.Load() {
			return ErrClosed
		}
		tail := r.prod.next
		if r.free(tail, 1) != 0 {
			r.put(tail, &v)
			return nil
		}
		if attempt == 0 {
			r.prod.stalls.Add(1)
		}
		r.wait.Wait(attempt, &r.prodPark)
	}
}

// pushSome copies as much of src as fits, then publishes it. It returns the
// count placed.
func (r *Ring[T]) pushSome(src []T) int {
	tail := r.prod.next
	n := min(uint64(len(src)), r.free(tail, uint64(len(src))))
	if n == 0 {
		return 0
	}
	for i := range src[:n] {
		r.buf[(tail+uint64(i))&r.mask].v = src[i]
	}
	r.publish(tail, tail+n)
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

// Claim returns up to n free slots for the producer to fill in place;
// Publish(k) then makes the first k visible. The batch is shorter than n
// when fewer slots are free, and empty when the ring is full or closed. It
// may wrap around the end of the ring. A new Claim replaces an unpublished
// one.
func (r *Ring[T]) Claim(n int) Batch[T] {
	r.prod.claimed = 0
	if n <= 0 || r.closed.Load() {
		return Batch[T]{}
	}
	tail := r.prod.next
	free := r.free(tail, uint64(n))
	if free == 0 {
		r.prod.stalls.Add(1)
		return Batch[T]{}
	}
	m := min(uint64(n), free)
	r.prod.claimed = int(m)
	return Batch[T]{newSpan(r.buf, tail, int(m))}
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
	tail := r.prod.next
	r.publish(tail, tail+uint64(k))
}

// ---- consumer ----

// batchEnd returns the end of the published batch that starts at the batch
// boundary pos, or 0 when none is published there yet.
func (r *Ring[T]) batchEnd(pos uint64) uint64 {
	if end := r.buf[pos&r.mask].seq.Load(); end > pos {
		return end
	}
	return 0
}

// avail returns the number of published slots at head, at most want (which
// it caps at Cap). It reads no sequence word while its cache of published
// positions covers want; otherwise it hops from batch to batch until it has
// want or finds no more.
func (r *Ring[T]) avail(head uint64, want uint64) uint64 {
	want = min(want, r.size)
	end := r.cons.pubCache
	if end-head >= want {
		return want
	}
	for {
		next := r.batchEnd(end)
		if next == 0 {
			break
		}
		end = next
		if end-head >= want {
			break
		}
	}
	if end == r.cons.pubCache {
		return end - head // no new batch: leave the cache line clean
	}
	r.cons.pubCache = end
	return min(end-head, want)
}

// release frees the slots before newHead and wakes a parked producer.
func (r *Ring[T]) release(newHead uint64) {
	r.cons.next = newHead
	r.head.Store(newHead)
	if r.prodPark.sleeping.Load() != 0 {
		r.prodPark.wake()
	}
}

// TryPop removes and returns the oldest slot, or reports false without
// waiting when the ring is empty.
func (r *Ring[T]) TryPop() (v T, ok bool) {
	head := r.cons.next
	s := &r.buf[head&r.mask]
	if head == r.cons.pubCache { // nothing known published: read the word
		end := s.seq.Load()
		if end <= head {
			return v, false
		}
		r.cons.pubCache = end
	}
	v = s.v
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
// a stamp read after seeing closed shows them all.
func (r *Ring[T]) drainedClosed() bool {
	if !r.closed.Load() {
		return false
	}
	return r.avail(r.cons.next, 1) == 0
}

// Poll moves up to len(dst) of the oldest slots into dst, releasing them
// with one cursor store, and returns the count; 0 when the ring is empty.
func (r *Ring[T]) Poll(dst []T) int {
	if len(dst) == 0 {
		return 0
	}
	head := r.cons.next
	n := r.avail(head, uint64(len(dst)))
	if n == 0 {
		return 0
	}
	dst = dst[:n]
	for i := range dst {
		dst[i] = r.buf[(head+uint64(i))&r.mask].v
	}
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

// Peek returns a view of up to n of the oldest slots without copying;
// Release(k) then frees the first k. The view is shorter than n when fewer
// slots are readable, and empty when the ring is empty. It may wrap around
// the end of the ring. The slots stay valid until released. A new Peek
// replaces an unreleased one.
func (r *Ring[T]) Peek(n int) View[T] {
	r.cons.peeked = 0
	if n <= 0 {
		return View[T]{}
	}
	head := r.cons.next
	m := r.avail(head, uint64(n))
	if m == 0 {
		return View[T]{}
	}
	r.cons.peeked = int(m)
	return View[T]{newSpan(r.buf, head, int(m))}
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
	r.release(r.cons.next + uint64(k))
}

// ---- batches ----

// span is a run of consecutive ring positions: the slots up to the end of
// the ring in a, the wrapped rest in b.
type span[T any] struct {
	a, b []slot[T]
}

// newSpan returns the span of n slots of buf from position first.
func newSpan[T any](buf []slot[T], first uint64, n int) span[T] {
	idx := int(first & uint64(len(buf)-1))
	if end := idx + n; end <= len(buf) {
		return span[T]{a: buf[idx:end:end]}
	}
	return span[T]{a: buf[idx:], b: buf[: idx+n-len(buf) : idx+n-len(buf)]}
}

// Len returns the number of slots.
func (s span[T]) Len() int { return len(s.a) + len(s.b) }

// At returns slot i, for i in [0, Len()). It panics if i is out of range.
func (s span[T]) At(i int) *T {
	if uint(i) < uint(len(s.a)) {
		return &s.a[i].v
	}
	return &s.b[i-len(s.a)].v // out of range panics here
}

// Batch is the producer's zero-copy view of claimed slots (see Claim): it
// writes slot i through At(i) and then publishes. The slots are
// interleaved with the ring's sequence words, so they are not one []T. The
// zero Batch is empty. A Batch is valid until the next Claim or Publish.
type Batch[T any] struct{ span[T] }

// View is the consumer's zero-copy view of published slots (see Peek): it
// reads slot i through At(i), in place, and then releases. The consumer
// must not modify the slots. The zero View is empty. A View is valid until
// the next Peek or Release.
type View[T any] struct{ span[T] }
