package book

import (
	"errors"
	"testing"
	"unsafe"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

func newBooks(t testing.TB, cfg Config) *Books {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var smallCfg = Config{OrdersMax: 64, BooksMax: 4, LevelsMax: 16}

func mAdd(loc uint16, ref uint64, side byte, shares, price uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeAddOrder, StockLocate: loc},
		AddOrder: itch.AddOrder{OrderRef: ref, Side: side, Shares: shares, Stock: itch.StockFromString("TEST"), Price: price}}
}

func mAddF(loc uint16, ref uint64, side byte, shares, price uint32) *itch.Message {
	m := mAdd(loc, ref, side, shares, price)
	m.Type = itch.TypeAddOrderMPID
	m.AddOrder.Attribution = [4]byte{'G', 'S', 'C', 'O'}
	return m
}

func mExec(ref uint64, shares uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOrderExecuted, StockLocate: 999},
		OrderExecuted: itch.OrderExecuted{OrderRef: ref, Shares: shares, MatchNumber: 1}}
}

func mExecPrice(ref uint64, shares uint32, printable byte, price uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOrderExecutedWithPrice, StockLocate: 999},
		OrderExecutedWithPrice: itch.OrderExecutedWithPrice{OrderRef: ref, Shares: shares, Printable: printable, Price: price}}
}

func mCancel(ref uint64, shares uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOrderCancel, StockLocate: 999},
		OrderCancel: itch.OrderCancel{OrderRef: ref, Shares: shares}}
}

func mDelete(ref uint64) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOrderDelete, StockLocate: 999},
		OrderDelete: itch.OrderDelete{OrderRef: ref}}
}

func mReplace(orig, nref uint64, shares, price uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOrderReplace, StockLocate: 999},
		OrderReplace: itch.OrderReplace{OrigOrderRef: orig, NewOrderRef: nref, Shares: shares, Price: price}}
}

func mTrade(loc uint16, shares, price uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeTrade, StockLocate: loc},
		Trade: itch.Trade{Side: 'B', Shares: shares, Stock: itch.StockFromString("TEST"), Price: price}}
}

func mCross(loc uint16, shares uint64, price uint32) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeCrossTrade, StockLocate: loc},
		CrossTrade: itch.CrossTrade{Shares: shares, Stock: itch.StockFromString("TEST"), CrossPrice: price, CrossType: 'O'}}
}

func mAction(loc uint16, state byte) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeStockTradingAction, StockLocate: loc},
		StockTradingAction: itch.StockTradingAction{Stock: itch.StockFromString("TEST"), TradingState: state}}
}

func mOpHalt(loc uint16, market, action byte) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeOperationalHalt, StockLocate: loc},
		OperationalHalt: itch.OperationalHalt{Stock: itch.StockFromString("TEST"), MarketCode: market, OperationalHaltAction: action}}
}

func mDirectory(loc uint16, sym string) *itch.Message {
	return &itch.Message{Header: itch.Header{Type: itch.TypeStockDirectory, StockLocate: loc},
		StockDirectory: itch.StockDirectory{Stock: itch.StockFromString(sym)}}
}

// step applies m and checks the reported locate and change flag.
func step(t *testing.T, b *Books, m *itch.Message, wantLoc uint16, wantChanged bool) {
	t.Helper()
	loc, changed := b.Apply(m)
	if loc != wantLoc || changed != wantChanged {
		t.Fatalf("Apply(%q) = (%d, %v), want (%d, %v)", m.Type, loc, changed, wantLoc, wantChanged)
	}
}

func wantTop(t *testing.T, b *Books, loc uint16, want Top) {
	t.Helper()
	got, ok := b.Top(loc)
	if !ok {
		t.Fatalf("Top(%d): no book", loc)
	}
	if got != want {
		t.Fatalf("Top(%d)\n got %+v\nwant %+v", loc, got, want)
	}
}

