package xsk

import (
	"math/bits"
	"sync/atomic"
)

// ringSet is the portable heart of a Socket: the four rings, the UMEM and
// the bookkeeping of which frames the caller holds. It performs no
// syscalls, so it runs against kernel-shared memory and against in-memory
// rings in tests alike.
//
// Every frame is in exactly one place: in the kernel (fill, RX, TX or
// completion ring), held by the caller (received and not yet recycled, or
// allocated for TX and not yet transmitted), or on the free stack.
type ringSet struct {
	umem       []byte
	frameShift uint   // log2(frame size)
	frameCount uint64 // number of frames in umem

	fill      prodRing
	fillAddrs []uint64
	comp      consRing
	compAddrs []uint64
	rx        consRing
	rxDescs   []Desc
	tx        prodRing // size 0 when the socket has no TX ring
	txDescs   []Desc

	held []uint64 // bitmap by frame index: frames owned by the caller
	free []uint64 // stack of frame base addresses owned by nobody

	invalidDescs atomic.Uint64 // descriptors from the kernel that failed validation
}

// initFrames puts every frame on the free stack. umem, frameShift and
// frameCount must be set.
func (s *ringSet) initFrames() {
	s.held = make([]uint64, (s.frameCount+63)/64)
	s.free = make([]uint64, 0, s.frameCount)
	for i := s.frameCount; i > 0; i-- {
		s.free = append(s.free, (i-1)<<s.frameShift)
	}
}

func (s *ringSet) frameSize() uint64 { return 1 << s.frameShift }

// frameIndex returns the index of the frame holding addr and whether addr
// lies in the UMEM.
func (s *ringSet) frameIndex(addr uint64) (uint64, bool) {
	i := addr >> s.frameShift
	return i, i < s.frameCount
}

func (s *ringSet) isHeld(i uint64) bool { return s.held[i/64]&(1<<(i%64)) != 0 }
func (s *ringSet) setHeld(i uint64)     { s.held[i/64] |= 1 << (i % 64) }
func (s *ringSet) clearHeld(i uint64)   { s.held[i/64] &^= 1 << (i % 64) }

// heldCount returns the number of frames the caller holds.
func (s *ringSet) heldCount() int {
	n := 0
	for _, w := range s.held {
		n += bits.OnesCount64(w)
	}
	return n
}

// refill moves frames from the free stack to the fill ring, as many as both
// allow while keeping keep frames on the stack, and returns the number
// moved.
func (s *ringSet) refill(keep int) int {
	want := uint32(min(len(s.free)-keep, int(s.fill.size)))
	if len(s.free) <= keep || want == 0 {
		return 0
	}
	idx, got := s.fill.reserve(want)
	for i := uint32(0); i < got; i++ {
		last := len(s.free) - 1
		s.fillAddrs[(idx+i)&s.fill.mask] = s.free[last]
		s.free = s.free[:last]
	}
	if got > 0 {
		s.fill.submit()
	}
	return int(got)
}

// txReserve is the number of free frames kept back from the fill ring for
// Alloc: the TX ring's size, or none for a receive-only socket.
func (s *ringSet) txReserve() int { return int(s.tx.size) }

// receive tops the fill ring up from the free stack (keeping txReserve
// frames back), then moves up to len(descs) descriptors from the RX ring
// into descs and returns the count. The frames become held by the caller. Descriptors
// that point outside the UMEM, overrun their frame or name a frame the
// caller already holds are dropped and counted in invalidDescs.
func (s *ringSet) receive(descs []Desc) int {
	if len(s.free) > s.txReserve() {
		// Frames the caller held past the fill ring's capacity and gave
		// back to the stack go to the kernel again as room frees up.
		s.refill(s.txReserve())
	}
	idx, got := s.rx.peek(uint32(min(len(descs), RingSizeMax)))
	if got == 0 {
		return 0
	}
	n := 0
	fsize := s.frameSize()
	for i := uint32(0); i < got; i++ {
		d := s.rxDescs[(idx+i)&s.rx.mask]
		fi, ok := s.frameIndex(d.Addr)
		if !ok || d.Addr&(fsize-1)+uint64(d.Len) > fsize || s.isHeld(fi) {
			s.invalidDescs.Add(1)
			continue
		}
		s.setHeld(fi)
		descs[n] = d
		n++
	}
	s.rx.release()
	return n
}

