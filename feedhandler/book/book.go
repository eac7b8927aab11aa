// Package book maintains ITCH 5.0 order books, one per stock locate, from
// decoded messages, and exposes each book's top (best bid and ask with
// sizes, last printable price, live orders, trading state).
//
// Everything is preallocated by New and bounded by Config; Apply never
// allocates. Three structures do the work:
//
//   - An order index keyed by order reference number: open addressing with
//     Robin Hood linear probing and backward-shift deletion (no tombstones)
//     over a preallocated power-of-two table, storing each live order's
//     locate, side, price and remaining shares. Consecutive references map
//     to consecutive slots, so the recent orders most messages touch share
//     cache lines.
//   - Per book and side, a pool of aggregated price levels (price, total
//     shares, order count) at stable handles, and the levels' prices sorted
//     so that the best is at the end, with the handles in a parallel array.
//     Each live order keeps its level's handle in its index slot, so an
//     execution, cancel or delete reaches its level without a search; only
//     a new price or an emptied level touches the sorted arrays. Flow
//     clusters at the touch, so finding a price is a branch-free count over
//     the top 16 prices (one cache line; deeper levels fall back to binary
//     search), and adding or removing one is a short memmove of prices and
//     2-byte handles.
//   - A table of books indexed directly by locate.
//
// Message semantics (ITCH prices in Price(4) units throughout):
//
//   - A, F: add an order. An add whose reference is already live replaces
//     the live order (counted as DuplicateOrder): references are never reused
//     within a day, so the newest message is the best information, and a
//     re-delivered add leaves the book unchanged. Adds with a side other than
//     'B'/'S', zero shares or a zero price are dropped (Rejected).
//   - E: reduce the order's shares (removing it at 0); Last = the order's price.
//   - C: reduce the order's shares; Last = the execution price when
//     Printable is 'Y'. A printable C whose order is unknown still sets Last
//     on the message's locate (the print happened).
//   - X: reduce by the cancelled shares. D: remove.
//   - U: remove the original, then add the new reference with the new shares
//     and price, on the original's book and side.
//   - P, Q: Last = the price when shares > 0 (P does not touch the book: it
//     reports executions of hidden orders).
//   - B: counted in Broken. Last is not rolled back: the broken match's
//     price is not retained, and the latest print remains the best mark.
//   - H: the book's trading state. h with market code 'Q' (Nasdaq) sets or
//     clears an operational halt. A book is halted when its trading state is
//     known and not 'T', or while an operational halt is in effect.
//   - R: creates the book and sets its symbol. Books are also created lazily
//     by A, F, P, Q, H, h and printable C.
//   - Everything else leaves the books unchanged.
//
// E, C, X, D and U act on the book where the referenced order lives.
// Reductions larger than the order's remaining shares remove the order
// (counted as Oversized). Messages naming an unknown order are counted
// (UnknownOrder) and otherwise ignored. No input is fatal.
//
// Depth is bounded by Config.LevelsMax per side. When a side is full, a new
// level better than the worst one evicts the worst level; a level worse than
// all stays unaggregated. Either way the side's "floor" moves inward: from
// then on orders at or beyond the floor are kept in the index (they can be
// executed, cancelled and replaced) but are not aggregated, and Top reports
// Truncated. Everything inside the floor stays exact, so the best price and
// size are exact while the side has any aggregated level. The floor resets
// when the side has no live orders.
//
// A Books is not safe for concurrent use.
package book

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// Bounds on Config values.
const (
	// OrdersMaxLimit bounds Config.OrdersMax.
	OrdersMaxLimit = 1 << 28
	// BooksMaxLimit bounds Config.BooksMax: one book per possible locate.
	BooksMaxLimit = 1 << 16
	// LevelsMaxLimit bounds Config.LevelsMax.
	LevelsMaxLimit = 1 << 16
	// LevelSlotsLimit bounds BooksMax*2*(LevelsMax+16), the preallocated
	// price-level slots (24 bytes each), so offsets fit in 32 bits.
	LevelSlotsLimit = 1 << 28
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("book: invalid config")

// ErrIndexFull reports that the order index holds Config.OrdersMax orders.
// Apply never fails: it counts this condition in Stats.IndexFull and drops
// the add.
var ErrIndexFull = errors.New("book: order index full")

// errLevelMissing is the invariant failure of an aggregated order whose
// price level does not exist.
var errLevelMissing = errors.New("book: price level of a live order is missing")

// Config bounds a Books. Memory is preallocated by New (see MemoryBytes):
// the order index takes 24 bytes per slot with max(64, 2*OrdersMax) slots
// rounded up to a power of two, price levels take 48*(LevelsMax+16) bytes
// per book for BooksMax books, and the locate table 4 MiB.
type Config struct {
	// OrdersMax is the number of live orders across all books.
	OrdersMax int
	// BooksMax is the number of books (distinct stock locates) that can
	// exist at once; at most BooksMaxLimit.
	BooksMax int
	// LevelsMax is the number of aggregated price levels per book side.
	LevelsMax int
}

// DefaultConfig returns a Config for a full TotalView feed: 4M live orders,
// 16384 books, 256 levels per side: about 370 MiB, mostly untouched (and so
// not resident) until used.
func DefaultConfig() Config {
	return Config{OrdersMax: 1 << 22, BooksMax: 1 << 14, LevelsMax: 256}
}

// Validate reports whether c is usable, wrapping ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.OrdersMax < 1 || c.OrdersMax > OrdersMaxLimit:
		return fmt.Errorf("%w: OrdersMax %d not in [1, %d]", ErrConfig, c.OrdersMax, OrdersMaxLimit)
	case c.BooksMax < 1 || c.BooksMax > BooksMaxLimit:
		return fmt.Errorf("%w: BooksMax %d not in [1, %d]", ErrConfig, c.BooksMax, BooksMaxLimit)
	case c.LevelsMax < 1 || c.LevelsMax > LevelsMaxLimit:
		return fmt.Errorf("%w: LevelsMax %d not in [1, %d]", ErrConfig, c.LevelsMax, LevelsMaxLimit)
	case c.BooksMax*2*(c.LevelsMax+levelWindow) > LevelSlotsLimit:
		return fmt.Errorf("%w: BooksMax %d x LevelsMax %d needs more than %d level slots",
			ErrConfig, c.BooksMax, c.LevelsMax, LevelSlotsLimit)
	}
	return nil
}

