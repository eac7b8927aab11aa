package itchgen

// The generator's own order books. They are the reference the feed handler
// is checked against, so they share no code with feedhandler/book: orders
// live in one pool, each price level is a FIFO list of orders (time
// priority), and each side is a slice of levels sorted so that the best
// level is last (bids ascending, asks descending).

const nilOrder = -1

// order is one live resting order.
type order struct {
	ref     uint64
	price   uint32
	shares  uint32
	book    int32 // index of its book
	livePos int32 // index in its book's live slice
	prev    int32 // neighbours in its level's FIFO
	next    int32
	buy     bool
}

// level is one price level: total shares and a FIFO of orders.
type level struct {
	price  uint32
	shares uint64
	count  int32
	head   int32
	tail   int32
}

// pool holds every live order; freed slots are reused.
type pool struct {
	orders []order
	free   []int32
}

func (p *pool) alloc() int32 {
	if n := len(p.free); n > 0 {
		i := p.free[n-1]
		p.free = p.free[:n-1]
		return i
	}
	p.orders = append(p.orders, order{})
	return int32(len(p.orders) - 1)
}

func (p *pool) release(i int32) {
	p.orders[i] = order{}
	p.free = append(p.free, i)
}

// side is one side of a book; levels[len-1] is the best.
type side struct {
	levels []level
	buy    bool
}

// better reports whether price a ranks ahead of b on this side.
func (s *side) better(a, b uint32) bool {
	if s.buy {
		return a > b
	}
	return a < b
}

// search returns the index of the level at price, or where it would be
// inserted, and whether it exists. Levels run worst to best.
func (s *side) search(price uint32) (int, bool) {
	lo, hi := 0, len(s.levels)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.better(price, s.levels[m].price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.levels) && s.levels[lo].price == price
}

// best returns the best level, or nil when the side is empty.
func (s *side) best() *level {
	if len(s.levels) == 0 {
		return nil
	}
	return &s.levels[len(s.levels)-1]
}

// bestPrice returns the best price and true, or 0 and false when empty.
func (s *side) bestPrice() (uint32, bool) {
	if len(s.levels) == 0 {
		return 0, false
	}
	return s.levels[len(s.levels)-1].price, true
}

// link appends order oi (already holding price and shares) to its level's
// FIFO, creating the level when needed.
func (s *side) link(p *pool, oi int32) {
	o := &p.orders[oi]
	i, ok := s.search(o.price)
	if !ok {
		s.levels = append(s.levels, level{})
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = level{price: o.price, head: nilOrder, tail: nilOrder}
	}
	l := &s.levels[i]
	o.prev, o.next = l.tail, nilOrder
	if l.tail != nilOrder {
		p.orders[l.tail].next = oi
	} else {
		l.head = oi
	}
	l.tail = oi
	l.count++
	l.shares += uint64(o.shares)
}

// unlink removes order oi from its level, dropping the level when empty.
func (s *side) unlink(p *pool, oi int32) {
	o := &p.orders[oi]
	i, ok := s.search(o.price)
	if !ok {
		panic("itchgen: live order's price level missing")
	}
	l := &s.levels[i]
	if o.prev != nilOrder {
		p.orders[o.prev].next = o.next
	} else {
		l.head = o.next
	}
	if o.next != nilOrder {
		p.orders[o.next].prev = o.prev
	} else {
		l.tail = o.prev
	}
	l.count--
	l.shares -= uint64(o.shares)
	if l.count == 0 {
		if l.shares != 0 {
			panic("itchgen: empty price level with shares")
		}
		s.levels = append(s.levels[:i], s.levels[i+1:]...)
	}
}

// reduce takes n shares (fewer than the order holds) off order oi.
func (s *side) reduce(p *pool, oi int32, n uint32) {
	o := &p.orders[oi]
	if n == 0 || n >= o.shares {
		panic("itchgen: partial reduce of a whole order")
	}
	i, ok := s.search(o.price)
	if !ok {
		panic("itchgen: live order's price level missing")
	}
	o.shares -= n
	s.levels[i].shares -= uint64(n)
}