// frame returns the bytes of a received or allocated descriptor, aliasing
// the UMEM; its capacity ends at the packet's end.
func (s *ringSet) frame(d Desc) []byte {
	end := d.Addr + uint64(d.Len)
	return s.umem[d.Addr:end:end]
}

// release marks the frame holding addr as no longer held and returns its
// base address. Handing back a frame the caller does not hold is a broken
// invariant (a double recycle would let two packets share one buffer).
func (s *ringSet) release(addr uint64) uint64 {
	fi, ok := s.frameIndex(addr)
	if !ok || !s.isHeld(fi) {
		panic("xsk: frame handed back that the caller does not hold")
	}
	s.clearHeld(fi)
	return fi << s.frameShift
}

// recycle hands the frames of descs back: to the fill ring in one batch,
// or to the free stack when the fill ring is full.
func (s *ringSet) recycle(descs []Desc) {
	if len(descs) == 0 {
		return
	}
	idx, got := s.fill.reserve(uint32(min(len(descs), RingSizeMax)))
	for i := range descs {
		base := s.release(descs[i].Addr)
		if uint32(i) < got {
			s.fillAddrs[(idx+uint32(i))&s.fill.mask] = base
		} else {
			s.pushFree(base)
		}
	}
	if got > 0 {
		s.fill.submit()
	}
}

func (s *ringSet) pushFree(base uint64) {
	if len(s.free) == cap(s.free) {
		panic("xsk: free stack overflow")
	}
	s.free = append(s.free, base)
}

// alloc takes a frame off the free stack for the caller to fill and
// transmit. It returns a descriptor of the whole frame and false when no
// frame is free.
func (s *ringSet) alloc() (Desc, bool) {
	if len(s.free) == 0 {
		return Desc{}, false
	}
	last := len(s.free) - 1
	base := s.free[last]
	s.free = s.free[:last]
	fi, _ := s.frameIndex(base)
	s.setHeld(fi)
	return Desc{Addr: base, Len: uint32(s.frameSize())}, true
}

// transmit queues descs on the TX ring in one batch and returns how many
// were queued (the rest stay held by the caller). Each descriptor must name
// a held frame and stay inside it.
func (s *ringSet) transmit(descs []Desc) int {
	if len(descs) == 0 || s.tx.size == 0 {
		return 0
	}
	fsize := s.frameSize()
	for _, d := range descs {
		fi, ok := s.frameIndex(d.Addr)
		if !ok || !s.isHeld(fi) || d.Addr&(fsize-1)+uint64(d.Len) > fsize {
			panic("xsk: transmit of a frame the caller does not hold, or past its end")
		}
	}
	idx, got := s.tx.reserve(uint32(min(len(descs), RingSizeMax)))
	for i := uint32(0); i < got; i++ {
		d := descs[i]
		s.release(d.Addr)
		s.txDescs[(idx+i)&s.tx.mask] = d
	}
	if got > 0 {
		s.tx.submit()
	}
	return int(got)
}

// complete moves every frame the kernel finished transmitting from the
// completion ring to the free stack and returns the count.
func (s *ringSet) complete() int {
	idx, got := s.comp.peek(s.comp.size)
	if got == 0 {
		return 0
	}
	n := 0
	for i := uint32(0); i < got; i++ {
		fi, ok := s.frameIndex(s.compAddrs[(idx+i)&s.comp.mask])
		if !ok || s.isHeld(fi) || len(s.free) == cap(s.free) {
			s.invalidDescs.Add(1)
			continue
		}
		s.free = append(s.free, fi<<s.frameShift)
		n++
	}
	s.comp.release()
	return n
}