// MemoryBytes returns the memory New preallocates for c.
func (c Config) MemoryBytes() int {
	return indexSlots(c.OrdersMax)*24 + c.BooksMax*2*(c.LevelsMax+levelWindow)*levelSlotBytes + BooksMaxLimit*bookBytes
}

// Top is the top of one book. Prices are ITCH Price(4) units; 0 means none.
type Top struct {
	// Bid and Ask are the best prices; 0 when that side has no aggregated level.
	Bid, Ask uint32
	// BidSize and AskSize are the shares at the best prices.
	BidSize, AskSize uint64
	// BidOrders and AskOrders are the orders at the best prices.
	BidOrders, AskOrders uint32
	// BidLevels and AskLevels are the aggregated price levels per side.
	BidLevels, AskLevels int
	// Last is the price of the latest printable execution; 0 before any.
	Last uint32
	// Orders is the number of live orders on the book.
	Orders int
	// TradingState is the latest Stock Trading Action state ('H', 'P', 'Q',
	// 'T'), or 0 before any.
	TradingState byte
	// Halted is set when TradingState is known and not 'T', or an
	// operational halt is in effect.
	Halted bool
	// Truncated is set when a side holds orders beyond LevelsMax levels that
	// are not aggregated (see the package comment).
	Truncated bool
}

// Stats are the counters of a Books.
type Stats struct {
	// Orders is the number of live orders across all books.
	Orders int
	// Books is the number of books that exist.
	Books int
	// UnknownOrder counts E, C, X, D and U messages naming no live order.
	UnknownOrder uint64
	// DuplicateOrder counts adds (A, F, U) whose reference was already live.
	DuplicateOrder uint64
	// IndexFull counts adds dropped because OrdersMax orders were live.
	IndexFull uint64
	// LevelsFull counts adds that met a full side: a level was evicted or
	// the order was left unaggregated.
	LevelsFull uint64
	// BooksFull counts messages dropped because BooksMax books existed.
	BooksFull uint64
	// Rejected counts adds with a bad side, zero shares or a zero price.
	Rejected uint64
	// Oversized counts reductions larger than the order's remaining shares.
	Oversized uint64
	// Broken counts Broken Trade messages.
	Broken uint64
}

