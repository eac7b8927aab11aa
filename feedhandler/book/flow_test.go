package book

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// fuzzFlow produces an adversarial random message stream for differential
// testing: few books and prices so levels collide, unknown and duplicate
// references, oversized reductions, rejected adds and every message type
// that touches a book.
type fuzzFlow struct {
	r       *rand.Rand
	live    func(ref uint64) bool // optional: steers oldRef towards live orders
	locates int
	nextRef uint64
	refs    []uint64 // references handed out (live or not)
	match   uint64
}

func newFuzzFlow(seed uint64, locates int) *fuzzFlow {
	return &fuzzFlow{r: rand.New(rand.NewPCG(seed, 99)), locates: locates, nextRef: 1}
}

func (f *fuzzFlow) loc() uint16 { return uint16(1 + f.r.IntN(f.locates)) }

func (f *fuzzFlow) price() uint32 {
	if f.r.IntN(50) == 0 {
		return uint32(1 + f.r.IntN(3_000_000))
	}
	return uint32(1_000_000 + 100*(f.r.IntN(41)-20))
}

func (f *fuzzFlow) shares() uint32 { return uint32(1 + f.r.IntN(500)) }

// oldRef returns a reference handed out earlier (often live), or an unknown one.
func (f *fuzzFlow) oldRef() uint64 {
	if len(f.refs) == 0 || f.r.IntN(20) == 0 {
		return 1<<40 + f.r.Uint64N(1000)
	}
	// Bias towards recent references, like real flow, and try a few
	// times for a live one.
	n := len(f.refs)
	var ref uint64
	for try := 0; try < 4; try++ {
		if f.r.IntN(2) == 0 {
			ref = f.refs[n-1-f.r.IntN(min(n, 64))]
		} else {
			ref = f.refs[f.r.IntN(n)]
		}
		if f.live == nil || f.live(ref) {
			break
		}
	}
	return ref
}

func (f *fuzzFlow) newRef() uint64 {
	if f.r.IntN(50) == 0 && len(f.refs) > 0 {
		return f.oldRef() // duplicate add
	}
	ref := f.nextRef
	f.nextRef++
	f.refs = append(f.refs, ref)
	if len(f.refs) > 4096 {
		f.refs = append(f.refs[:0], f.refs[2048:]...)
	}
	return ref
}

func (f *fuzzFlow) reduceShares() uint32 {
	switch f.r.IntN(10) {
	case 0:
		return 0
	case 1:
		return uint32(400 + f.r.IntN(400)) // often oversized
	}
	return uint32(1 + f.r.IntN(100))
}

func (f *fuzzFlow) side() byte {
	if f.r.IntN(2) == 0 {
		return 'B'
	}
	return 'S'
}

// next fills m with the next message (header and one body).
func (f *fuzzFlow) next(m *itch.Message) {
	m.StockLocate = f.loc()
	m.TrackingNumber = 0
	m.Timestamp++
	x := f.r.IntN(100)
	switch {
	case x < 30:
		m.Type = itch.TypeAddOrder
		if f.r.IntN(10) == 0 {
			m.Type = itch.TypeAddOrderMPID
		}
		m.AddOrder = itch.AddOrder{
			OrderRef: f.newRef(), Side: f.side(), Shares: f.shares(),
			Stock: itch.StockFromString("S" + string(rune('A'+m.StockLocate))), Price: f.price(),
		}
		switch f.r.IntN(60) {
		case 0:
			m.AddOrder.Side = 'Z'
		case 1:
			m.AddOrder.Shares = 0
		case 2:
			m.AddOrder.Price = 0
		}
	case x < 50:
		m.Type = itch.TypeOrderDelete
		m.OrderDelete = itch.OrderDelete{OrderRef: f.oldRef()}
	case x < 58:
		m.Type = itch.TypeOrderCancel
		m.OrderCancel = itch.OrderCancel{OrderRef: f.oldRef(), Shares: f.reduceShares()}
	case x < 66:
		f.match++
		m.Type = itch.TypeOrderExecuted
		m.OrderExecuted = itch.OrderExecuted{OrderRef: f.oldRef(), Shares: f.reduceShares(), MatchNumber: f.match}
	case x < 71:
		f.match++
		m.Type = itch.TypeOrderExecutedWithPrice
		p := byte('Y')
		if f.r.IntN(2) == 0 {
			p = 'N'
		}
		m.OrderExecutedWithPrice = itch.OrderExecutedWithPrice{
			OrderRef: f.oldRef(), Shares: f.reduceShares(), MatchNumber: f.match, Printable: p, Price: f.price(),
		}
	case x < 85:
		m.Type = itch.TypeOrderReplace
		m.OrderReplace = itch.OrderReplace{OrigOrderRef: f.oldRef(), NewOrderRef: f.newRef(), Shares: f.shares(), Price: f.price()}
		if f.r.IntN(40) == 0 {
			m.OrderReplace.Shares = 0
		}
	case x < 89:
		f.match++
		m.Type = itch.TypeTrade
		m.Trade = itch.Trade{Side: f.side(), Shares: f.shares() * uint32(f.r.IntN(4)), Stock: itch.StockFromString("T"), Price: f.price(), MatchNumber: f.match}
	case x < 91:
		f.match++
		m.Type = itch.TypeCrossTrade
		m.CrossTrade = itch.CrossTrade{Shares: uint64(f.r.IntN(3)) * 100, Stock: itch.StockFromString("Q"), CrossPrice: f.price(), MatchNumber: f.match, CrossType: 'O'}
	case x < 92:
		m.Type = itch.TypeBrokenTrade
		m.BrokenTrade = itch.BrokenTrade{MatchNumber: f.match}
	case x < 94:
		m.Type = itch.TypeStockTradingAction
		m.StockTradingAction = itch.StockTradingAction{Stock: itch.StockFromString("H"), TradingState: "HPQTT"[f.r.IntN(5)]}
	case x < 96:
		m.Type = itch.TypeOperationalHalt
		m.OperationalHalt = itch.OperationalHalt{Stock: itch.StockFromString("OH"), MarketCode: "QQBX"[f.r.IntN(4)], OperationalHaltAction: "HT"[f.r.IntN(2)]}
	case x < 98:
		m.Type = itch.TypeStockDirectory
		m.StockDirectory = itch.StockDirectory{Stock: itch.StockFromString("DIR" + string(rune('A'+m.StockLocate)))}
	default:
		m.Type = itch.TypeNOII
		m.NOII = itch.NOII{Stock: itch.StockFromString("I"), FarPrice: f.price()}
	}
}

