package xsk

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// fakeKernel plays the kernel's side of a ringSet held in ordinary memory.
type fakeKernel struct {
	t     testing.TB
	rs    *ringSet
	sh    [4]*sharedIdx // fill, completion, RX, TX
	fill  consRing      // the kernel consumes the fill ring...
	comp  prodRing      // ...produces completions...
	rx    prodRing      // ...produces RX descriptors...
	tx    consRing      // ...and consumes the TX ring.
	seq   uint64        // next packet sequence number
	sent  []Desc        // descriptors taken off the TX ring
	start uint32
}

func newFakeKernel(t testing.TB, frameCount, frameSize, fillSize, compSize, rxSize, txSize int, start uint32) *fakeKernel {
	k := &fakeKernel{t: t, rs: &ringSet{}, start: start}
	for i := range k.sh {
		k.sh[i] = &sharedIdx{prod: start, cons: start}
	}
	rs := k.rs
	rs.umem = make([]byte, frameCount*frameSize)
	for frameSize>>rs.frameShift > 1 {
		rs.frameShift++
	}
	rs.frameCount = uint64(frameCount)
	ring := func(i, size int) (*uint32, *uint32, *uint32, uint32) {
		return &k.sh[i].prod, &k.sh[i].cons, &k.sh[i].flags, uint32(size)
	}
	rs.fill = newProdRing(ring(0, fillSize))
	rs.fillAddrs = make([]uint64, fillSize)
	rs.comp = newConsRing(ring(1, compSize))
	rs.compAddrs = make([]uint64, compSize)
	rs.rx = newConsRing(ring(2, rxSize))
	rs.rxDescs = make([]Desc, rxSize)
	k.fill = newConsRing(ring(0, fillSize))
	k.comp = newProdRing(ring(1, compSize))
	k.rx = newProdRing(ring(2, rxSize))
	if txSize > 0 {
		rs.tx = newProdRing(ring(3, txSize))
		rs.txDescs = make([]Desc, txSize)
		k.tx = newConsRing(ring(3, txSize))
	}
	rs.initFrames()
	rs.refill(rs.txReserve())
	return k
}

// deliver moves up to n packets into fill-ring frames and onto the RX ring,
// each carrying its sequence number at FrameHeadroomBytes into the frame,
// and returns how many it delivered.
func (k *fakeKernel) deliver(n int) int {
	free := k.rx.free(uint32(n))
	idx, got := k.fill.peek(min(uint32(n), free))
	ridx, rgot := k.rx.reserve(got)
	if rgot != got {
		k.t.Fatalf("RX ring granted %d of %d", rgot, got)
	}
	for i := uint32(0); i < got; i++ {
		base := k.rs.fillAddrs[(idx+i)&k.fill.mask]
		if base&(k.rs.frameSize()-1) != 0 || base >= uint64(len(k.rs.umem)) {
			k.t.Fatalf("fill ring holds bad address %#x", base)
		}
		addr := base + FrameHeadroomBytes
		length := 8 + uint32(k.seq%64)
		binary.LittleEndian.PutUint64(k.rs.umem[addr:], k.seq)
		k.rs.rxDescs[(ridx+i)&k.rx.mask] = Desc{Addr: addr, Len: length}
		k.seq++
	}
	k.fill.release()
	k.rx.submit()
	return int(got)
}

// transmit takes everything off the TX ring and posts the completions.
func (k *fakeKernel) transmit() int {
	idx, got := k.tx.peek(k.tx.size)
	cidx, cgot := k.comp.reserve(got)
	if cgot != got {
		k.t.Fatalf("completion ring granted %d of %d", cgot, got)
	}
	for i := uint32(0); i < got; i++ {
		d := k.rs.txDescs[(idx+i)&k.tx.mask]
		k.sent = append(k.sent, d)
		k.rs.compAddrs[(cidx+i)&k.comp.mask] = d.Addr
	}
	k.tx.release()
	k.comp.submit()
	return int(got)
}

// checkConservation verifies every frame is in exactly one place.
func (k *fakeKernel) checkConservation() {
	k.t.Helper()
	inRings := 0
	for _, sh := range k.sh {
		inRings += int(sh.prod - sh.cons)
	}
	// Reserved but unsubmitted entries do not exist between calls.
	total := inRings + k.rs.heldCount() + len(k.rs.free)
	if total != int(k.rs.frameCount) {
		k.t.Fatalf("frames: %d in rings + %d held + %d free = %d, want %d",
			inRings, k.rs.heldCount(), len(k.rs.free), total, k.rs.frameCount)
	}
}

func TestRingSetInitialFill(t *testing.T) {
	for _, tc := range []struct{ frames, fill, wantFree int }{
		{64, 64, 0}, {64, 128, 0}, {128, 32, 96},
	} {
		k := newFakeKernel(t, tc.frames, 2048, tc.fill, 16, 64, 0, 0)
		if got := int(k.sh[0].prod - k.sh[0].cons); got != min(tc.frames, tc.fill) {
			t.Errorf("%+v: fill ring holds %d", tc, got)
		}
		if len(k.rs.free) != tc.wantFree {
			t.Errorf("%+v: %d free, want %d", tc, len(k.rs.free), tc.wantFree)
		}
		k.checkConservation()
	}
}