// level is the aggregate of one price level, at a stable handle in its
// side's pool; key is its side-transformed price (see slot.key), also held
// in the side's sorted key array, which searches touch alone.
type level struct {
	shares uint64
	orders uint32
	key    uint32
}

// levelSlotBytes is the memory of one preallocated level slot: a sorted key
// (4), a sorted handle (2), a pool level (16) and a free-stack handle (2).
const levelSlotBytes = 4 + 2 + 16 + 2

// levelWindow is the number of keys below the best level that a search
// compares without branching before it falls back to binary search. Every
// side's keys are preceded by levelWindow zero keys, so the window is always
// in bounds, and a zero key is never greater than a search key.
const levelWindow = 16

// bookSide is one side of a book: keys[off : off+n] sorted ascending with
// the best level last, and the handles of their levels in hs[off : off+n];
// level h lives in pool[off+h], and free[off : off+LevelsMax-n] stacks the
// unused handles.
type bookSide struct {
	off    uint32
	n      uint32
	orders uint32 // live orders on this side, aggregated or not
	floor  uint32 // while truncated: keys <= floor are not aggregated
	trunc  bool
}

// book is one stock locate's book.
type book struct {
	sides    [2]bookSide // sideBid-1, sideAsk-1
	last     uint32
	orders   uint32
	symbol   [8]byte
	state    byte
	opHalted bool
	exists   bool
	_        [4]byte // pad to one cache line
}

// bookBytes is the size of a book header (checked by a test).
const bookBytes = 64

// Books is the set of order books of one ITCH feed.
type Books struct {
	index     orderIndex
	books     *[BooksMaxLimit]book
	present   [BooksMaxLimit / 64]uint64 // bit per existing book
	keys      []uint32                   // per side: levelWindow zeros, then levelsMax keys
	hs        []uint16                   // per side, parallel to keys: the levels' handles
	pool      []level                    // per side: levelWindow unused, then levelsMax levels by handle
	free      []uint16                   // per side: levelWindow unused, then the free handles' stack
	levelsMax uint32
	booksMax  int
	booksUsed int // books created, each owns a slab of levels
	stats     Stats
}

// New returns empty books bounded by cfg, with all memory preallocated.
func New(cfg Config) (*Books, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Books{
		index:     newOrderIndex(cfg.OrdersMax),
		books:     new([BooksMaxLimit]book),
		keys:      make([]uint32, cfg.BooksMax*2*(cfg.LevelsMax+levelWindow)),
		hs:        make([]uint16, cfg.BooksMax*2*(cfg.LevelsMax+levelWindow)),
		pool:      make([]level, cfg.BooksMax*2*(cfg.LevelsMax+levelWindow)),
		free:      make([]uint16, cfg.BooksMax*2*(cfg.LevelsMax+levelWindow)),
		levelsMax: uint32(cfg.LevelsMax),
		booksMax:  cfg.BooksMax,
	}, nil
}

// keyOf transforms a price into a level key: larger is better on either side.
func keyOf(side uint8, price uint32) uint32 {
	if side == sideAsk {
		return ^price
	}
	return price
}

// priceOf inverts keyOf.
func priceOf(side uint8, key uint32) uint32 { return keyOf(side, key) }

// book returns the book of locate, creating it when needed; nil when
// BooksMax books exist (counted). The common case inlines.
func (b *Books) book(locate uint16) *book {
	if bk := &b.books[locate]; bk.exists {
		return bk
	}
	return b.create(locate)
}