// realFlow generates realistic order flow for benchmarks: many books with
// random-walking mids, adds clustered near the touch, and a mix of cancels
// (~40%), executions and replaces, keeping about liveTarget orders live.
type realFlow struct {
	r          *rand.Rand
	mids       []uint32
	live       []uint64 // live references
	where      map[uint64]realOrder
	nextRef    uint64
	match      uint64
	liveTarget int
	ts         uint64
}

type realOrder struct {
	locate uint16
	side   byte
	price  uint32
	shares uint32
	pos    int // index in live
}

func newRealFlow(seed uint64, books, liveTarget int) *realFlow {
	f := &realFlow{
		r:          rand.New(rand.NewPCG(seed, 7)),
		where:      map[uint64]realOrder{},
		nextRef:    1_000_000,
		liveTarget: liveTarget,
	}
	for i := 0; i < books; i++ {
		f.mids = append(f.mids, uint32(100_000+f.r.IntN(5_000_000))/100*100)
	}
	return f
}

const tick = 100 // $0.01 in Price(4) units

// quotePrice returns a price on side near the book's mid: mostly within a
// few ticks of the touch, with a geometric tail.
func (f *realFlow) quotePrice(loc uint16, side byte) uint32 {
	mid := f.mids[loc-1]
	d := uint32(1)
	for d < 200 && f.r.IntN(10) < 6 {
		d++
	}
	if side == 'B' {
		return mid - d*tick
	}
	return mid + d*tick
}

func (f *realFlow) header(m *itch.Message, t byte, loc uint16) {
	f.ts += uint64(1 + f.r.IntN(2000))
	m.Header = itch.Header{Type: t, StockLocate: loc, Timestamp: f.ts % (itch.TimestampMax + 1)}
}

func (f *realFlow) addLive(ref uint64, o realOrder) {
	o.pos = len(f.live)
	f.live = append(f.live, ref)
	f.where[ref] = o
}

func (f *realFlow) removeLive(ref uint64) {
	o := f.where[ref]
	last := f.live[len(f.live)-1]
	f.live[o.pos] = last
	lo := f.where[last]
	lo.pos = o.pos
	f.where[last] = lo
	f.live = f.live[:len(f.live)-1]
	delete(f.where, ref)
}

// pick returns a random live reference, biased towards recent ones.
func (f *realFlow) pick() uint64 {
	n := len(f.live)
	if f.r.IntN(3) > 0 {
		return f.live[n-1-f.r.IntN(min(n, 256))]
	}
	return f.live[f.r.IntN(n)]
}

