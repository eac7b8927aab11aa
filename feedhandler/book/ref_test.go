package book

import (
	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// refModel is a deliberately simple map-based model of the documented
// semantics, without depth bounds, for differential testing.
type refModel struct {
	ordersMax, booksMax int
	orders              map[uint64]*refOrder
	books               map[uint16]*refBook
	stats               Stats
}

type refOrder struct {
	locate        uint16
	side          byte // 'B' or 'S'
	price, shares uint32
}

type refBook struct {
	symbol   [8]byte
	last     uint32
	state    byte
	opHalted bool
}

func newRefModel(cfg Config) *refModel {
	return &refModel{
		ordersMax: cfg.OrdersMax,
		booksMax:  cfg.BooksMax,
		orders:    map[uint64]*refOrder{},
		books:     map[uint16]*refBook{},
	}
}

func (r *refModel) book(loc uint16) *refBook {
	if bk, ok := r.books[loc]; ok {
		return bk
	}
	if len(r.books) >= r.booksMax {
		r.stats.BooksFull++
		return nil
	}
	bk := &refBook{}
	r.books[loc] = bk
	return bk
}

func (r *refModel) setSymbol(bk *refBook, s [8]byte) {
	if bk.symbol == ([8]byte{}) {
		bk.symbol = s
	}
}

func (r *refModel) add(loc uint16, side byte, ref uint64, shares, price uint32) {
	if shares == 0 || price == 0 {
		r.stats.Rejected++
		return
	}
	if _, ok := r.orders[ref]; ok {
		r.stats.DuplicateOrder++
	} else if len(r.orders) >= r.ordersMax {
		r.stats.IndexFull++
		return
	}
	r.orders[ref] = &refOrder{locate: loc, side: side, price: price, shares: shares}
}

func (r *refModel) reduce(ref uint64, d uint32) {
	o := r.orders[ref]
	if d < o.shares {
		o.shares -= d
		return
	}
	if d > o.shares {
		r.stats.Oversized++
	}
	delete(r.orders, ref)
}

// apply returns the locate the message acted on.
func (r *refModel) apply(m *itch.Message) uint16 {
	switch m.Type {
	case itch.TypeAddOrder, itch.TypeAddOrderMPID:
		a := m.AddOrder
		if a.Side != 'B' && a.Side != 'S' {
			r.stats.Rejected++
			return m.StockLocate
		}
		bk := r.book(m.StockLocate)
		if bk == nil {
			return m.StockLocate
		}
		r.setSymbol(bk, a.Stock)
		r.add(m.StockLocate, a.Side, a.OrderRef, a.Shares, a.Price)
	case itch.TypeOrderDelete:
		o, ok := r.orders[m.OrderDelete.OrderRef]
		if !ok {
			r.stats.UnknownOrder++
			return m.StockLocate
		}
		r.reduce(m.OrderDelete.OrderRef, o.shares)
		return o.locate
	case itch.TypeOrderCancel:
		o, ok := r.orders[m.OrderCancel.OrderRef]
		if !ok {
			r.stats.UnknownOrder++
			return m.StockLocate
		}
		r.reduce(m.OrderCancel.OrderRef, m.OrderCancel.Shares)
		return o.locate
	case itch.TypeOrderExecuted:
		e := m.OrderExecuted
		o, ok := r.orders[e.OrderRef]
		if !ok {
			r.stats.UnknownOrder++
			return m.StockLocate
		}
		loc, price := o.locate, o.price
		r.reduce(e.OrderRef, e.Shares)
		if e.Shares > 0 {
			r.books[loc].last = price
		}
		return loc
	case itch.TypeOrderExecutedWithPrice:
		c := m.OrderExecutedWithPrice
		printable := c.Printable == 'Y' && c.Shares > 0 && c.Price != 0
		o, ok := r.orders[c.OrderRef]
		if !ok {
			r.stats.UnknownOrder++
			if printable {
				if bk := r.book(m.StockLocate); bk != nil {
					bk.last = c.Price
				}
			}
			return m.StockLocate
		}
		loc := o.locate
		r.reduce(c.OrderRef, c.Shares)
		if printable {
			r.books[loc].last = c.Price
		}
		return loc
	case itch.TypeOrderReplace:
		u := m.OrderReplace
		o, ok := r.orders[u.OrigOrderRef]
		if !ok {
			r.stats.UnknownOrder++
			return m.StockLocate
		}
		loc, side := o.locate, o.side
		delete(r.orders, u.OrigOrderRef)
		r.add(loc, side, u.NewOrderRef, u.Shares, u.Price)
		return loc
	case itch.TypeTrade:
		p := m.Trade
		if p.Shares == 0 || p.Price == 0 {
			return m.StockLocate
		}
		if bk := r.book(m.StockLocate); bk != nil {
			r.setSymbol(bk, p.Stock)
			bk.last = p.Price
		}
	case itch.TypeCrossTrade:
		q := m.CrossTrade
		if q.Shares == 0 || q.CrossPrice == 0 {
			return m.StockLocate
		}
		if bk := r.book(m.StockLocate); bk != nil {
			r.setSymbol(bk, q.Stock)
			bk.last = q.CrossPrice
		}
	case itch.TypeBrokenTrade:
		r.stats.Broken++
	case itch.TypeStockTradingAction:
		if bk := r.book(m.StockLocate); bk != nil {
			r.setSymbol(bk, m.StockTradingAction.Stock)
			bk.state = m.StockTradingAction.TradingState
		}
	case itch.TypeOperationalHalt:
		h := m.OperationalHalt
		if h.MarketCode != 'Q' {
			return m.StockLocate
		}
		if bk := r.book(m.StockLocate); bk != nil {
			r.setSymbol(bk, h.Stock)
			bk.opHalted = h.OperationalHaltAction == 'H'
		}
	case itch.TypeStockDirectory:
		if bk := r.book(m.StockLocate); bk != nil {
			bk.symbol = m.StockDirectory.Stock
		}
	}
	return m.StockLocate
}

// top computes a book's top by brute force.
func (r *refModel) top(loc uint16) (Top, bool) {
	bk, ok := r.books[loc]
	if !ok {
		return Top{}, false
	}
	t := Top{
		Last:         bk.last,
		TradingState: bk.state,
		Halted:       (bk.state != 0 && bk.state != 'T') || bk.opHalted,
	}
	bidLevels := map[uint32]bool{}
	askLevels := map[uint32]bool{}
	for _, o := range r.orders {
		if o.locate != loc {
			continue
		}
		t.Orders++
		if o.side == 'B' {
			bidLevels[o.price] = true
			switch {
			case o.price > t.Bid:
				t.Bid, t.BidSize, t.BidOrders = o.price, uint64(o.shares), 1
			case o.price == t.Bid:
				t.BidSize += uint64(o.shares)
				t.BidOrders++
			}
		} else {
			askLevels[o.price] = true
			switch {
			case t.Ask == 0 || o.price < t.Ask:
				t.Ask, t.AskSize, t.AskOrders = o.price, uint64(o.shares), 1
			case o.price == t.Ask:
				t.AskSize += uint64(o.shares)
				t.AskOrders++
			}
		}
	}
	t.BidLevels, t.AskLevels = len(bidLevels), len(askLevels)
	return t, true
}

func (r *refModel) statsView() Stats {
	s := r.stats
	s.Orders = len(r.orders)
	s.Books = len(r.books)
	return s
}