// create makes the book of locate; nil when BooksMax books exist (counted).
func (b *Books) create(locate uint16) *book {
	bk := &b.books[locate]
	if b.booksUsed >= b.booksMax {
		b.stats.BooksFull++
		return nil
	}
	stride := b.levelsMax + levelWindow
	slab := uint32(b.booksUsed) * 2 * stride
	b.booksUsed++
	*bk = book{exists: true}
	bk.sides[0].off = slab + levelWindow
	bk.sides[1].off = slab + stride + levelWindow
	for k := range bk.sides {
		free := b.free[bk.sides[k].off : bk.sides[k].off+b.levelsMax]
		for i := range free {
			free[i] = uint16(len(free) - 1 - i) // handle 0 on top
		}
	}
	b.present[locate/64] |= 1 << (locate % 64)
	b.stats.Books++
	return bk
}

// setSymbol records stock as the book's symbol unless one is known.
func (bk *book) setSymbol(stock *[8]byte) {
	if bk.symbol == ([8]byte{}) {
		bk.symbol = *stock
	}
}

// halted reports the book's halted flag.
func (bk *book) halted() bool {
	return (bk.state != 0 && bk.state != 'T') || bk.opHalted
}

// setLast records a print; it reports whether Last changed.
func (bk *book) setLast(price uint32) bool {
	if bk.last == price {
		return false
	}
	bk.last = price
	return true
}

// Apply applies one decoded message. It returns the locate of the book the
// message acted on (the order's book for E, C, X, D and U with a known
// order, else the message's locate) and whether that book's top (best
// prices, their sizes, Last, trading state or halted flag) changed, so the
// caller can publish a tick. A duplicate add that moves an order from
// another book reports only the new book. Apply never allocates and never
// fails: bad or inconsistent input is counted in Stats.
func (b *Books) Apply(m *itch.Message) (locate uint16, changed bool) {
	switch m.Type {
	case itch.TypeAddOrder, itch.TypeAddOrderMPID:
		a := &m.AddOrder
		var side uint8
		switch a.Side {
		case 'B':
			side = sideBid
		case 'S':
			side = sideAsk
		default:
			b.stats.Rejected++
			return m.StockLocate, false
		}
		bk := b.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate, false
		}
		bk.setSymbol(&a.Stock)
		return m.StockLocate, b.add(m.StockLocate, side, a.OrderRef, a.Shares, a.Price)

	case itch.TypeOrderDelete:
		i, _, ok := b.index.lookup(m.OrderDelete.OrderRef)
		if !ok {
			b.stats.UnknownOrder++
			return m.StockLocate, false
		}
		s := &b.index.slots[i]
		loc := s.locate // read before reduce clears the slot
		return loc, b.reduce(i, s.shares)

	case itch.TypeOrderCancel:
		x := &m.OrderCancel
		i, _, ok := b.index.lookup(x.OrderRef)
		if !ok {
			b.stats.UnknownOrder++
			return m.StockLocate, false
		}
		loc := b.index.slots[i].locate // read before reduce may clear the slot
		return loc, b.reduce(i, x.Shares)

	case itch.TypeOrderExecuted:
		e := &m.OrderExecuted
		i, _, ok := b.index.lookup(e.OrderRef)
		if !ok {
			b.stats.UnknownOrder++
			return m.StockLocate, false
		}
		s := &b.index.slots[i]
		loc, price := s.locate, priceOf(s.side(), s.key)
		changed = b.reduce(i, e.Shares)
		if e.Shares > 0 {
			changed = b.books[loc].setLast(price) || changed
		}
		return loc, changed

	case itch.TypeOrderExecutedWithPrice:
		c := &m.OrderExecutedWithPrice
		printable := c.Printable == 'Y' && c.Shares > 0 && c.Price != 0
		i, _, ok := b.index.lookup(c.OrderRef)
		if !ok {
			b.stats.UnknownOrder++
			if printable {
				if bk := b.book(m.StockLocate); bk != nil {
					return m.StockLocate, bk.setLast(c.Price)
				}
			}
			return m.StockLocate, false
		}
		loc := b.index.slots[i].locate
		changed = b.reduce(i, c.Shares)
		if printable {
			changed = b.books[loc].setLast(c.Price) || changed
		}
		return loc, changed

	case itch.TypeOrderReplace:
		u := &m.OrderReplace
		i, _, ok := b.index.lookup(u.OrigOrderRef)
		if !ok {
			b.stats.UnknownOrder++
			return m.StockLocate, false
		}
		s := &b.index.slots[i]
		loc, side := s.locate, s.side()
		// Removing and re-adding may leave the top as it was (same price
		// and size): compare the top instead of OR-ing the two steps.
		before := b.sig(loc)
		b.reduce(i, s.shares)
		b.add(loc, side, u.NewOrderRef, u.Shares, u.Price)
		return loc, b.sig(loc) != before

	case itch.TypeTrade:
		p := &m.Trade
		if p.Shares == 0 || p.Price == 0 {
			return m.StockLocate, false
		}
		bk := b.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate, false
		}
		bk.setSymbol(&p.Stock)
		return m.StockLocate, bk.setLast(p.Price)

	case itch.TypeCrossTrade:
		q := &m.CrossTrade
		if q.Shares == 0 || q.CrossPrice == 0 {
			return m.StockLocate, false
		}
		bk := b.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate, false
		}
		bk.setSymbol(&q.Stock)
		return m.StockLocate, bk.setLast(q.CrossPrice)

	case itch.TypeBrokenTrade:
		b.stats.Broken++
		return m.StockLocate, false

	case itch.TypeStockTradingAction:
		h := &m.StockTradingAction
		bk := b.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate, false
		}
		bk.setSymbol(&h.Stock)
		changed = bk.state != h.TradingState
		bk.state = h.TradingState
		return m.StockLocate, changed

	case itch.TypeOperationalHalt:
		h := &m.OperationalHalt
		if h.MarketCode != 'Q' {
			return m.StockLocate, false
		}
		bk := b.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate, false
		}
		bk.setSymbol(&h.Stock)
		wasHalted := bk.halted()
		bk.opHalted = h.OperationalHaltAction == 'H'
		return m.StockLocate, bk.halted() != wasHalted

	case itch.TypeStockDirectory:
		if bk := b.book(m.StockLocate); bk != nil {
			bk.symbol = m.StockDirectory.Stock
		}
		return m.StockLocate, false
	}
	return m.StockLocate, false
}

