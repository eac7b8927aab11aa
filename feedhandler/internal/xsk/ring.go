package xsk

import "sync/atomic"

// ringIndex is the shared part of a ring: the two free-running indexes and
// the flags word, which live in memory shared with the other side (the
// kernel, or a test), plus the ring geometry.
type ringIndex struct {
	producer *uint32
	consumer *uint32
	flags    *uint32
	size     uint32 // number of entries, a power of two
	mask     uint32 // size - 1
}

func newRingIndex(producer, consumer, flags *uint32, size uint32) ringIndex {
	if size == 0 || size&(size-1) != 0 {
		panic("xsk: ring size is not a power of two")
	}
	return ringIndex{producer: producer, consumer: consumer, flags: flags, size: size, mask: size - 1}
}

// needWakeup reports whether the other side set XDP_RING_NEED_WAKEUP.
func (r *ringIndex) needWakeup() bool {
	return r.flags != nil && atomic.LoadUint32(r.flags)&ringNeedWakeup != 0
}

// ringNeedWakeup is XDP_RING_NEED_WAKEUP from <linux/if_xdp.h>; it is part of
// the shared-memory ABI, so it is defined here for the portable ring code.
const ringNeedWakeup = 1

// prodRing is the producer side of a ring (fill and TX rings for user
// space). Entries are reserved, written, then published by submit.
type prodRing struct {
	ringIndex
	cachedProd uint32 // next index to reserve; published by submit
	cachedCons uint32 // last seen consumer index + size: the first index not free
}

func newProdRing(producer, consumer, flags *uint32, size uint32) prodRing {
	r := prodRing{ringIndex: newRingIndex(producer, consumer, flags, size)}
	r.cachedProd = atomic.LoadUint32(producer)
	r.cachedCons = atomic.LoadUint32(consumer) + size
	return r
}

// free returns the number of entries that can be reserved, refreshing the
// consumer index from shared memory only when the cached view has fewer
// than want.
func (r *prodRing) free(want uint32) uint32 {
	n := r.cachedCons - r.cachedProd
	if n >= want {
		return n
	}
	r.cachedCons = atomic.LoadUint32(r.consumer) + r.size
	return r.cachedCons - r.cachedProd
}

// reserve claims up to want entries and returns the first index and the
// count claimed. The caller writes entries idx..idx+got-1 (masked) and then
// calls submit.
func (r *prodRing) reserve(want uint32) (idx, got uint32) {
	got = min(want, r.free(want))
	idx = r.cachedProd
	r.cachedProd += got
	return idx, got
}

// submit publishes every reserved entry to the consumer. The atomic store
// orders the entry writes before the new producer index (release).
func (r *prodRing) submit() {
	atomic.StoreUint32(r.producer, r.cachedProd)
}

// consRing is the consumer side of a ring (RX and completion rings for user
// space). Entries are peeked, read, then handed back by release.
type consRing struct {
	ringIndex
	cachedProd uint32 // last seen producer index
	cachedCons uint32 // next index to read; published by release
}

func newConsRing(producer, consumer, flags *uint32, size uint32) consRing {
	r := consRing{ringIndex: newRingIndex(producer, consumer, flags, size)}
	r.cachedProd = atomic.LoadUint32(producer)
	r.cachedCons = atomic.LoadUint32(consumer)
	return r
}

// avail returns the number of entries ready to read, refreshing the producer
// index from shared memory (acquire) only when the cached view has fewer
// than want.
func (r *consRing) avail(want uint32) uint32 {
	n := r.cachedProd - r.cachedCons
	if n >= want {
		return n
	}
	r.cachedProd = atomic.LoadUint32(r.producer)
	return r.cachedProd - r.cachedCons
}

// peek claims up to want ready entries and returns the first index and the
// count claimed. The caller reads entries idx..idx+got-1 (masked) and then
// calls release.
func (r *consRing) peek(want uint32) (idx, got uint32) {
	got = min(want, r.avail(want))
	idx = r.cachedCons
	r.cachedCons += got
	return idx, got
}

// release hands every peeked entry back to the producer. The atomic store
// orders the entry reads before the new consumer index.
func (r *consRing) release() {
	atomic.StoreUint32(r.consumer, r.cachedCons)
}
