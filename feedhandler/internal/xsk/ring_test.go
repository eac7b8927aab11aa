package xsk

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// sharedIdx stands in for the kernel-shared producer/consumer/flags words.
type sharedIdx struct{ prod, cons, flags uint32 }

// pair returns both ends of one in-memory ring whose indexes start at start.
func pair(start, size uint32) (*sharedIdx, prodRing, consRing) {
	sh := &sharedIdx{prod: start, cons: start}
	return sh, newProdRing(&sh.prod, &sh.cons, &sh.flags, size), newConsRing(&sh.prod, &sh.cons, &sh.flags, size)
}

func TestRingSizeMustBePow2(t *testing.T) {
	for _, size := range []uint32{0, 3, 12, 1000} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("size %d: no panic", size)
				}
			}()
			var sh sharedIdx
			newProdRing(&sh.prod, &sh.cons, &sh.flags, size)
		}()
	}
}

func TestRingFullAndEmpty(t *testing.T) {
	const size = 16
	sh, p, c := pair(0, size)
	if idx, got := c.peek(4); got != 0 || idx != 0 {
		t.Fatalf("peek on empty ring: idx %d got %d", idx, got)
	}
	idx, got := p.reserve(size + 5)
	if got != size || idx != 0 {
		t.Fatalf("reserve(%d) on empty ring: idx %d got %d, want 0 %d", size+5, idx, got, size)
	}
	if _, got := p.reserve(1); got != 0 {
		t.Fatalf("reserve on full ring granted %d", got)
	}
	// Nothing is visible before submit.
	if _, got := c.peek(1); got != 0 {
		t.Fatalf("consumer saw %d entries before submit", got)
	}
	p.submit()
	if sh.prod != size {
		t.Fatalf("producer index %d after submit, want %d", sh.prod, size)
	}
	if _, got := c.peek(3); got != 3 {
		t.Fatalf("peek(3) got %d", got)
	}
	// Not released yet: the producer still sees a full ring.
	if _, got := p.reserve(1); got != 0 {
		t.Fatalf("reserve before release granted %d", got)
	}
	c.release()
	if sh.cons != 3 {
		t.Fatalf("consumer index %d after release, want 3", sh.cons)
	}
	if idx, got := p.reserve(10); got != 3 || idx != size {
		t.Fatalf("reserve after release: idx %d got %d, want %d 3", idx, got, size)
	}
	p.submit()
	if _, got := c.peek(100); got != size {
		t.Fatalf("peek(100) got %d, want %d", got, size)
	}
	c.release()
	if _, got := c.peek(1); got != 0 {
		t.Fatalf("drained ring still has %d", got)
	}
}

func TestRingZeroRequests(t *testing.T) {
	_, p, c := pair(7, 32)
	if idx, got := p.reserve(0); got != 0 || idx != 7 {
		t.Fatalf("reserve(0): idx %d got %d", idx, got)
	}
	if idx, got := c.peek(0); got != 0 || idx != 7 {
		t.Fatalf("peek(0): idx %d got %d", idx, got)
	}
}

// TestRingWrapAround drives both ends with random batch sizes across the
// 2^32 wrap of the free-running indexes and checks FIFO order, capacity and
// the published index values.
func TestRingWrapAround(t *testing.T) {
	for _, size := range []uint32{16, 64, 1024} {
		for _, start := range []uint32{0, 1<<31 - 3, ^uint32(0) - 5*size/2, ^uint32(0)} {
			sh, p, c := pair(start, size)
			entries := make([]uint64, size)
			rng := rand.New(rand.NewPCG(uint64(size), uint64(start)))
			var next, want uint64
			const total = 200_000
			for want < total {
				idx, got := p.reserve(rng.Uint32N(size + size/2))
				for i := uint32(0); i < got; i++ {
					entries[(idx+i)&p.mask] = next
					next++
				}
				if inFlight := sh.prod - sh.cons; inFlight > size {
					t.Fatalf("in flight %d > size %d", inFlight, size)
				}
				if rng.IntN(4) != 0 { // sometimes hold entries back
					p.submit()
				}
				if d := p.cachedProd - sh.cons; d > size {
					t.Fatalf("producer ran %d entries ahead of the consumer (size %d)", d, size)
				}
				idx, got = c.peek(rng.Uint32N(size + size/2))
				for i := uint32(0); i < got; i++ {
					if e := entries[(idx+i)&c.mask]; e != want {
						t.Fatalf("size %d start %#x: entry %d, want %d", size, start, e, want)
					}
					want++
				}
				if rng.IntN(3) != 0 {
					c.release()
				}
			}
			p.submit()
			c.release()
			if sh.prod-start != uint32(next) || sh.cons-start != uint32(want) {
				t.Fatalf("indexes advanced by %d and %d, want %d and %d", sh.prod-start, sh.cons-start, next, want)
			}
		}
	}
}

// TestRingConcurrent runs producer and consumer on separate goroutines; under
// -race this checks that the atomic index stores order the entry writes.
func TestRingConcurrent(t *testing.T) {
	const size, total = 64, 20_000
	_, p, c := pair(^uint32(0)-100, size)
	entries := make([]uint64, size)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var next uint64
		for next < total {
			idx, got := p.reserve(min(17, uint32(total-next)))
			for i := uint32(0); i < got; i++ {
				entries[(idx+i)&p.mask] = next
				next++
			}
			p.submit()
		}
	}()
	var want uint64
	for want < total {
		idx, got := c.peek(23)
		for i := uint32(0); i < got; i++ {
			if e := entries[(idx+i)&c.mask]; e != want {
				t.Fatalf("entry %d, want %d", e, want)
			}
			want++
		}
		c.release()
	}
	wg.Wait()
}

func TestNeedWakeup(t *testing.T) {
	sh, p, _ := pair(0, 16)
	if p.needWakeup() {
		t.Fatal("needWakeup with flags 0")
	}
	sh.flags = ringNeedWakeup
	if !p.needWakeup() {
		t.Fatal("needWakeup false with XDP_RING_NEED_WAKEUP set")
	}
	var noFlags prodRing
	if noFlags.needWakeup() {
		t.Fatal("needWakeup true without a flags word")
	}
}

func BenchmarkRingReserveSubmitPeekRelease(b *testing.B) {
	const size, batch = 2048, 64
	_, p, c := pair(0, size)
	entries := make([]uint64, size)
	b.ReportAllocs()
	for b.Loop() {
		idx, got := p.reserve(batch)
		for i := uint32(0); i < got; i++ {
			entries[(idx+i)&p.mask] = uint64(i)
		}
		p.submit()
		idx, got = c.peek(batch)
		var sum uint64
		for i := uint32(0); i < got; i++ {
			sum += entries[(idx+i)&c.mask]
		}
		c.release()
		if sum != batch*(batch-1)/2 {
			b.Fatalf("sum %d", sum)
		}
	}
	b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "entries/s")
}