// add adds a new order to the book of locate, which exists. It reports
// whether the book's top changed.
func (b *Books) add(locate uint16, side uint8, ref uint64, shares, price uint32) bool {
	if shares == 0 || price == 0 {
		b.stats.Rejected++
		return false
	}
	i, dist, dup := b.index.lookup(ref)
	if dup {
		// Replace the live order; report whether this book's top differs
		// afterwards (a re-delivered add changes nothing).
		b.stats.DuplicateOrder++
		before := b.sig(locate)
		b.unlink(&b.index.slots[i], b.index.slots[i].shares)
		b.link(i, 0, false, locate, side, ref, shares, price)
		return b.sig(locate) != before
	}
	return b.link(i, dist, true, locate, side, ref, shares, price)
}

// link stores a new order in the index and adds it to its book: when
// insert, at slot i and probe distance dist from a failed lookup, else over
// the live entry for the same reference in slot i. It reports whether the
// book's best level changed.
func (b *Books) link(i uint64, dist uint32, insert bool, locate uint16, side uint8, ref uint64, shares, price uint32) bool {
	key := keyOf(side, price)
	if insert {
		if err := b.index.insertAt(i, dist, ref, key, shares, locate, side); err != nil {
			b.stats.IndexFull++ // ErrIndexFull: the add is dropped
			return false
		}
	} else {
		e := &b.index.slots[i] // same reference: dist stays
		e.key, e.shares, e.locate, e.ds = key, shares, locate, e.ds&^3|uint32(side)
	}
	b.stats.Orders++
	bk := &b.books[locate]
	bk.orders++
	sd := &bk.sides[side-1]
	sd.orders++
	if sd.trunc && key <= sd.floor {
		b.stats.LevelsFull++
		return false
	}
	h, changed := b.levelAdd(sd, key, shares)
	b.index.slots[i].lvl = h
	return changed
}