func TestEveryMessage(t *testing.T) {
	b := newBooks(t, smallCfg)
	step(t, b, mDirectory(7, "AAPL"), 7, false)
	wantTop(t, b, 7, Top{})
	if s := b.Symbol(7); itch.Symbol(s) != "AAPL" {
		t.Fatalf("Symbol = %q", s)
	}

	// Adds build both sides; an add below the best bid leaves the top alone.
	step(t, b, mAdd(7, 1, 'B', 100, 10000), 7, true)
	step(t, b, mAdd(7, 2, 'B', 200, 10100), 7, true)
	step(t, b, mAdd(7, 3, 'B', 50, 10000), 7, false)
	step(t, b, mAdd(7, 4, 'S', 70, 10300), 7, true)
	step(t, b, mAddF(7, 5, 'S', 30, 10200), 7, true)
	step(t, b, mAdd(7, 6, 'S', 40, 10200), 7, true)
	wantTop(t, b, 7, Top{Bid: 10100, BidSize: 200, BidOrders: 1, BidLevels: 2,
		Ask: 10200, AskSize: 70, AskOrders: 2, AskLevels: 2, Orders: 6})
	if s := b.Symbol(7); itch.Symbol(s) != "AAPL" {
		t.Fatalf("an add overwrote the directory symbol: %q", s)
	}

	// E: partial, then full; Last = the order's price. The message's
	// locate (999) is ignored in favour of the order's book.
	step(t, b, mExec(2, 50), 7, true)
	wantTop(t, b, 7, Top{Bid: 10100, BidSize: 150, BidOrders: 1, BidLevels: 2,
		Ask: 10200, AskSize: 70, AskOrders: 2, AskLevels: 2, Last: 10100, Orders: 6})
	step(t, b, mExec(2, 150), 7, true)
	wantTop(t, b, 7, Top{Bid: 10000, BidSize: 150, BidOrders: 2, BidLevels: 1,
		Ask: 10200, AskSize: 70, AskOrders: 2, AskLevels: 2, Last: 10100, Orders: 5})

	// C: non-printable leaves Last; printable sets it to the C price.
	step(t, b, mExecPrice(5, 10, 'N', 10150), 7, true)
	wantTop(t, b, 7, Top{Bid: 10000, BidSize: 150, BidOrders: 2, BidLevels: 1,
		Ask: 10200, AskSize: 60, AskOrders: 2, AskLevels: 2, Last: 10100, Orders: 5})
	step(t, b, mExecPrice(5, 20, 'Y', 10199), 7, true)
	wantTop(t, b, 7, Top{Bid: 10000, BidSize: 150, BidOrders: 2, BidLevels: 1,
		Ask: 10200, AskSize: 40, AskOrders: 1, AskLevels: 2, Last: 10199, Orders: 4})

	// X: below the top changes nothing visible; oversized removes.
	step(t, b, mCancel(4, 20), 7, false)
	step(t, b, mCancel(6, 100), 7, true)
	wantTop(t, b, 7, Top{Bid: 10000, BidSize: 150, BidOrders: 2, BidLevels: 1,
		Ask: 10300, AskSize: 50, AskOrders: 1, AskLevels: 1, Last: 10199, Orders: 3})

	// D.
	step(t, b, mDelete(1), 7, true)
	wantTop(t, b, 7, Top{Bid: 10000, BidSize: 50, BidOrders: 1, BidLevels: 1,
		Ask: 10300, AskSize: 50, AskOrders: 1, AskLevels: 1, Last: 10199, Orders: 2})

	// U: the new order keeps the original's side and book.
	step(t, b, mReplace(3, 7, 100, 10050), 7, true)
	wantTop(t, b, 7, Top{Bid: 10050, BidSize: 100, BidOrders: 1, BidLevels: 1,
		Ask: 10300, AskSize: 50, AskOrders: 1, AskLevels: 1, Last: 10199, Orders: 2})
	step(t, b, mDelete(3), 999, false) // the original is gone

	// U to the same price and size: the top is unchanged.
	step(t, b, mReplace(7, 8, 100, 10050), 7, false)

	// P and Q set Last when shares > 0 and leave the book alone.
	step(t, b, mTrade(7, 100, 10060), 7, true)
	step(t, b, mTrade(7, 0, 10070), 7, false)
	step(t, b, mCross(7, 0, 10070), 7, false)
	step(t, b, mCross(7, 1000, 10080), 7, true)
	step(t, b, mCross(7, 1000, 10080), 7, false) // same Last
	wantTop(t, b, 7, Top{Bid: 10050, BidSize: 100, BidOrders: 1, BidLevels: 1,
		Ask: 10300, AskSize: 50, AskOrders: 1, AskLevels: 1, Last: 10080, Orders: 2})

	// B is counted; Last stays.
	step(t, b, &itch.Message{Header: itch.Header{Type: itch.TypeBrokenTrade, StockLocate: 7}}, 7, false)

	// H and h.
	step(t, b, mAction(7, 'H'), 7, true)
	step(t, b, mAction(7, 'H'), 7, false)
	if tp, _ := b.Top(7); !tp.Halted || tp.TradingState != 'H' {
		t.Fatalf("after H: %+v", tp)
	}
	step(t, b, mAction(7, 'T'), 7, true)
	step(t, b, mOpHalt(7, 'Q', 'H'), 7, true)
	step(t, b, mOpHalt(7, 'B', 'T'), 7, false) // another market: ignored
	if tp, _ := b.Top(7); !tp.Halted || tp.TradingState != 'T' {
		t.Fatalf("after h: %+v", tp)
	}
	step(t, b, mAction(7, 'P'), 7, true) // TradingState changed
	step(t, b, mAction(7, 'T'), 7, true)
	step(t, b, mOpHalt(7, 'Q', 'T'), 7, true)
	if tp, _ := b.Top(7); tp.Halted {
		t.Fatalf("after resume: %+v", tp)
	}

	// Messages that do not touch books.
	for _, ty := range []byte{itch.TypeSystemEvent, itch.TypeRegSHO, itch.TypeNOII, itch.TypeRPII,
		itch.TypeMWCBDecline, itch.TypeMWCBStatus, itch.TypeIPOQuotingPeriod, itch.TypeLULDAuctionCollar,
		itch.TypeMarketParticipantPosition, itch.TypeDLCRPriceDiscovery} {
		step(t, b, &itch.Message{Header: itch.Header{Type: ty, StockLocate: 7}}, 7, false)
	}

	want := Stats{Orders: 2, Books: 1, UnknownOrder: 1, Oversized: 1, Broken: 1}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats\n got %+v\nwant %+v", s, want)
	}
}