// TestRingSetReceiveRecycle runs many receive/recycle rounds with random
// batch sizes across the index wrap and checks order, contents, bounds and
// frame conservation.
func TestRingSetReceiveRecycle(t *testing.T) {
	for _, start := range []uint32{0, ^uint32(0) - 1000} {
		k := newFakeKernel(t, 256, 2048, 256, 16, 128, 0, start)
		rng := rand.New(rand.NewPCG(1, uint64(start)))
		descs := make([]Desc, 200)
		var want uint64
		for round := 0; round < 5000; round++ {
			k.deliver(rng.IntN(100))
			n := k.rs.receive(descs[:rng.IntN(len(descs))+1])
			for _, d := range descs[:n] {
				b := k.rs.frame(d)
				if len(b) != int(d.Len) || cap(b) != int(d.Len) {
					t.Fatalf("frame len %d cap %d, want %d", len(b), cap(b), d.Len)
				}
				if got := binary.LittleEndian.Uint64(b); got != want {
					t.Fatalf("round %d: packet %d, want %d", round, got, want)
				}
				want++
			}
			k.checkConservation()
			k.rs.recycle(descs[:n])
			k.checkConservation()
			if k.rs.heldCount() != 0 {
				t.Fatalf("%d frames still held after recycle", k.rs.heldCount())
			}
		}
		if want < 100_000 {
			t.Fatalf("only %d packets went round", want)
		}
	}
}

// TestRingSetHoldAcrossBatches keeps frames while receiving more: the held
// frames must not come back from the kernel, and the fill ring starves
// exactly when every frame is held.
func TestRingSetHoldAcrossBatches(t *testing.T) {
	k := newFakeKernel(t, 64, 4096, 64, 16, 64, 0, 0)
	descs := make([]Desc, 64)
	if got := k.deliver(40); got != 40 {
		t.Fatalf("delivered %d", got)
	}
	n1 := k.rs.receive(descs[:40])
	if got := k.deliver(64); got != 24 {
		t.Fatalf("delivered %d with 24 frames left in the fill ring", got)
	}
	n2 := k.rs.receive(descs[n1:])
	if n1+n2 != 64 || k.rs.heldCount() != 64 {
		t.Fatalf("received %d+%d, held %d", n1, n2, k.rs.heldCount())
	}
	if got := k.deliver(1); got != 0 {
		t.Fatalf("kernel delivered %d with an empty fill ring", got)
	}
	k.rs.recycle(descs[:n1])
	if got := k.deliver(64); got != n1 {
		t.Fatalf("delivered %d after recycling %d", got, n1)
	}
	k.checkConservation()
}

func TestRingSetInvalidDescs(t *testing.T) {
	k := newFakeKernel(t, 16, 2048, 16, 16, 16, 0, 0)
	k.deliver(2)
	descs := make([]Desc, 16)
	if n := k.rs.receive(descs); n != 2 {
		t.Fatalf("received %d", n)
	}
	// The kernel now posts garbage: out of the UMEM, overrunning a frame,
	// and a frame the caller already holds.
	bad := []Desc{
		{Addr: 16 * 2048, Len: 10},
		{Addr: ^uint64(0), Len: 1},
		{Addr: 3*2048 + 2000, Len: 100},
		{Addr: 5 * 2048, Len: 4097},
		descs[0],
	}
	good := Desc{Addr: 7*2048 + 256, Len: 60}
	idx, _ := k.rx.reserve(uint32(len(bad) + 1))
	for i, d := range append(bad, good) {
		k.rs.rxDescs[(idx+uint32(i))&k.rx.mask] = d
	}
	k.rx.submit()
	out := make([]Desc, 16)
	if n := k.rs.receive(out); n != 1 || out[0] != good {
		t.Fatalf("received %d (%+v), want only %+v", n, out[:n], good)
	}
	if got := k.rs.invalidDescs.Load(); got != uint64(len(bad)) {
		t.Fatalf("invalidDescs %d, want %d", got, len(bad))
	}
}

func TestRingSetRecycleUnheldPanics(t *testing.T) {
	k := newFakeKernel(t, 16, 2048, 16, 16, 16, 0, 0)
	k.deliver(1)
	descs := make([]Desc, 1)
	k.rs.receive(descs)
	k.rs.recycle(descs)
	for _, d := range []Desc{descs[0], {Addr: 1 << 40}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("recycle of unheld %+v did not panic", d)
				}
			}()
			k.rs.recycle([]Desc{d})
		}()
	}
}