// topSig is the part of a book's top that its order flow can change.
type topSig struct {
	bidKey, askKey   uint32
	bidSize, askSize uint64
}

// sig returns the top signature of the book of locate.
func (b *Books) sig(locate uint16) topSig {
	bk := &b.books[locate]
	var t topSig
	if sd := &bk.sides[0]; sd.n > 0 {
		i := sd.off + sd.n - 1
		t.bidKey, t.bidSize = b.keys[i], b.pool[sd.off+uint32(b.hs[i])].shares
	}
	if sd := &bk.sides[1]; sd.n > 0 {
		i := sd.off + sd.n - 1
		t.askKey, t.askSize = b.keys[i], b.pool[sd.off+uint32(b.hs[i])].shares
	}
	return t
}

// reduce takes d shares off the order in index slot i, removing it when
// none remain. It reports whether the order's book top changed.
func (b *Books) reduce(i uint64, d uint32) bool {
	s := &b.index.slots[i]
	if d < s.shares {
		changed := b.levelReduce(&b.books[s.locate].sides[s.side()-1], s.lvl, s.key, d, false)
		s.shares -= d
		return changed
	}
	if d > s.shares {
		b.stats.Oversized++
	}
	changed := b.unlink(s, s.shares)
	b.index.deleteAt(i)
	return changed
}

// unlink removes the order s (its remaining shares are d) from its book's
// counts and levels, leaving the index slot alone. It reports whether the
// book's top changed.
func (b *Books) unlink(s *slot, d uint32) bool {
	b.stats.Orders--
	bk := &b.books[s.locate]
	bk.orders--
	sd := &bk.sides[s.side()-1]
	changed := b.levelReduce(sd, s.lvl, s.key, d, true)
	sd.orders--
	if sd.orders == 0 {
		sd.trunc = false
		sd.floor = 0
	}
	return changed
}

// levelReduce takes d shares (and the order itself when remove) off level
// h, at key, of side sd, if key is aggregated. It reports whether the best
// level changed.
func (b *Books) levelReduce(sd *bookSide, h uint16, key uint32, d uint32, remove bool) bool {
	if sd.trunc && key <= sd.floor {
		return false
	}
	n, off := sd.n, sd.off
	l := &b.pool[off+uint32(h)]
	if l.key != key || l.orders == 0 || n == 0 {
		panic(errLevelMissing)
	}
	best := b.keys[off+n-1] == key
	l.shares -= uint64(d)
	if remove {
		l.orders--
		if l.orders == 0 {
			// The level empties: drop its key and handle from the sorted
			// arrays and free the handle.
			ks := b.keys[off-levelWindow : off+n]
			j := searchKeys(ks, int(n), key)
			if j == 0 || ks[levelWindow+j-1] != key {
				panic(errLevelMissing)
			}
			if j < int(n) {
				hs := b.hs[off : off+n]
				copy(ks[levelWindow+j-1:], ks[levelWindow+j:])
				copy(hs[j-1:], hs[j:])
			}
			b.free[off+b.levelsMax-n] = h
			sd.n--
		}
	}
	return best && (d != 0 || remove)
}

// levelAdd adds an order of shares at key to side sd, which is not
// truncated at key. It returns the handle of the order's level and whether
// the best level changed.
func (b *Books) levelAdd(sd *bookSide, key uint32, shares uint32) (uint16, bool) {
	n, off, room := sd.n, sd.off, b.levelsMax
	ks := b.keys[off-levelWindow : off+room]
	hs := b.hs[off : off+room]
	j := searchKeys(ks, int(n), key)
	if j > 0 && ks[levelWindow+j-1] == key {
		h := hs[j-1]
		l := &b.pool[off+uint32(h)]
		l.shares += uint64(shares)
		l.orders++
		return h, j == int(n)
	}
	if n < room {
		h := b.free[off+room-n-1]
		if j < int(n) {
			copy(ks[levelWindow+j+1:levelWindow+n+1], ks[levelWindow+j:levelWindow+n])
			copy(hs[j+1:n+1], hs[j:n])
		}
		ks[levelWindow+j] = key
		hs[j] = h
		b.pool[off+uint32(h)] = level{shares: uint64(shares), orders: 1, key: key}
		sd.n++
		return h, j == int(n)
	}
	// Full side: the floor moves inward past either the new key or the
	// worst level, whose handle the new level takes over (the evicted
	// level's orders lie at or below the floor and never use it again).
	b.stats.LevelsFull++
	sd.trunc = true
	if j == 0 {
		sd.floor = key
		return 0, false
	}
	sd.floor = ks[levelWindow]
	h := hs[0]
	copy(ks[levelWindow:levelWindow+j-1], ks[levelWindow+1:levelWindow+j])
	copy(hs[:j-1], hs[1:j])
	ks[levelWindow+j-1] = key
	hs[j-1] = h
	b.pool[off+uint32(h)] = level{shares: uint64(shares), orders: 1, key: key}
	return h, j == int(n)
}