func TestDuplicateAddReplaces(t *testing.T) {
	b := newBooks(t, smallCfg)
	step(t, b, mAdd(1, 1, 'B', 100, 10000), 1, true)
	// Re-delivery: nothing changes.
	step(t, b, mAdd(1, 1, 'B', 100, 10000), 1, false)
	wantTop(t, b, 1, Top{Bid: 10000, BidSize: 100, BidOrders: 1, BidLevels: 1, Orders: 1})
	// A different order under the same reference replaces the first.
	step(t, b, mAdd(1, 1, 'S', 50, 10500), 1, true)
	wantTop(t, b, 1, Top{Ask: 10500, AskSize: 50, AskOrders: 1, AskLevels: 1, Orders: 1})
	// Even on another book.
	step(t, b, mAdd(2, 1, 'B', 10, 9000), 2, true)
	wantTop(t, b, 1, Top{})
	wantTop(t, b, 2, Top{Bid: 9000, BidSize: 10, BidOrders: 1, BidLevels: 1, Orders: 1})
	// U onto a live reference replaces that order too.
	step(t, b, mAdd(2, 2, 'B', 20, 9100), 2, true)
	step(t, b, mReplace(2, 1, 30, 9200), 2, true)
	wantTop(t, b, 2, Top{Bid: 9200, BidSize: 30, BidOrders: 1, BidLevels: 1, Orders: 1})
	if s := b.Stats(); s.DuplicateOrder != 4 || s.Orders != 1 {
		t.Fatalf("Stats %+v", s)
	}
}