// next fills m with the next message.
func (f *realFlow) next(m *itch.Message) {
	// Drift a mid now and then.
	if f.r.IntN(64) == 0 {
		i := f.r.IntN(len(f.mids))
		if f.r.IntN(2) == 0 && f.mids[i] > 300*tick {
			f.mids[i] -= tick
		} else {
			f.mids[i] += tick
		}
	}
	x := f.r.IntN(1000)
	if len(f.live) < f.liveTarget/2 {
		x = 0 // build the book up
	}
	if len(f.live) > 2*f.liveTarget {
		x = 500 // drain
	}
	switch {
	case x < 430: // add
		loc := uint16(1 + f.r.IntN(len(f.mids)))
		side := byte('B')
		if f.r.IntN(2) == 0 {
			side = 'S'
		}
		t := itch.TypeAddOrder
		if x < 20 {
			t = itch.TypeAddOrderMPID
		}
		f.header(m, t, loc)
		ref := f.nextRef
		f.nextRef++
		o := realOrder{locate: loc, side: side, price: f.quotePrice(loc, side), shares: uint32(100 * (1 + f.r.IntN(10)))}
		m.AddOrder = itch.AddOrder{OrderRef: ref, Side: side, Shares: o.shares, Stock: itch.StockFromString("SYM"), Price: o.price}
		f.addLive(ref, o)
	case x < 800: // delete
		ref := f.pick()
		o := f.where[ref]
		f.header(m, itch.TypeOrderDelete, o.locate)
		m.OrderDelete = itch.OrderDelete{OrderRef: ref}
		f.removeLive(ref)
	case x < 830: // partial cancel
		ref := f.pick()
		o := f.where[ref]
		f.header(m, itch.TypeOrderCancel, o.locate)
		c := max(o.shares/2, 1)
		m.OrderCancel = itch.OrderCancel{OrderRef: ref, Shares: c}
		if c == o.shares {
			f.removeLive(ref)
		} else {
			o.shares -= c
			f.where[ref] = o
		}
	case x < 890: // execution: E, or C for x in [880, 890)
		ref := f.pick()
		o := f.where[ref]
		f.match++
		ex := min(o.shares, 100)
		if x < 880 {
			f.header(m, itch.TypeOrderExecuted, o.locate)
			m.OrderExecuted = itch.OrderExecuted{OrderRef: ref, Shares: ex, MatchNumber: f.match}
		} else {
			f.header(m, itch.TypeOrderExecutedWithPrice, o.locate)
			m.OrderExecutedWithPrice = itch.OrderExecutedWithPrice{OrderRef: ref, Shares: ex, MatchNumber: f.match, Printable: 'Y', Price: o.price}
		}
		if ex == o.shares {
			f.removeLive(ref)
		} else {
			o.shares -= ex
			f.where[ref] = o
		}
	case x < 985: // replace
		ref := f.pick()
		o := f.where[ref]
		f.header(m, itch.TypeOrderReplace, o.locate)
		n := o
		n.price = f.quotePrice(o.locate, o.side)
		n.shares = uint32(100 * (1 + f.r.IntN(10)))
		nref := f.nextRef
		f.nextRef++
		m.OrderReplace = itch.OrderReplace{OrigOrderRef: ref, NewOrderRef: nref, Shares: n.shares, Price: n.price}
		f.removeLive(ref)
		f.addLive(nref, n)
	default: // hidden trade
		loc := uint16(1 + f.r.IntN(len(f.mids)))
		f.header(m, itch.TypeTrade, loc)
		f.match++
		m.Trade = itch.Trade{Side: 'B', Shares: 100, Stock: itch.StockFromString("SYM"), Price: f.mids[loc-1], MatchNumber: f.match}
	}
}

// drain fills m with a delete of some live order; false when none is left.
func (f *realFlow) drain(m *itch.Message) bool {
	if len(f.live) == 0 {
		return false
	}
	ref := f.live[len(f.live)-1]
	o := f.where[ref]
	f.header(m, itch.TypeOrderDelete, o.locate)
	m.OrderDelete = itch.OrderDelete{OrderRef: ref}
	f.removeLive(ref)
	return true
}

// realStream encodes n realistic messages followed by deletes of every
// order still live, so the stream leaves the books empty and can be
// replayed. Each message is prefixed by its 2-byte length as in MoldUDP64.
// It returns the stream and its message count.
func realStream(seed uint64, books, liveTarget, n int) ([]byte, int) {
	f := newRealFlow(seed, books, liveTarget)
	var m itch.Message
	buf := make([]byte, 0, n*36)
	count := 0
	emit := func() {
		buf = binary.BigEndian.AppendUint16(buf, uint16(m.Len()))
		buf = m.Append(buf)
		count++
	}
	for i := 0; i < n; i++ {
		f.next(&m)
		emit()
	}
	for f.drain(&m) {
		emit()
	}
	return buf, count
}
