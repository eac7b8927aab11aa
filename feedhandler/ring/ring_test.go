package ring

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func mustNew[T any](t testing.TB, slots int, wait WaitStrategy) *Ring[T] {
	t.Helper()
	r, err := New[T](slots, wait)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tick(seq uint64) Tick {
	return Tick{
		Instrument: uint32(seq),
		Bid:        int64(seq) * 3,
		Ask:        int64(seq)*3 + 1,
		ExchangeNs: seq,
	}
}

func checkTick(t testing.TB, got Tick, seq uint64) {
	t.Helper()
	if got != tick(seq) {
		t.Fatalf("slot %d = %+v, want %+v", seq, got, tick(seq))
	}
}

func TestTickSlotIsOneCacheLine(t *testing.T) {
	if s := unsafe.Sizeof(Tick{}); s != 56 {
		t.Fatalf("Tick is %d bytes, want 56", s)
	}
	if s := unsafe.Sizeof(slot[Tick]{}); s != 64 {
		t.Fatalf("a Tick slot is %d bytes, want 64", s)
	}
}

// alignedTo reports whether r's slot array starts on a multiple of align.
func alignedTo[T any](r *Ring[T], align uintptr) bool {
	return uintptr(unsafe.Pointer(&r.buf[0]))%align == 0
}

// TestSlotsAligned checks that every ring's slot array is page-aligned, so
// that each Tick slot is exactly one cache line, whatever T and the size.
func TestSlotsAligned(t *testing.T) {
	const pageBytes = 4096
	for _, slots := range []int{1, 2, 8, 64, 256, 512, 1024, 4096, 1 << 16} {
		var keep []any // keep every ring alive so none reuses another's memory
		for range 4 {
			rt := mustNew[Tick](t, slots, nil)
			ri := mustNew[int32](t, slots, nil)
			rp := mustNew[*Tick](t, slots, nil)
			rs := mustNew[string](t, slots, nil)
			keep = append(keep, rt, ri, rp, rs)
			if !alignedTo(rt, pageBytes) || !alignedTo(ri, pageBytes) || !alignedTo(rp, pageBytes) || !alignedTo(rs, pageBytes) {
				t.Fatalf("%d slots: slot arrays at %p %p %p %p, want %d-byte aligned",
					slots, &rt.buf[0], &ri.buf[0], &rp.buf[0], &rs.buf[0], pageBytes)
			}
			if len(rt.buf) != slots || cap(rt.buf) != slots {
				t.Fatalf("%d slots: buf len %d cap %d", slots, len(rt.buf), cap(rt.buf))
			}
		}
		_ = keep
	}
}

func TestShares(t *testing.T) {
	for in, want := range map[uint64]uint32{
		0: 0, 1: 1, 100: 100, SharesMax - 1: SharesMax - 1, SharesMax: SharesMax,
		SharesMax + 1: SharesMax, 1 << 40: SharesMax, ^uint64(0): SharesMax,
	} {
		if got := Shares(in); got != want {
			t.Errorf("Shares(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestNewCapacity(t *testing.T) {
	for _, slots := range []int{0, -1, -8, 3, 6, 1000, SlotsMax + 1, SlotsMax * 2} {
		if _, err := New[Tick](slots, nil); !errors.Is(err, ErrCapacity) {
			t.Errorf("New(%d) error = %v, want ErrCapacity", slots, err)
		}
	}
	for _, slots := range []int{1, 2, 4, 1024} {
		r, err := New[Tick](slots, nil)
		if err != nil {
			t.Fatalf("New(%d): %v", slots, err)
		}
		if r.Cap() != slots || r.Len() != 0 {
			t.Errorf("New(%d): Cap %d Len %d", slots, r.Cap(), r.Len())
		}
	}
}

// TestCursorGroupsApart checks the layout that keeps the two sides' hot
// fields, and the consumer's private fields from the head cursor the
// producer reads, out of each other's cache lines and 128-byte prefetch
// pairs.
func TestCursorGroupsApart(t *testing.T) {
	var r Ring[Tick]
	prodStart := unsafe.Offsetof(r.prod)
	prodEnd := prodStart + unsafe.Sizeof(r.prod)
	consStart := unsafe.Offsetof(r.cons)
	consEnd := consStart + unsafe.Sizeof(r.cons)
	headStart := unsafe.Offsetof(r.head)
	headEnd := headStart + unsafe.Sizeof(r.head)
	parkStart := unsafe.Offsetof(r.prodPark)
	roEnd := unsafe.Offsetof(r.closed) + unsafe.Sizeof(r.closed)
	if unsafe.Offsetof(r.buf) < padBytes {
		t.Errorf("read-mostly fields start at %d, want a %d-byte lead pad", unsafe.Offsetof(r.buf), padBytes)
	}
	for _, gap := range []struct {
		name       string
		end, start uintptr
	}{
		{"read-mostly/producer", roEnd, prodStart},
		{"producer/consumer", prodEnd, consStart},
		{"consumer/head", consEnd, headStart},
		{"head/parkers", headEnd, parkStart},
	} {
		if gap.start-gap.end < padBytes {
			t.Errorf("%s: %d bytes apart, want >= %d", gap.name, gap.start-gap.end, padBytes)
		}
	}
	if unsafe.Sizeof(r.prod) > padBytes || unsafe.Sizeof(r.cons) > padBytes {
		t.Errorf("cursor groups are %d and %d bytes, want <= %d", unsafe.Sizeof(r.prod), unsafe.Sizeof(r.cons), padBytes)
	}
	if tail := unsafe.Sizeof(r) - (unsafe.Offsetof(r.consPark) + unsafe.Sizeof(r.consPark)); tail < padBytes {
		t.Errorf("trailing pad %d bytes, want >= %d", tail, padBytes)
	}
}

func TestSequential(t *testing.T) {
	const slots = 16
	r := mustNew[Tick](t, slots, BusySpin{})
	if _, ok := r.TryPop(); ok {
		t.Fatal("TryPop on an empty ring succeeded")
	}
	for i := uint64(0); i < slots; i++ {
		if !r.TryPush(tick(i)) {
			t.Fatalf("TryPush %d failed on a ring with %d free", i, slots-i)
		}
		if r.Len() != int(i+1) {
			t.Fatalf("Len = %d after %d pushes", r.Len(), i+1)
		}
	}
	if r.TryPush(tick(99)) {
		t.Fatal("TryPush on a full ring succeeded")
	}
	if s := r.Stats(); s.Stalls != 1 || s.Len != slots || s.Published != slots || s.Consumed != 0 {
		t.Fatalf("Stats on a full ring = %+v", s)
	}
	for i := uint64(0); i < slots; i++ {
		v, ok := r.TryPop()
		if !ok {
			t.Fatalf("TryPop %d failed", i)
		}
		checkTick(t, v, i)
	}
	if _, ok := r.TryPop(); ok {
		t.Fatal("TryPop on a drained ring succeeded")
	}
	if s := r.Stats(); s.Len != 0 || s.Published != slots || s.Consumed != slots || s.Closed {
		t.Fatalf("Stats on a drained ring = %+v", s)
	}
}

func TestSingleSlot(t *testing.T) {
	r := mustNew[int](t, 1, nil)
	for i := 0; i < 10; i++ {
		if !r.TryPush(i) {
			t.Fatalf("push %d failed", i)
		}
		if r.TryPush(-1) {
			t.Fatal("second push into one slot succeeded")
		}
		if v, ok := r.TryPop(); !ok || v != i {
			t.Fatalf("pop = %d, %v; want %d", v, ok, i)
		}
	}
}

// TestModel drives every operation in random sizes against a plain slice
// queue, across many wrap-arounds of a small ring.
func TestModel(t *testing.T) {
	for _, slots := range []int{1, 2, 8, 64} {
		t.Run(fmt.Sprint(slots), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(slots), 7))
			r := mustNew[uint64](t, slots, BusySpin{})
			var model []uint64
			next := uint64(0)
			buf := make([]uint64, 3*slots+2)
			var stalls uint64
			for step := 0; step < 20000; step++ {
				k := rng.IntN(len(buf) + 1)
				switch op := rng.IntN(8); op {
				case 0: // TryPush
					ok := r.TryPush(next)
					if ok != (len(model) < slots) {
						t.Fatalf("step %d: TryPush = %v with %d queued", step, ok, len(model))
					}
					if ok {
						model = append(model, next)
						next++
					} else {
						stalls++
					}
				case 1: // TryPushBatch
					for i := range buf[:k] {
						buf[i] = next + uint64(i)
					}
					n := r.TryPushBatch(buf[:k])
					if want := min(k, slots-len(model)); n != want {
						t.Fatalf("step %d: TryPushBatch(%d) = %d, want %d", step, k, n, want)
					}
					if k > 0 && n == 0 {
						stalls++
					}
					model = append(model, buf[:n]...)
					next += uint64(n)
				case 2: // Claim/Publish
					c := r.Claim(k)
					free := slots - len(model)
					if want := min(k, free); c.Len() != want {
						t.Fatalf("step %d: Claim(%d) len %d, want %d", step, k, c.Len(), want)
					}
					if k > 0 && free == 0 {
						stalls++
					}
					pub := 0
					if c.Len() > 0 {
						pub = rng.IntN(c.Len() + 1)
					}
					for i := range pub {
						*c.At(i) = next + uint64(i)
					}
					r.Publish(pub)
					for i := 0; i < pub; i++ {
						model = append(model, next)
						next++
					}
				case 3: // TryPop
					v, ok := r.TryPop()
					if ok != (len(model) > 0) {
						t.Fatalf("step %d: TryPop ok = %v with %d queued", step, ok, len(model))
					}
					if ok {
						if v != model[0] {
							t.Fatalf("step %d: TryPop = %d, want %d", step, v, model[0])
						}
						model = model[1:]
					}
				case 4: // Poll
					n := r.Poll(buf[:k])
					if want := min(k, len(model)); n != want {
						t.Fatalf("step %d: Poll(%d) = %d, want %d", step, k, n, want)
					}
					for i := 0; i < n; i++ {
						if buf[i] != model[i] {
							t.Fatalf("step %d: Poll[%d] = %d, want %d", step, i, buf[i], model[i])
						}
					}
					model = model[n:]
				case 5: // Peek/Release
					v := r.Peek(k)
					if want := min(k, len(model)); v.Len() != want {
						t.Fatalf("step %d: Peek(%d) len %d, want %d", step, k, v.Len(), want)
					}
					for i := range v.Len() {
						if *v.At(i) != model[i] {
							t.Fatalf("step %d: Peek[%d] = %d, want %d", step, i, *v.At(i), model[i])
						}
					}
					rel := 0
					if v.Len() > 0 {
						rel = rng.IntN(v.Len() + 1)
					}
					r.Release(rel)
					model = model[rel:]
				case 6: // blocking forms, only when they cannot block
					if len(model) < slots {
						if err := r.Push(next); err != nil {
							t.Fatal(err)
						}
						model = append(model, next)
						next++
					} else if len(model) > 0 {
						v, err := r.Pop()
						if err != nil || v != model[0] {
							t.Fatalf("step %d: Pop = %d, %v; want %d", step, v, err, model[0])
						}
						model = model[1:]
					}
				case 7:
					if k > 0 && len(model) > 0 {
						n, err := r.PollWait(buf[:k])
						if err != nil || n != min(k, len(model)) {
							t.Fatalf("step %d: PollWait(%d) = %d, %v with %d queued", step, k, n, err, len(model))
						}
						model = model[n:]
					} else if m := min(k, slots-len(model)); m > 0 {
						for i := range buf[:m] {
							buf[i] = next + uint64(i)
						}
						n, err := r.PushBatch(buf[:m])
						if err != nil || n != m {
							t.Fatalf("step %d: PushBatch(%d) = %d, %v", step, m, n, err)
						}
						model = append(model, buf[:m]...)
						next += uint64(m)
					}
				}
				if r.Len() != len(model) {
					t.Fatalf("step %d: Len = %d, model %d", step, r.Len(), len(model))
				}
			}
			s := r.Stats()
			if s.Published != next || s.Consumed != next-uint64(len(model)) || s.Stalls != stalls {
				t.Fatalf("Stats = %+v; want published %d consumed %d stalls %d", s, next, next-uint64(len(model)), stalls)
			}
		})
	}
}

func TestBatchEdges(t *testing.T) {
	r := mustNew[int](t, 8, BusySpin{})
	if r.Claim(0).Len() != 0 || r.Claim(-3).Len() != 0 || r.Peek(0).Len() != 0 || r.Peek(-1).Len() != 0 {
		t.Fatal("empty claims or peeks returned slots")
	}
	if r.Poll(nil) != 0 || r.TryPushBatch(nil) != 0 {
		t.Fatal("empty batches moved slots")
	}
	if n, err := r.PollWait(nil); n != 0 || err != nil {
		t.Fatalf("PollWait(nil) = %d, %v", n, err)
	}
	if n, err := r.PushBatch(nil); n != 0 || err != nil {
		t.Fatalf("PushBatch(nil) = %d, %v", n, err)
	}
	// Over-long batch: only the capacity fits.
	src := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if n := r.TryPushBatch(src); n != 8 {
		t.Fatalf("TryPushBatch(10) into 8 slots = %d", n)
	}
	if v := r.Peek(100); v.Len() != 8 || *v.At(7) != 7 {
		t.Fatalf("Peek(100) on a full ring: len %d", v.Len())
	}
	r.Release(0)
	dst := make([]int, 5)
	if n := r.Poll(dst); n != 5 || dst[4] != 4 {
		t.Fatalf("Poll(5) = %d %v", n, dst)
	}
	// Tail is at 8 (index 0), head at 5: 5 free.
	if c := r.Claim(100); c.Len() != 5 {
		t.Fatalf("Claim(100) len %d, want 5", c.Len())
	}
	r.Publish(0)
	if r.Len() != 3 {
		t.Fatalf("Publish(0) changed Len to %d", r.Len())
	}
	// Push 3 to reach tail 11 (index 3); drain to head 11.
	if n := r.TryPushBatch([]int{8, 9, 10}); n != 3 {
		t.Fatal(n)
	}
	big := make([]int, 16)
	if n := r.Poll(big); n != 6 || big[0] != 5 || big[5] != 10 {
		t.Fatalf("Poll = %d %v", n, big[:n])
	}
	// The free run from index 3 wraps at 8: Claim and Peek span the wrap.
	c := r.Claim(100)
	if c.Len() != 8 {
		t.Fatalf("Claim across the wrap: len %d, want 8", c.Len())
	}
	for i := range c.Len() {
		*c.At(i) = 100 + i
	}
	if &r.buf[3].v != c.At(0) || &r.buf[7].v != c.At(4) || &r.buf[0].v != c.At(5) || &r.buf[2].v != c.At(7) {
		t.Fatal("Claim's slots are not the ring's, in ring order from the tail")
	}
	if r.Len() != 0 || r.Peek(1).Len() != 0 {
		t.Fatal("claimed slots visible before Publish")
	}
	r.Release(0)
	r.Publish(7)
	if r.Len() != 7 {
		t.Fatalf("Len %d after publishing 7", r.Len())
	}
	v := r.Peek(8)
	if v.Len() != 7 || *v.At(0) != 100 || *v.At(4) != 104 || *v.At(5) != 105 || *v.At(6) != 106 {
		t.Fatalf("Peek across the wrap: len %d", v.Len())
	}
	mustPanic(t, "At(Len)", func() { v.At(7) })
	mustPanic(t, "At(-1)", func() { v.At(-1) })
	mustPanic(t, "zero Batch At(0)", func() { Batch[int]{}.At(0) })
	r.Release(2)
	if n := r.Poll(big); n != 5 || big[0] != 102 || big[2] != 104 || big[3] != 105 || big[4] != 106 {
		t.Fatalf("Poll across the wrap = %v", big[:n])
	}
}

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	fn()
}

