package shmring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/ballast-risk/ballast/engine/internal/shm"
)

// Ring geometry bounds and record encoding.
const (
	// RingBytesMin is the smallest data area of one ring.
	RingBytesMin = 1 << 10
	// RingBytesMax is the largest data area of one ring (64 MiB).
	RingBytesMax = 1 << 26
	// RingBytesDefault is the data area Listen uses when Config leaves it 0.
	RingBytesDefault = 1 << 20
	// FrameBytesCap bounds Config.FrameBytesMax.
	FrameBytesCap = 1 << 16
	// recordHeaderBytes is the little-endian u32 length before a record's
	// bytes.
	recordHeaderBytes = 4
	// recordAlignBytes is the alignment of every record (and of head and
	// tail).
	recordAlignBytes = 8
	// wrapMarker in a record's length word means "the rest of the data area
	// up to its end is padding; the next record starts at offset 0".
	wrapMarker = 0xFFFFFFFF
)

// Ring errors.
var (
	// ErrCorrupt reports shared ring state that breaks the layout's
	// invariants: a cursor out of range or misaligned, a record length of
	// 0 or above the maximum, a record crossing the end of the data area or
	// the published tail. The peer is broken or hostile; the ring is
	// poisoned and every later call fails the same way.
	ErrCorrupt = errors.New("shmring: corrupt ring")
	// ErrFrameSize reports a frame to write that is empty or longer than
	// the ring's frame maximum.
	ErrFrameSize = errors.New("shmring: frame size out of range")
)

// recordBytes is the space a record of n payload bytes takes in a ring.
func recordBytes(n int) uint64 {
	return uint64(n+recordHeaderBytes+recordAlignBytes-1) &^ (recordAlignBytes - 1)
}

// ring is one direction of a link: a power-of-two data area of records,
// a tail (bytes published, free-running, written only by the producer) and
// a head (bytes released, free-running, written only by the consumer).
// The producer and the consumer each hold their own ring value over the
// same memory, and use only their half of its methods. A side never trusts
// the cursor the other side writes: it bounds-checks it before use.
type ring struct {
	data          []byte
	mask          uint64
	size          uint64 // len(data)
	frameBytesMax int
	tail          *atomic.Uint64
	head          *atomic.Uint64

	// Wake words (package comment, Waiting): the consumer sleeps on
	// dataSeq after setting dataSleep, the producer on roomSeq after
	// setting roomSleep; the other side bumps the sequence and wakes the
	// sleeper when it sees the flag.
	dataSeq, dataSleep *atomic.Uint32
	roomSeq, roomSleep *atomic.Uint32

	// producer private
	ptail     uint64 // next write position (== published tail)
	headCache uint64 // last head seen

	// consumer private
	chead     uint64 // next read position
	tailCache uint64 // last tail seen
	pending   uint64 // bytes of the record returned by peek, 0 if none
	poisoned  bool
}

// newRing builds a ring over ctl (the control block: cursors and wake
// words at the ctl* offsets) and data. It starts from the cursors' current
// values, which must be equal (an empty ring) and aligned; the wake words
// may hold anything.
func newRing(ctl, data []byte, frameBytesMax int) (*ring, error) {
	n := len(data)
	if n < RingBytesMin || n > RingBytesMax || bits.OnesCount(uint(n)) != 1 {
		return nil, fmt.Errorf("shmring: ring data of %d bytes: not a power of two in [%d, %d]", n, RingBytesMin, RingBytesMax)
	}
	if frameBytesMax < 1 || frameBytesMax > FrameBytesCap || 2*recordBytes(frameBytesMax) > uint64(n) {
		return nil, fmt.Errorf("shmring: frame maximum %d bytes does not fit twice in a %d-byte ring", frameBytesMax, n)
	}
	tail, err := shm.Uint64(ctl, ctlTail)
	if err != nil {
		return nil, err
	}
	head, err := shm.Uint64(ctl, ctlHead)
	if err != nil {
		return nil, err
	}
	r := &ring{data: data, mask: uint64(n - 1), size: uint64(n), frameBytesMax: frameBytesMax, tail: tail, head: head}
	var words [4]*atomic.Uint32
	for i, off := range [...]int{ctlDataSeq, ctlDataSleep, ctlRoomSeq, ctlRoomSleep} {
		if words[i], err = shm.Uint32(ctl, off); err != nil {
			return nil, err
		}
	}
	r.dataSeq, r.dataSleep, r.roomSeq, r.roomSleep = words[0], words[1], words[2], words[3]
	t, h := tail.Load(), head.Load()
	if t != h || t%recordAlignBytes != 0 {
		return nil, fmt.Errorf("%w: new ring with head %d and tail %d", ErrCorrupt, h, t)
	}
	r.ptail, r.headCache, r.chead, r.tailCache = t, t, t, t
	return r, nil
}

