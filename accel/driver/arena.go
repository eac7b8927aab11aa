package driver

// arenaAlignBytes aligns every job region in the arena (a cache line; the
// device needs 8).
const arenaAlignBytes = 64

// arena is a circular allocator over the job-buffer region of DMA memory.
// Jobs allocate in submission order and usually finish in that order (the
// device executes descriptors in order), so a ring of regions fits: a region
// is freed by marking its record, and the oldest marked records are
// reclaimed. Records freed out of order wait for the older ones. It is not
// safe for concurrent use; the Device's mutex guards it.
type arena struct {
	size       int // bytes, a multiple of arenaAlignBytes
	head, tail int // the used region is [head, tail) circularly
	used       int // bytes in use, wrap padding included
	recs       []arenaRec
	rHead      int // oldest live record (free-running)
	rTail      int // next record (free-running)
}

type arenaRec struct {
	bytes int // region plus the padding skipped before it
	freed bool
}

func newArena(size, records int) arena {
	return arena{size: size &^ (arenaAlignBytes - 1), recs: make([]arenaRec, records)}
}

// alignUp rounds n up to the arena alignment.
func alignUp(n int) int { return (n + arenaAlignBytes - 1) &^ (arenaAlignBytes - 1) }

// alloc reserves n bytes (a multiple of arenaAlignBytes, > 0) and returns
// their offset in the arena and the record to free; ok is false when the
// arena or the record ring is full right now.
func (a *arena) alloc(n int) (pos, rec int, ok bool) {
	if n <= 0 || n > a.size || a.rTail-a.rHead == len(a.recs) {
		return 0, 0, false
	}
	if a.used == 0 {
		a.head, a.tail = 0, 0
	}
	pos, pad := a.tail, 0
	if pos+n > a.size {
		pad, pos = a.size-pos, 0
	}
	if a.used+pad+n > a.size {
		return 0, 0, false
	}
	a.used += pad + n
	a.tail = pos + n
	if a.tail == a.size {
		a.tail = 0
	}
	rec = a.rTail % len(a.recs)
	a.recs[rec] = arenaRec{bytes: pad + n}
	a.rTail++
	return pos, rec, true
}

// free releases record rec and reclaims every freed record at the head.
func (a *arena) free(rec int) {
	r := &a.recs[rec]
	if r.freed || r.bytes == 0 {
		panic("driver: arena record freed twice")
	}
	r.freed = true
	for a.rHead != a.rTail {
		h := &a.recs[a.rHead%len(a.recs)]
		if !h.freed {
			break
		}
		a.used -= h.bytes
		a.head = (a.head + h.bytes) % a.size
		*h = arenaRec{}
		a.rHead++
	}
}

// fits reports whether n bytes could ever be allocated.
func (a *arena) fits(n int) bool { return n <= a.size }