// b2i is 1 for true and 0 for false; it compiles to a flag set, no branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// searchKeys returns how many of a side's n ascending keys, ks[levelWindow:
// levelWindow+n], are <= key: the insertion point of key, and one past its
// level if present. ks[:levelWindow] precede the keys (zero pad or lower
// keys). Flow concentrates near the best (last) level, so it first counts,
// without branches, the keys above key among the top levelWindow; only when
// all of those are above does it binary search the rest.
func searchKeys(ks []uint32, n int, key uint32) int {
	w := (*[levelWindow]uint32)(ks[n : n+levelWindow])
	c := 0
	for i := 0; i < levelWindow; i += 4 {
		c += b2i(w[i] > key) + b2i(w[i+1] > key) + b2i(w[i+2] > key) + b2i(w[i+3] > key)
	}
	if c < levelWindow {
		return n - c
	}
	lo, hi := 0, n-levelWindow
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ks[levelWindow+mid] <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Top returns the top of the book of locate and whether that book exists.
func (b *Books) Top(locate uint16) (Top, bool) {
	bk := &b.books[locate]
	if !bk.exists {
		return Top{}, false
	}
	return b.top(bk), true
}

func (b *Books) top(bk *book) Top {
	t := Top{
		Last:         bk.last,
		Orders:       int(bk.orders),
		TradingState: bk.state,
		Halted:       bk.halted(),
		Truncated:    bk.sides[0].trunc || bk.sides[1].trunc,
	}
	if sd := &bk.sides[0]; sd.n > 0 {
		i := sd.off + sd.n - 1
		l := &b.pool[sd.off+uint32(b.hs[i])]
		t.Bid, t.BidSize, t.BidOrders, t.BidLevels = priceOf(sideBid, b.keys[i]), l.shares, l.orders, int(sd.n)
	}
	if sd := &bk.sides[1]; sd.n > 0 {
		i := sd.off + sd.n - 1
		l := &b.pool[sd.off+uint32(b.hs[i])]
		t.Ask, t.AskSize, t.AskOrders, t.AskLevels = priceOf(sideAsk, b.keys[i]), l.shares, l.orders, int(sd.n)
	}
	return t
}

// Symbol returns the symbol of the book of locate (space padded), or zero
// bytes when the book does not exist or no message named its symbol yet.
func (b *Books) Symbol(locate uint16) [8]byte { return b.books[locate].symbol }

// Each calls fn for every existing book in ascending locate order.
func (b *Books) Each(fn func(locate uint16, symbol [8]byte, t Top)) {
	for w, word := range b.present {
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &= word - 1
			loc := uint16(w*64 + bit)
			bk := &b.books[loc]
			fn(loc, bk.symbol, b.top(bk))
		}
	}
}

// Stats returns the counters.
func (b *Books) Stats() Stats { return b.stats }

// Reset removes every order and book and zeroes the counters, keeping the
// preallocated memory. It costs time proportional to the index size.
func (b *Books) Reset() {
	b.index.reset()
	for w, word := range b.present {
		for word != 0 {
			bit := bits.TrailingZeros64(word)
			word &= word - 1
			b.books[w*64+bit] = book{}
		}
	}
	b.present = [BooksMaxLimit / 64]uint64{}
	b.booksUsed = 0
	b.stats = Stats{}
}