func TestRingSetTransmit(t *testing.T) {
	// 64 frames: 32 go to the fill ring, 32 stay free for TX.
	k := newFakeKernel(t, 64, 2048, 32, 16, 32, 16, ^uint32(0)-3)
	if len(k.rs.free) != 32 {
		t.Fatalf("%d free frames", len(k.rs.free))
	}
	var batch []Desc
	for i := 0; i < 20; i++ {
		d, ok := k.rs.alloc()
		if !ok {
			t.Fatalf("alloc %d failed", i)
		}
		if d.Len != 2048 || d.Addr%2048 != 0 {
			t.Fatalf("alloc returned %+v", d)
		}
		b := k.rs.frame(d)
		binary.LittleEndian.PutUint64(b, uint64(i))
		d.Len = 8
		batch = append(batch, d)
	}
	if n := k.rs.transmit(batch); n != 16 {
		t.Fatalf("transmit queued %d into a 16-entry ring", n)
	}
	if k.rs.heldCount() != 4 {
		t.Fatalf("held %d after transmit", k.rs.heldCount())
	}
	k.checkConservation()
	if n := k.transmit(); n != 16 {
		t.Fatalf("kernel sent %d", n)
	}
	if n := k.rs.complete(); n != 16 {
		t.Fatalf("completed %d", n)
	}
	if n := k.rs.transmit(batch[16:]); n != 4 {
		t.Fatalf("second transmit queued %d", n)
	}
	k.transmit()
	k.rs.complete()
	for i, d := range k.sent {
		if got := binary.LittleEndian.Uint64(k.rs.umem[d.Addr:]); got != uint64(i) || d.Len != 8 {
			t.Fatalf("sent %d: seq %d len %d", i, got, d.Len)
		}
	}
	if len(k.rs.free) != 32 || k.rs.heldCount() != 0 {
		t.Fatalf("free %d held %d after completions", len(k.rs.free), k.rs.heldCount())
	}
	k.checkConservation()
	// Transmitting a frame not held panics.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("transmit of an unheld frame did not panic")
			}
		}()
		k.rs.transmit(batch[:1])
	}()
}

func TestRingSetAllocExhausted(t *testing.T) {
	k := newFakeKernel(t, 32, 2048, 32, 16, 32, 16, 0)
	for i := 0; i < 16; i++ {
		if _, ok := k.rs.alloc(); !ok {
			t.Fatalf("alloc %d of the 16 reserved frames failed", i)
		}
	}
	if _, ok := k.rs.alloc(); ok {
		t.Fatal("alloc succeeded with every other frame in the fill ring")
	}
	k.checkConservation()
}

func TestRingSetReceiveAllocs(t *testing.T) {
	k := newFakeKernel(t, 256, 2048, 256, 16, 256, 0, 0)
	descs := make([]Desc, 64)
	allocs := testing.AllocsPerRun(100, func() {
		k.deliver(64)
		n := k.rs.receive(descs)
		k.rs.recycle(descs[:n])
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocs per receive/recycle round", allocs)
	}
}

func BenchmarkRingSetReceiveRecycle(b *testing.B) {
	const batch = 64
	k := newFakeKernel(b, 4096, 2048, 4096, 16, 4096, 0, 0)
	descs := make([]Desc, batch)
	b.ReportAllocs()
	var pkts int
	for b.Loop() {
		k.deliver(batch)
		n := k.rs.receive(descs)
		var sum uint32
		for _, d := range descs[:n] {
			sum += uint32(k.rs.frame(d)[0])
		}
		k.rs.recycle(descs[:n])
		pkts += n
		_ = sum
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
}

// TestRingSetTopUp holds a full fill ring's worth of frames: the spare
// frames on the free stack restock the fill ring at the next receive, and
// recycled frames that do not fit go to the free stack.
func TestRingSetTopUp(t *testing.T) {
	k := newFakeKernel(t, 64, 2048, 32, 16, 32, 0, 0)
	if len(k.rs.free) != 32 {
		t.Fatalf("%d free after open", len(k.rs.free))
	}
	descs := make([]Desc, 32)
	k.deliver(32)
	if n := k.rs.receive(descs); n != 32 {
		t.Fatalf("received %d", n)
	}
	// receive restocked the fill ring before reading RX.
	if got := k.sh[0].prod - k.sh[0].cons; got != 32 || len(k.rs.free) != 0 {
		t.Fatalf("fill ring %d, free %d after top-up", got, len(k.rs.free))
	}
	if got := k.deliver(32); got != 32 {
		t.Fatalf("delivered %d while holding a batch", got)
	}
	k.rs.recycle(descs)
	if len(k.rs.free) != 0 {
		t.Fatalf("free %d after recycle into a drained fill ring", len(k.rs.free))
	}
	k.checkConservation()
	more := make([]Desc, 32)
	if n := k.rs.receive(more); n != 32 {
		t.Fatalf("received %d", n)
	}
	k.checkConservation()
	// With a TX ring the top-up keeps TxRingSize frames back.
	k = newFakeKernel(t, 64, 2048, 64, 16, 64, 16, 0)
	if got := k.sh[0].prod - k.sh[0].cons; got != 48 || len(k.rs.free) != 16 {
		t.Fatalf("fill ring %d, free %d with a 16-entry TX ring", got, len(k.rs.free))
	}
}