func TestRejectedAndUnknown(t *testing.T) {
	b := newBooks(t, smallCfg)
	step(t, b, mAdd(1, 1, 'Z', 100, 10000), 1, false)
	step(t, b, mAdd(1, 2, 'B', 0, 10000), 1, false)
	step(t, b, mAdd(1, 3, 'S', 100, 0), 1, false)
	step(t, b, mExec(9, 1), 999, false)
	step(t, b, mExecPrice(9, 1, 'N', 100), 999, false)
	step(t, b, mCancel(9, 1), 999, false)
	step(t, b, mDelete(9), 999, false)
	step(t, b, mReplace(9, 10, 1, 100), 999, false)
	if _, ok := b.Top(999); ok {
		t.Fatal("a message for an unknown order created a book")
	}
	// A printable C for an unknown order still prints on its locate.
	m := mExecPrice(9, 5, 'Y', 4321)
	m.StockLocate = 3
	step(t, b, m, 3, true)
	wantTop(t, b, 3, Top{Last: 4321})
	// U whose new order is invalid: the original is still removed.
	step(t, b, mAdd(1, 4, 'B', 100, 10000), 1, true)
	step(t, b, mReplace(4, 5, 0, 10000), 1, true)
	wantTop(t, b, 1, Top{})
	want := Stats{Books: 2, UnknownOrder: 6, Rejected: 4}
	if s := b.Stats(); s != want {
		t.Fatalf("Stats\n got %+v\nwant %+v", s, want)
	}
}

func TestIndexFullCounted(t *testing.T) {
	b := newBooks(t, Config{OrdersMax: 2, BooksMax: 1, LevelsMax: 4})
	step(t, b, mAdd(1, 1, 'B', 100, 10000), 1, true)
	step(t, b, mAdd(1, 2, 'B', 100, 10100), 1, true)
	step(t, b, mAdd(1, 3, 'B', 100, 10200), 1, false)
	if s := b.Stats(); s.IndexFull != 1 || s.Orders != 2 {
		t.Fatalf("Stats %+v", s)
	}
	step(t, b, mDelete(3), 999, false) // dropped order is unknown
	// U at capacity works: the original frees its slot first.
	step(t, b, mReplace(2, 4, 100, 10300), 1, true)
	step(t, b, mDelete(1), 1, false)
	step(t, b, mAdd(1, 5, 'S', 100, 10500), 1, true)
	wantTop(t, b, 1, Top{Bid: 10300, BidSize: 100, BidOrders: 1, BidLevels: 1,
		Ask: 10500, AskSize: 100, AskOrders: 1, AskLevels: 1, Orders: 2})
}

func TestBooksFullCounted(t *testing.T) {
	b := newBooks(t, Config{OrdersMax: 16, BooksMax: 2, LevelsMax: 4})
	step(t, b, mAdd(1, 1, 'B', 100, 10000), 1, true)
	step(t, b, mDirectory(2, "B"), 2, false)
	step(t, b, mAdd(3, 2, 'B', 100, 10000), 3, false)
	step(t, b, mTrade(3, 100, 10000), 3, false)
	if _, ok := b.Top(3); ok {
		t.Fatal("book beyond BooksMax exists")
	}
	if s := b.Stats(); s.BooksFull != 2 || s.Books != 2 || s.Orders != 1 {
		t.Fatalf("Stats %+v", s)
	}
}