func TestClaimReleaseMisuse(t *testing.T) {
	r := mustNew[int](t, 4, nil)
	mustPanic(t, "Publish without Claim", func() { r.Publish(1) })
	mustPanic(t, "Release without Peek", func() { r.Release(1) })
	c := r.Claim(2)
	mustPanic(t, "Publish beyond the claim", func() { r.Publish(c.Len() + 1) })
	mustPanic(t, "Publish(-1)", func() { r.Publish(-1) })
	r.Claim(2)
	r.Publish(2)
	mustPanic(t, "second Publish of one claim", func() { r.Publish(1) })
	v := r.Peek(4)
	if v.Len() != 2 {
		t.Fatalf("Peek len %d", v.Len())
	}
	mustPanic(t, "Release beyond the view", func() { r.Release(3) })
	r.Peek(4)
	r.Release(1)
	mustPanic(t, "second Release of one view", func() { r.Release(1) })
}

func TestClose(t *testing.T) {
	r := mustNew[int](t, 4, Park{Timeout: ParkTimeoutMax})
	if n, err := r.PushBatch([]int{1, 2, 3}); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	r.Close()
	r.Close() // idempotent
	if !r.Closed() || !r.Stats().Closed {
		t.Fatal("Closed() false after Close")
	}
	if r.TryPush(4) || r.TryPushBatch([]int{4}) != 0 || r.Claim(1).Len() != 0 {
		t.Fatal("producer operation succeeded after Close")
	}
	if err := r.Push(4); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close = %v", err)
	}
	if n, err := r.PushBatch([]int{4}); n != 0 || !errors.Is(err, ErrClosed) {
		t.Fatalf("PushBatch after Close = %d, %v", n, err)
	}
	// The consumer drains what was published before Close.
	if v, err := r.Pop(); v != 1 || err != nil {
		t.Fatalf("Pop = %d, %v", v, err)
	}
	dst := make([]int, 8)
	if n, err := r.PollWait(dst); n != 2 || err != nil || dst[1] != 3 {
		t.Fatalf("PollWait = %d, %v, %v", n, err, dst[:n])
	}
	if _, err := r.Pop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Pop on a drained closed ring = %v", err)
	}
	if _, err := r.PollWait(dst); !errors.Is(err, ErrClosed) {
		t.Fatalf("PollWait on a drained closed ring = %v", err)
	}
}

