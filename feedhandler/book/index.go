package book

import "math/bits"

// Sides as stored in an index slot. 0 marks an empty slot.
const (
	sideNone uint8 = iota
	sideBid
	sideAsk
)

// slot is one entry of the order index: a live order, in 24 bytes.
type slot struct {
	ref uint64
	// key is the order's price transformed so that a larger key is a better
	// price on its side: the price for bids, ^price for asks.
	key    uint32
	shares uint32
	// ds is the probe distance from the home slot times 4 plus the side
	// (sideBid, sideAsk; 0 only in an empty slot, whose ds is 0). A
	// distance is below the table size (at most 2^29), so it never
	// overflows; one compare answers both "empty?" and "richer?".
	ds     uint32
	locate uint16
	// lvl is the handle of the order's price level on its side (see
	// Books.pool) while the order is aggregated.
	lvl uint16
}

// side returns the slot's side (sideNone for an empty slot).
func (s *slot) side() uint8 { return uint8(s.ds & 3) }

// dist returns the slot's probe distance.
func (s *slot) dist() uint32 { return s.ds >> 2 }

// blockBits is the number of low order-reference bits that select the slot
// inside a block of 256: consecutive references (ITCH assigns them
// sequentially) land in consecutive slots of one block, usually at probe
// distance 0, so recent orders, which most messages touch, share cache lines
// and pages (fewer TLB misses in a large table). Measured on realistic flow,
// 256-entry blocks beat 16 and 1024 for both a cache-sized and a 4M-order
// index. See home for how blocks are spread.
const blockBits = 8

// indexSlotsMin is the smallest table: four blocks.
const indexSlotsMin = 4 << blockBits

// fibMul is 2^64 / golden ratio, the Fibonacci hashing multiplier.
const fibMul = 0x9E3779B97F4A7C15

// orderIndex maps order reference numbers to live orders: open addressing
// with Robin Hood linear probing over a power-of-two table sized at least
// twice the order bound (load factor <= 1/2), and tombstone-free
// backward-shift deletion. Robin Hood keeps every probe run ordered by home
// slot, so a miss stops at the first richer entry and a deletion stops at
// the first entry in its home slot: with sequential references most
// entries are, which keeps deletions O(1) inside dense blocks. It never
// grows.
type orderIndex struct {
	slots     []slot
	mask      uint64
	shift     uint // 64 - (log2(len(slots)) - blockBits)
	n         int  // live entries
	ordersMax int
}

// indexSlots returns the table size for ordersMax live orders.
func indexSlots(ordersMax int) int {
	n := max(2*ordersMax, indexSlotsMin)
	return 1 << bits.Len(uint(n-1))
}

func newOrderIndex(ordersMax int) orderIndex {
	size := indexSlots(ordersMax)
	return orderIndex{
		slots:     make([]slot, size),
		mask:      uint64(size - 1),
		shift:     uint(64 - (bits.TrailingZeros(uint(size)) - blockBits)),
		ordersMax: ordersMax,
	}
}

// home returns the slot a reference hashes to: the block is picked by the
// top bits of the Fibonacci hash of ref's block number, and the slot inside
// the block is ref's low bits rotated by other bits of that hash. The
// rotation is constant within a block (consecutive references stay
// consecutive) but differs between blocks, so references strided by a
// multiple of the block size do not all land on the same offset.
func (x *orderIndex) home(ref uint64) uint64 {
	h := (ref >> blockBits) * fibMul
	block := h >> x.shift
	rot := h >> 32
	return (block<<blockBits | (ref+rot)&(1<<blockBits-1)) & x.mask
}

// lookup returns the slot holding ref and true, or the slot where ref
// belongs, its probe distance there, and false.
func (x *orderIndex) lookup(ref uint64) (i uint64, dist uint32, found bool) {
	mask := x.mask
	slots := x.slots
	i = x.home(ref)
	for {
		s := &slots[i]
		// Empty (ds 0) or richer (a smaller distance): ref is absent.
		if s.ds < dist<<2|1 {
			return i, dist, false
		}
		if s.ref == ref {
			return i, dist, true
		}
		i = (i + 1) & mask
		dist++
	}
}

// insertAt stores a new entry at slot i with probe distance dist, as
// returned by a failed lookup, displacing richer entries forward. It
// returns ErrIndexFull, storing nothing, when ordersMax entries are live.
// Fields are written in place: building a slot value and copying it would
// stall on store forwarding.
func (x *orderIndex) insertAt(i uint64, dist uint32, ref uint64, key, shares uint32, locate uint16, side uint8) error {
	if x.n >= x.ordersMax {
		return ErrIndexFull
	}
	e := &x.slots[i]
	if e.ds != 0 {
		x.displace(i)
	}
	e.ref, e.key, e.shares, e.ds, e.locate, e.lvl = ref, key, shares, dist<<2|uint32(side), locate, 0
	x.n++
	return nil
}

// displace moves the occupied slot i and the rest of its probe run forward
// by Robin Hood rules, leaving slot i free for an entry that outranks it.
func (x *orderIndex) displace(i uint64) {
	mask := x.mask
	slots := x.slots
	s := slots[i]
	for {
		i = (i + 1) & mask
		s.ds += 4 // one step further from home
		e := &slots[i]
		if e.ds == 0 {
			*e = s
			return
		}
		if e.dist() < s.dist() {
			*e, s = s, *e
		}
	}
}

// deleteAt removes the entry in slot i, shifting the rest of its probe run
// back by one until an empty slot or an entry in its home slot.
func (x *orderIndex) deleteAt(i uint64) {
	mask := x.mask
	slots := x.slots
	for {
		j := (i + 1) & mask
		s := &slots[j]
		if s.ds < 4 { // empty, or in its home slot
			break
		}
		slots[i] = *s
		slots[i].ds -= 4
		i = j
	}
	slots[i] = slot{}
	x.n--
}

// reset empties the index.
func (x *orderIndex) reset() {
	clear(x.slots)
	x.n = 0
}