func TestLevelsTruncation(t *testing.T) {
	b := newBooks(t, Config{OrdersMax: 64, BooksMax: 1, LevelsMax: 2})
	step(t, b, mAdd(1, 1, 'B', 100, 10000), 1, true)
	step(t, b, mAdd(1, 2, 'B', 100, 10100), 1, true)
	// Worse than both levels: kept in the index, not aggregated.
	step(t, b, mAdd(1, 3, 'B', 100, 9900), 1, false)
	wantTop(t, b, 1, Top{Bid: 10100, BidSize: 100, BidOrders: 1, BidLevels: 2, Orders: 3, Truncated: true})
	// Better: evicts the worst level (10000), which joins the truncated zone.
	step(t, b, mAdd(1, 4, 'B', 100, 10200), 1, true)
	step(t, b, mAdd(1, 5, 'B', 100, 10000), 1, false)
	wantTop(t, b, 1, Top{Bid: 10200, BidSize: 100, BidOrders: 1, BidLevels: 2, Orders: 5, Truncated: true})
	if s := b.Stats(); s.LevelsFull != 3 {
		t.Fatalf("LevelsFull = %d, want 3", s.LevelsFull)
	}
	// Orders beyond the floor can still be executed, cancelled, deleted.
	step(t, b, mCancel(1, 10), 1, false)
	step(t, b, mExec(1, 10), 1, true) // Last changes, levels do not
	step(t, b, mDelete(1), 1, false)
	step(t, b, mDelete(4), 1, true)
	step(t, b, mDelete(2), 1, true)
	// No aggregated bid left, but orders 3 and 5 remain unaggregated.
	wantTop(t, b, 1, Top{Last: 10000, Orders: 2, Truncated: true})
	step(t, b, mDelete(3), 1, false)
	step(t, b, mDelete(5), 1, false)
	// The side is empty: the floor resets and everything aggregates again.
	wantTop(t, b, 1, Top{Last: 10000})
	step(t, b, mAdd(1, 6, 'B', 100, 9000), 1, true)
	wantTop(t, b, 1, Top{Bid: 9000, BidSize: 100, BidOrders: 1, BidLevels: 1, Last: 10000, Orders: 1})

	// Asks: the better price is the lower one.
	step(t, b, mAdd(1, 10, 'S', 10, 10100), 1, true)
	step(t, b, mAdd(1, 11, 'S', 10, 10000), 1, true)
	step(t, b, mAdd(1, 12, 'S', 10, 10200), 1, false)
	step(t, b, mAdd(1, 13, 'S', 10, 9900), 1, true)
	wantTop(t, b, 1, Top{Bid: 9000, BidSize: 100, BidOrders: 1, BidLevels: 1,
		Ask: 9900, AskSize: 10, AskOrders: 1, AskLevels: 2, Last: 10000, Orders: 5, Truncated: true})
	step(t, b, mDelete(13), 1, true)
	wantTop(t, b, 1, Top{Bid: 9000, BidSize: 100, BidOrders: 1, BidLevels: 1,
		Ask: 10000, AskSize: 10, AskOrders: 1, AskLevels: 1, Last: 10000, Orders: 4, Truncated: true})
}

func TestEachAndReset(t *testing.T) {
	b := newBooks(t, smallCfg)
	step(t, b, mDirectory(300, "C"), 300, false)
	step(t, b, mAdd(5, 1, 'B', 1, 1), 5, true)
	step(t, b, mDirectory(70, "B"), 70, false)
	var locs []uint16
	var syms []string
	b.Each(func(loc uint16, sym [8]byte, tp Top) {
		locs = append(locs, loc)
		syms = append(syms, itch.Symbol(sym))
		if loc == 5 && tp.Bid != 1 {
			t.Errorf("Each gave Top %+v for 5", tp)
		}
	})
	if len(locs) != 3 || locs[0] != 5 || locs[1] != 70 || locs[2] != 300 {
		t.Fatalf("Each locates %v", locs)
	}
	if syms[0] != "TEST" || syms[1] != "B" || syms[2] != "C" {
		t.Fatalf("Each symbols %q", syms)
	}
	b.Reset()
	b.Each(func(loc uint16, _ [8]byte, _ Top) { t.Errorf("book %d after Reset", loc) })
	if s := b.Stats(); s != (Stats{}) {
		t.Fatalf("Stats after Reset %+v", s)
	}
	step(t, b, mDelete(1), 999, false)
	// All BooksMax slabs are available again.
	for loc := uint16(10); loc < 10+uint16(smallCfg.BooksMax); loc++ {
		step(t, b, mAdd(loc, uint64(loc), 'S', 1, 5), loc, true)
	}
	if s := b.Stats(); s.BooksFull != 0 || s.Books != smallCfg.BooksMax {
		t.Fatalf("Stats %+v", s)
	}
}