// TestCloseWakesParked closes rings under a consumer blocked on empty and a
// producer blocked on full, with sleeps far longer than the test runs.
func TestCloseWakesParked(t *testing.T) {
	wait := Park{Timeout: ParkTimeoutMax}
	t.Run("consumer", func(t *testing.T) {
		r := mustNew[int](t, 2, wait)
		done := make(chan error)
		go func() {
			_, err := r.Pop()
			done <- err
		}()
		for r.consPark.sleeping.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		r.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("Pop = %v, want ErrClosed", err)
		}
	})
	t.Run("producer", func(t *testing.T) {
		r := mustNew[int](t, 2, wait)
		done := make(chan error)
		go func() {
			_, err := r.PushBatch([]int{1, 2, 3})
			done <- err
		}()
		for r.prodPark.sleeping.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		if s := r.Stats(); s.Stalls != 1 || s.Len != 2 {
			t.Fatalf("Stats while the producer is blocked = %+v", s)
		}
		r.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("PushBatch = %v, want ErrClosed", err)
		}
	})
}

// TestParkWakes checks that a publish wakes a parked consumer and a release
// wakes a parked producer: with a one-second park bound, no park may end by
// its timeout.
func TestParkWakes(t *testing.T) {
	r := mustNew[int](t, 1, Park{Timeout: ParkTimeoutMax})
	const rounds = 200
	done := make(chan error, 1)
	go func() {
		for i := 0; i < rounds; i++ {
			v, err := r.Pop()
			if err != nil || v != i {
				done <- fmt.Errorf("Pop = %d, %v; want %d", v, err, i)
				return
			}
		}
		done <- nil
	}()
	for i := 0; i < rounds; i++ {
		if err := r.Push(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r.consPark.timeouts != 0 || r.prodPark.timeouts != 0 {
		t.Fatalf("parks ended by timeout (lost wake-ups): consumer %d, producer %d", r.consPark.timeouts, r.prodPark.timeouts)
	}
}

func TestParkTimeoutBounds(t *testing.T) {
	cases := map[time.Duration]time.Duration{
		0:                  ParkTimeoutDefault,
		-time.Hour:         ParkTimeoutMin,
		time.Nanosecond:    ParkTimeoutMin,
		time.Millisecond:   time.Millisecond,
		time.Hour:          ParkTimeoutMax,
		ParkTimeoutMax + 1: ParkTimeoutMax,
	}
	for in, want := range cases {
		if got := parkTimeout(in); got != want {
			t.Errorf("parkTimeout(%v) = %v, want %v", in, got, want)
		}
	}
	var p Parker
	p.init(func() bool { return false })
	p.Park(time.Nanosecond) // nobody wakes it: it times out
	if p.timeouts != 1 || p.sleeping.Load() != 0 {
		t.Fatalf("after a timed-out park: timeouts %d, sleeping %d", p.timeouts, p.sleeping.Load())
	}
	p.wake()
	p.Park(time.Hour) // a token is waiting: returns without a timeout
	if p.timeouts != 1 || p.sleeping.Load() != 0 {
		t.Fatalf("after a woken park: timeouts %d, sleeping %d", p.timeouts, p.sleeping.Load())
	}
	var ready Parker
	ready.init(func() bool { return true })
	ready.Park(ParkTimeoutMax) // returns at once: the ring is ready
	if ready.timeouts != 0 {
		t.Fatal("a ready park timed out")
	}
}

type checksum struct {
	count uint64
	sum   uint64
}

func (c *checksum) add(v Tick) {
	c.count++
	c.sum = c.sum*31 + v.ExchangeNs ^ uint64(v.Bid)
}

// stress moves total ticks through a ring, the producer and consumer each
// cycling through every operation, and compares order-sensitive checksums.
func stress(t *testing.T, wait WaitStrategy, slots int, total uint64) {
	r := mustNew[Tick](t, slots, wait)
	var want, got checksum
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		batch := make([]Tick, 37)
		seq := uint64(0)
		for op := 0; seq < total; op++ {
			switch op % 4 {
			case 0:
				if err := r.Push(tick(seq)); err != nil {
					t.Error(err)
					return
				}
				want.add(tick(seq))
				seq++
			case 1:
				n := min(uint64(len(batch)), total-seq)
				for i := range batch[:n] {
					batch[i] = tick(seq + uint64(i))
					want.add(batch[i])
				}
				if _, err := r.PushBatch(batch[:n]); err != nil {
					t.Error(err)
					return
				}
				seq += n
			case 2:
				c := r.Claim(int(min(64, total-seq)))
				for i := range c.Len() {
					*c.At(i) = tick(seq + uint64(i))
					want.add(*c.At(i))
				}
				r.Publish(c.Len())
				seq += uint64(c.Len())
			case 3:
				if r.TryPush(tick(seq)) {
					want.add(tick(seq))
					seq++
				}
			}
		}
		r.Close()
	}()
	dst := make([]Tick, 29)
	next := uint64(0)
	expect := func(v Tick) {
		if v.ExchangeNs != next {
			t.Fatalf("got tick %d, want %d", v.ExchangeNs, next)
		}
		next++
		got.add(v)
	}
loop:
	for op := 0; ; op++ {
		switch op % 4 {
		case 0:
			v, err := r.Pop()
			if errors.Is(err, ErrClosed) {
				break loop
			}
			expect(v)
		case 1:
			n, err := r.PollWait(dst)
			if errors.Is(err, ErrClosed) {
				break loop
			}
			for _, v := range dst[:n] {
				expect(v)
			}
		case 2:
			v := r.Peek(48)
			for i := range v.Len() {
				expect(*v.At(i))
			}
			r.Release(v.Len())
		case 3:
			if v, ok := r.TryPop(); ok {
				expect(v)
			}
		}
	}
	wg.Wait()
	if got != want || got.count != total {
		t.Fatalf("consumer checksum %+v, producer %+v, want %d ticks", got, want, total)
	}
	s := r.Stats()
	if s.Published != total || s.Consumed != total || s.Len != 0 {
		t.Fatalf("Stats = %+v", s)
	}
	t.Logf("%d ticks, %d producer stalls", total, s.Stalls)
}

// stressTotal is the ticks each stress run moves: millions in all, sized
// so the package stays well under 10 s with -race on two shared cores.
func stressTotal() uint64 {
	if raceEnabled || testing.Short() {
		return 1 << 20
	}
	return 1 << 22
}

func TestStress(t *testing.T) {
	total := stressTotal()
	strategies := []struct {
		name  string
		wait  WaitStrategy
		total uint64
	}{
		// A spinning side competes for the CPU with the side it waits
		// for whenever the two cores are shared, so it moves fewer ticks.
		{"BusySpin", BusySpin{}, total / 4},
		{"Yield", Yield{}, total},
		{"ParkAtOnce", Park{}, total},
		{"ParkLongTimeout", Park{Timeout: ParkTimeoutMax}, total},
		{"Default", nil, total},
	}
	for _, s := range strategies {
		t.Run(s.name, func(t *testing.T) {
			stress(t, s.wait, 256, s.total)
		})
	}
	t.Run("TinyRing", func(t *testing.T) {
		stress(t, Yield{}, 2, total/16)
	})
}

func TestZeroAllocs(t *testing.T) {
	r := mustNew[Tick](t, 64, nil)
	batch := make([]Tick, 16)
	v := tick(1)
	cases := []struct {
		name string
		fn   func()
	}{
		{"TryPush/TryPop", func() {
			r.TryPush(v)
			r.TryPop()
		}},
		{"Push/Pop", func() {
			_ = r.Push(v)
			_, _ = r.Pop()
		}},
		{"TryPushBatch/Poll", func() {
			r.TryPushBatch(batch)
			r.Poll(batch)
		}},
		{"PushBatch/PollWait", func() {
			_, _ = r.PushBatch(batch)
			_, _ = r.PollWait(batch)
		}},
		{"Claim/Peek", func() {
			c := r.Claim(16)
			for i := range c.Len() {
				c.At(i).Bid = int64(i)
			}
			r.Publish(c.Len())
			p := r.Peek(16)
			for i := range p.Len() {
				v.Ask += p.At(i).Bid
			}
			r.Release(p.Len())
		}},
		{"Stats/Len", func() {
			_ = r.Stats()
			_ = r.Len()
		}},
	}
	for _, c := range cases {
		if a := testing.AllocsPerRun(1000, c.fn); a != 0 {
			t.Errorf("%s: %v allocs per run", c.name, a)
		}
	}
	// Parking, including the timer, is allocation-free too.
	var p Parker
	p.init(func() bool { return false })
	if a := testing.AllocsPerRun(20, func() { p.Park(ParkTimeoutMin) }); a != 0 {
		t.Errorf("Park: %v allocs per run", a)
	}
}