// tryWrite appends p as one record. It returns false when the ring lacks
// room (the caller waits and retries).
func (r *ring) tryWrite(p []byte) (bool, error) {
	n := len(p)
	if n < 1 || n > r.frameBytesMax {
		return false, ErrFrameSize
	}
	rec := recordBytes(n)
	off := r.ptail & r.mask
	contig := r.size - off
	need := rec
	if contig < rec {
		need = contig + rec
	}
	if r.ptail+need-r.headCache > r.size {
		h := r.head.Load()
		if h > r.ptail || r.ptail-h > r.size {
			return false, fmt.Errorf("%w: head %d against tail %d", ErrCorrupt, h, r.ptail)
		}
		r.headCache = h
		if r.ptail+need-h > r.size {
			return false, nil
		}
	}
	if contig < rec {
		binary.LittleEndian.PutUint32(r.data[off:], wrapMarker)
		r.ptail += contig
		off = 0
	}
	binary.LittleEndian.PutUint32(r.data[off:], uint32(n))
	copy(r.data[off+recordHeaderBytes:], p)
	r.ptail += rec
	r.tail.Store(r.ptail)
	wake(r.dataSeq, r.dataSleep)
	return true, nil
}

// peek returns the next record's bytes, aliasing the shared data area, or
// nil when the ring is empty. The bytes stay put until release; a hostile
// producer may still scribble on them, so callers copy before parsing.
func (r *ring) peek() ([]byte, error) {
	if r.poisoned {
		return nil, ErrCorrupt
	}
	if r.pending != 0 {
		panic("shmring: peek before release")
	}
	for range 2 { // at most one wrap marker before a record
		if r.chead == r.tailCache {
			t := r.tail.Load()
			if t-r.chead > r.size || t%recordAlignBytes != 0 {
				return nil, r.poison("tail %d against head %d", t, r.chead)
			}
			r.tailCache = t
			if t == r.chead {
				return nil, nil
			}
		}
		off := r.chead & r.mask
		avail := r.tailCache - r.chead
		contig := r.size - off
		l := binary.LittleEndian.Uint32(r.data[off:])
		if l == wrapMarker {
			if contig > avail {
				return nil, r.poison("wrap marker at %d beyond tail %d", r.chead, r.tailCache)
			}
			r.chead += contig
			continue
		}
		if l == 0 || int64(l) > int64(r.frameBytesMax) {
			return nil, r.poison("record length %d at %d (max %d)", l, r.chead, r.frameBytesMax)
		}
		rec := recordBytes(int(l))
		if rec > contig || rec > avail {
			return nil, r.poison("record of %d bytes at %d crosses the end or the tail %d", l, r.chead, r.tailCache)
		}
		r.pending = rec
		return r.data[off+recordHeaderBytes : off+recordHeaderBytes+uint64(l)], nil
	}
	return nil, r.poison("two wrap markers in a row at %d", r.chead)
}

// release frees the record returned by the last peek.
func (r *ring) release() {
	if r.pending == 0 {
		panic("shmring: release without a record")
	}
	r.chead += r.pending
	r.pending = 0
	r.head.Store(r.chead)
	wake(r.roomSeq, r.roomSleep)
}

func (r *ring) poison(format string, args ...any) error {
	r.poisoned = true
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// empty reports whether the consumer has nothing to read (one atomic load).
func (r *ring) empty() bool { return r.chead == r.tail.Load() }

// headMoved reports whether the consumer released room since the
// producer's last look (one atomic load): a full ring may have room now.
func (r *ring) headMoved() bool { return r.head.Load() != r.headCache }

// wake releases the side asleep on seq if sleep says one is (or is about
// to be). Its caller has just published a cursor with a sequentially
// consistent store, so with no sleeper the whole cost is the load of
// sleep, a word on the cache line of that cursor (no system call). With
// one, the flag is cleared (so a burst of records makes one system call,
// not one each), the sequence is bumped and the futex woken; see
// link.sleep for why no wake-up is lost. A failing FutexWake (impossible
// on a mapped, aligned word) would only leave the sleeper to its timeout.
func wake(seq, sleep *atomic.Uint32) {
	if sleep.Load() == 0 || sleep.Swap(0) == 0 {
		return
	}
	seq.Add(1)
	shm.FutexWake(seq, wakeAll)
}

// wakeAlways bumps seq and wakes every sleeper on it, flag or not: for
// Close, which must release this side's and the peer's sleepers.
func wakeAlways(seq *atomic.Uint32) {
	seq.Add(1)
	shm.FutexWake(seq, wakeAll)
}