func TestConfig(t *testing.T) {
	bad := []Config{
		{}, {OrdersMax: 1, BooksMax: 1}, {OrdersMax: 1, LevelsMax: 1}, {BooksMax: 1, LevelsMax: 1},
		{OrdersMax: OrdersMaxLimit + 1, BooksMax: 1, LevelsMax: 1},
		{OrdersMax: 1, BooksMax: BooksMaxLimit + 1, LevelsMax: 1},
		{OrdersMax: 1, BooksMax: 1, LevelsMax: LevelsMaxLimit + 1},
		{OrdersMax: -1, BooksMax: 1, LevelsMax: 1},
		{OrdersMax: 1, BooksMax: BooksMaxLimit, LevelsMax: LevelsMaxLimit},
	}
	for _, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) err = %v, want ErrConfig", c, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
	if got := (Config{OrdersMax: 1000, BooksMax: 10, LevelsMax: 8}).MemoryBytes(); got != 2048*24+10*2*(8+16)*24+BooksMaxLimit*bookBytes {
		t.Errorf("MemoryBytes = %d", got)
	}
}

func TestLayout(t *testing.T) {
	if n := unsafe.Sizeof(book{}); n != bookBytes {
		t.Errorf("book is %d bytes, want %d", n, bookBytes)
	}
	if n := unsafe.Sizeof(slot{}); n != 24 {
		t.Errorf("slot is %d bytes, want 24", n)
	}
	if n := unsafe.Sizeof(level{}); n != 16 {
		t.Errorf("level is %d bytes, want 16", n)
	}
}

func TestSearchKeys(t *testing.T) {
	for n := 0; n < 60; n++ {
		// A side's keys behind a window of zero pad, as in Books.keys.
		ks := make([]uint32, levelWindow+n)
		for i := 0; i < n; i++ {
			ks[levelWindow+i] = uint32(10 * (i + 1))
		}
		for key := uint32(0); key <= uint32(10*(n+2)); key++ {
			want := 0
			for want < n && ks[levelWindow+want] <= key {
				want++
			}
			if got := searchKeys(ks, n, key); got != want {
				t.Fatalf("n=%d key=%d: searchKeys = %d, want %d", n, key, got, want)
			}
		}
	}
	// Extreme keys: 0 and the top of the range.
	ks := make([]uint32, levelWindow+3)
	copy(ks[levelWindow:], []uint32{0, 5, ^uint32(0)})
	for _, c := range []struct {
		key  uint32
		want int
	}{{0, 1}, {4, 1}, {5, 2}, {^uint32(0) - 1, 2}, {^uint32(0), 3}} {
		if got := searchKeys(ks, 3, c.key); got != c.want {
			t.Errorf("key %d: %d, want %d", c.key, got, c.want)
		}
	}
}

// TestApplyAllocs asserts that decode + apply of realistic flow, including
// book creation, never allocates.
func TestApplyAllocs(t *testing.T) {
	stream, count := realStream(11, 50, 2000, 20000)
	b := newBooks(t, Config{OrdersMax: 1 << 14, BooksMax: 64, LevelsMax: 256})
	var m itch.Message
	off := 0
	allocs := testing.AllocsPerRun(count, func() {
		n := int(stream[off])<<8 | int(stream[off+1])
		if err := m.Decode(stream[off+2 : off+2+n]); err != nil {
			t.Fatal(err)
		}
		b.Apply(&m)
		off += 2 + n
		if off == len(stream) {
			off = 0
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode+Apply allocates %.2f per message", allocs)
	}
	allocs = testing.AllocsPerRun(10, func() {
		b.Top(1)
		b.Stats()
		b.Each(func(uint16, [8]byte, Top) {})
	})
	if allocs != 0 {
		t.Fatalf("Top/Stats/Each allocate %.2f", allocs)
	}
}
