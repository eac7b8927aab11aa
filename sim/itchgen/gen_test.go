package itchgen

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// refOrder and refBook are a deliberately naive, map-based book used to
// check the generator's messages and its reference state independently of
// its own data structures.
type refOrder struct {
	locate uint16
	buy    bool
	price  uint32
	shares uint32
}

type refBook struct {
	bids, asks map[uint32]uint64 // price → shares
	orders     int
	last       uint32
	state      byte
}

type checker struct {
	t       *testing.T
	k       int
	stocks  map[uint16][8]byte
	orders  map[uint64]*refOrder
	books   []refBook
	lastTS  uint64
	n       uint64
	events  []byte // system event codes in order
	byType  map[byte]uint64
	maxRef  uint64
	matches map[uint64]bool
	buf     []byte
	dec     itch.Message
}

func newChecker(t *testing.T, symbols []string) *checker {
	c := &checker{t: t, k: len(symbols), stocks: map[uint16][8]byte{}, orders: map[uint64]*refOrder{},
		books: make([]refBook, len(symbols)+1), byType: map[byte]uint64{}, matches: map[uint64]bool{}}
	for i := range c.books {
		c.books[i] = refBook{bids: map[uint32]uint64{}, asks: map[uint32]uint64{}, state: 'T'}
	}
	for i, s := range symbols {
		c.stocks[uint16(i+1)] = itch.StockFromString(s)
	}
	return c
}

func (c *checker) failf(m *itch.Message, format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf("message %d (%c at %d, locate %d): %s", c.n, m.Type, m.Timestamp, m.StockLocate, fmt.Sprintf(format, args...))
}

func best(levels map[uint32]uint64, buy bool) (uint32, uint64) {
	var p uint32
	for px := range levels {
		if p == 0 || (buy && px > p) || (!buy && px < p) {
			p = px
		}
	}
	return p, levels[p]
}

func (c *checker) side(o *refOrder) map[uint32]uint64 {
	if o.buy {
		return c.books[o.locate].bids
	}
	return c.books[o.locate].asks
}

func (c *checker) take(o *refOrder, n uint32) {
	lv := c.side(o)
	lv[o.price] -= uint64(n)
	if lv[o.price] == 0 {
		delete(lv, o.price)
	}
	o.shares -= n
}

func (c *checker) rest(m *itch.Message, ref uint64, o *refOrder) {
	if _, dup := c.orders[ref]; dup || ref <= c.maxRef {
		c.failf(m, "order ref %d reused", ref)
	}
	c.maxRef = ref
	if o.price == 0 || o.price%TickUnits != 0 || o.shares == 0 {
		c.failf(m, "bad price %d or shares %d", o.price, o.shares)
	}
	b := &c.books[o.locate]
	if o.buy {
		if a, _ := best(b.asks, false); a != 0 && o.price >= a {
			c.failf(m, "buy at %d crosses ask %d", o.price, a)
		}
	} else if bb, _ := best(b.bids, true); bb != 0 && o.price <= bb {
		c.failf(m, "sell at %d crosses bid %d", o.price, bb)
	}
	c.orders[ref] = o
	c.side(o)[o.price] += uint64(o.shares)
	b.orders++
}

func (c *checker) live(m *itch.Message, ref uint64) *refOrder {
	o := c.orders[ref]
	if o == nil {
		c.failf(m, "order ref %d is not live", ref)
	}
	if o.locate != m.StockLocate {
		c.failf(m, "order %d belongs to locate %d", ref, o.locate)
	}
	return o
}

func (c *checker) remove(ref uint64, o *refOrder) {
	c.take(o, o.shares)
	delete(c.orders, ref)
	c.books[o.locate].orders--
}

func (c *checker) match(m *itch.Message, mn uint64) {
	if mn == 0 || c.matches[mn] {
		c.failf(m, "match number %d zero or reused", mn)
	}
	c.matches[mn] = true
}

func (c *checker) stock(m *itch.Message, s [8]byte) {
	if c.stocks[m.StockLocate] != s {
		c.failf(m, "stock %q does not match locate %d", s, m.StockLocate)
	}
}

// apply checks one message and applies it to the naive books.
func (c *checker) apply(m *itch.Message) {
	c.t.Helper()
	c.n++
	c.byType[m.Type]++
	if m.Timestamp <= c.lastTS && c.n > 1 {
		c.failf(m, "timestamp %d not after %d", m.Timestamp, c.lastTS)
	}
	c.lastTS = m.Timestamp
	// The message must survive the wire.
	c.buf = m.Append(c.buf[:0])
	if err := c.dec.Decode(c.buf); err != nil {
		c.failf(m, "decode: %v", err)
	}
	if again := c.dec.Append(nil); !bytes.Equal(again, c.buf) {
		c.failf(m, "wire round trip differs")
	}
	switch m.Type {
	case itch.TypeSystemEvent, itch.TypeMWCBDecline, itch.TypeMWCBStatus:
		if m.StockLocate != 0 {
			c.failf(m, "market-wide message with a locate")
		}
		if m.Type == itch.TypeSystemEvent {
			c.events = append(c.events, m.SystemEvent.EventCode)
		}
		return
	}
	if m.StockLocate == 0 || int(m.StockLocate) > c.k {
		c.failf(m, "locate out of 1..%d", c.k)
	}
	b := &c.books[m.StockLocate]
	switch m.Type {
	case itch.TypeAddOrder, itch.TypeAddOrderMPID:
		a := &m.AddOrder
		c.stock(m, a.Stock)
		if a.Side != 'B' && a.Side != 'S' {
			c.failf(m, "side %q", a.Side)
		}
		c.rest(m, a.OrderRef, &refOrder{locate: m.StockLocate, buy: a.Side == 'B', price: a.Price, shares: a.Shares})
	case itch.TypeOrderExecuted, itch.TypeOrderExecutedWithPrice:
		ref, n, mn := m.OrderExecuted.OrderRef, m.OrderExecuted.Shares, m.OrderExecuted.MatchNumber
		if m.Type == itch.TypeOrderExecutedWithPrice {
			e := &m.OrderExecutedWithPrice
			ref, n, mn = e.OrderRef, e.Shares, e.MatchNumber
		}
		if b.state != 'T' {
			c.failf(m, "execution while paused")
		}
		o := c.live(m, ref)
		if n == 0 || n > o.shares {
			c.failf(m, "executes %d of %d shares", n, o.shares)
		}
		c.match(m, mn)
		switch {
		case m.Type == itch.TypeOrderExecuted:
			b.last = o.price
		case m.OrderExecutedWithPrice.Printable == 'Y':
			b.last = m.OrderExecutedWithPrice.Price
		case m.OrderExecutedWithPrice.Printable != 'N':
			c.failf(m, "printable %q", m.OrderExecutedWithPrice.Printable)
		}
		if n == o.shares {
			c.remove(ref, o)
		} else {
			c.take(o, n)
		}
	case itch.TypeOrderCancel:
		o := c.live(m, m.OrderCancel.OrderRef)
		if n := m.OrderCancel.Shares; n == 0 || n >= o.shares {
			c.failf(m, "cancels %d of %d shares (a partial cancel)", n, o.shares)
		}
		c.take(o, m.OrderCancel.Shares)
	case itch.TypeOrderDelete:
		c.remove(m.OrderDelete.OrderRef, c.live(m, m.OrderDelete.OrderRef))
	case itch.TypeOrderReplace:
		u := &m.OrderReplace
		o := c.live(m, u.OrigOrderRef)
		c.remove(u.OrigOrderRef, o)
		c.rest(m, u.NewOrderRef, &refOrder{locate: m.StockLocate, buy: o.buy, price: u.Price, shares: u.Shares})
	case itch.TypeTrade:
		if b.state != 'T' {
			c.failf(m, "trade while paused")
		}
		c.stock(m, m.Trade.Stock)
		c.match(m, m.Trade.MatchNumber)
		if m.Trade.Shares == 0 || m.Trade.Price == 0 {
			c.failf(m, "empty trade")
		}
		b.last = m.Trade.Price
	case itch.TypeCrossTrade:
		c.stock(m, m.CrossTrade.Stock)
		c.match(m, m.CrossTrade.MatchNumber)
		if m.CrossTrade.Shares > 0 {
			b.last = m.CrossTrade.CrossPrice
		}
	case itch.TypeBrokenTrade:
		if !c.matches[m.BrokenTrade.MatchNumber] {
			c.failf(m, "breaks unknown match %d", m.BrokenTrade.MatchNumber)
		}
	case itch.TypeStockTradingAction:
		c.stock(m, m.StockTradingAction.Stock)
		b.state = m.StockTradingAction.TradingState
		paused := 0
		for i := range c.books {
			if c.books[i].state != 'T' {
				paused++
			}
		}
		if paused > max(1, c.k/10) {
			c.failf(m, "%d of %d symbols paused at once", paused, c.k)
		}
	case itch.TypeStockDirectory:
		c.stock(m, m.StockDirectory.Stock)
	}
	if bb, _ := best(b.bids, true); bb != 0 {
		if a, _ := best(b.asks, false); a != 0 && bb >= a {
			c.failf(m, "book crossed: bid %d ask %d", bb, a)
		}
	}
}

// compare checks the generator's reference tops against the naive books.
func (c *checker) compare(g *Generator) {
	c.t.Helper()
	for _, top := range g.Books() {
		b := &c.books[top.Locate]
		bid, bidSize := best(b.bids, true)
		ask, askSize := best(b.asks, false)
		want := Top{Symbol: top.Symbol, Locate: top.Locate, Bid: bid, BidSize: bidSize, Ask: ask, AskSize: askSize,
			Last: b.last, Orders: b.orders, TradingState: b.state}
		if top != want {
			c.t.Fatalf("after %d messages: reference %+v, replay %+v", c.n, top, want)
		}
	}
}

func runChecked(t *testing.T, cfg Config, compareEvery uint64) (*Generator, *checker) {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker(t, g.Symbols())
	var m itch.Message
	for g.Next(&m) {
		c.apply(&m)
		if compareEvery > 0 && c.n%compareEvery == 0 {
			c.compare(g)
		}
		if c.n > 50_000_000 {
			t.Fatal("session does not end")
		}
	}
	c.compare(g)
	if g.Next(&m) {
		t.Fatal("Next returned true after the end of the session")
	}
	return g, c
}

func TestSessionInvariants(t *testing.T) {
	cfg := Config{SymbolCount: 5, Seed: 7, Messages: 60_000, BookOrdersMax: 60, HaltRate: 5e-4, JumpsPerHour: 600}
	g, c := runChecked(t, cfg, 997)
	if c.n != cfg.Messages {
		t.Fatalf("%d messages, want exactly %d", c.n, cfg.Messages)
	}
	if got := string(c.events); got != "OSQMEC" {
		t.Fatalf("system events %q, want OSQMEC", got)
	}
	if c.byType[itch.TypeStockDirectory] != 5 {
		t.Fatalf("%d stock directory messages for 5 symbols", c.byType[itch.TypeStockDirectory])
	}
	st := g.Stats()
	if st.Messages != c.n || st.Halts == 0 {
		t.Fatalf("stats %d messages %d halts", st.Messages, st.Halts)
	}
	for typ, n := range c.byType {
		if st.ByType[typ] != n {
			t.Errorf("type %c: stats %d, seen %d", typ, st.ByType[typ], n)
		}
	}
	for i := 1; i <= 5; i++ {
		if c.books[i].state != 'T' {
			t.Errorf("locate %d still paused at the close", i)
		}
		if c.books[i].orders > cfg.BookOrdersMax {
			t.Errorf("locate %d: %d live orders, bound %d", i, c.books[i].orders, cfg.BookOrdersMax)
		}
	}
}

func TestEveryTypeInLongSession(t *testing.T) {
	g, c := runChecked(t, Config{SymbolCount: 8, Seed: 1, Messages: 400_000}, 0)
	for _, typ := range itch.Types {
		if c.byType[typ] == 0 {
			t.Errorf("type %c (%s) never emitted", typ, itch.TypeName(typ))
		}
	}
	// The mix should look like an equity feed: adds and deletes dominate.
	adds := c.byType['A'] + c.byType['F']
	if adds < c.n/4 || c.byType['D'] < c.n/5 || c.byType['E'] < c.n/100 {
		t.Errorf("unrealistic mix: %d adds, %d deletes, %d executions of %d", adds, c.byType['D'], c.byType['E'], c.n)
	}
	if len(g.Books()) != 8 {
		t.Fatal("books")
	}
}

func TestMessageBudgetExact(t *testing.T) {
	for _, k := range []int{1, 3, 40} {
		for _, extra := range []uint64{0, 1, 2, 5, 100, 3000} {
			n := MinMessages(k) + extra
			_, c := runChecked(t, Config{SymbolCount: k, Seed: extra, Messages: n, HaltRate: 0.01}, 0)
			if c.n != n {
				t.Fatalf("k=%d: %d messages, want %d", k, c.n, n)
			}
		}
	}
}

func TestDurationAndFinish(t *testing.T) {
	cfg := Config{SymbolCount: 3, Seed: 3, DurationNs: 50e6, Rate: 1e6, HaltRate: 1e-3}
	g, c := runChecked(t, cfg, 0)
	if c.n < 40_000 || c.n > 60_000 {
		t.Fatalf("%d messages for 50 ms at 1M/s", c.n)
	}
	if span := g.Now() - DefaultStartNs; span < 50e6 || span > 51e6 {
		t.Fatalf("session spans %d ns", span)
	}

	// Unbounded session ended by Finish, while a pause is outstanding.
	g, err := New(Config{SymbolCount: 2, Seed: 4, HaltRate: 0.01, HaltNs: 1e12})
	if err != nil {
		t.Fatal(err)
	}
	chk := newChecker(t, g.Symbols())
	var m itch.Message
	for i := 0; i < 5000; i++ {
		if !g.Next(&m) {
			t.Fatal("unbounded session ended")
		}
		chk.apply(&m)
	}
	if g.Stats().Halts == 0 {
		t.Fatal("no pause started")
	}
	g.Finish()
	for g.Next(&m) {
		chk.apply(&m)
	}
	chk.compare(g)
	if !g.Done() || string(chk.events[len(chk.events)-1]) != "C" {
		t.Fatal("session did not close")
	}
	for i := 1; i <= 2; i++ {
		if chk.books[i].state != 'T' {
			t.Fatal("pause not resumed before the close")
		}
	}
}

func sessionBytes(t testing.TB, cfg Config) []byte {
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	var out []byte
	for g.Next(&m) {
		out = m.Append(out)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	cfg := Config{Symbols: []string{"AAA", "BB.B", "C"}, Seed: 42, Messages: 20_000}
	a, b := sessionBytes(t, cfg), sessionBytes(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("equal configs gave different sessions")
	}
	cfg.Seed = 43
	if bytes.Equal(a, sessionBytes(t, cfg)) {
		t.Fatal("different seeds gave the same session")
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{Symbols: []string{"AAPL", "AAPL"}},
		{Symbols: []string{"TOOLONGSYM"}},
		{Symbols: []string{"A B"}},
		{Symbols: []string{""}},
		{SymbolCount: SymbolsMax + 1},
		{SymbolCount: -1},
		{Rate: -5},
		{Messages: 10},
		{StartNs: dayNs},
		{DurationNs: 20 * 3600e9},
		{BookOrdersMax: 1},
		{VolMin: 0.5, VolMax: 0.1},
		{JumpsPerHour: -1},
		{HaltRate: 0.5},
		{HaltNs: 2 * dayNs},
	}
	for i, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("config %d (%+v): err %v, want ErrConfig", i, c, err)
		}
	}
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Symbols()) != DefaultSymbolCount || g.Symbols()[0] != "AAPL" {
		t.Fatalf("default symbols %v", g.Symbols())
	}
	if _, ok := g.Book(0); ok {
		t.Fatal("locate 0 has a book")
	}
	if _, ok := g.Book(DefaultSymbolCount + 1); ok {
		t.Fatal("locate beyond the symbols has a book")
	}
}

func TestGenerateSymbols(t *testing.T) {
	s := GenerateSymbols(1000)
	seen := map[string]bool{}
	for _, x := range s {
		if err := checkSymbol(x); err != nil || seen[x] {
			t.Fatalf("symbol %q: %v (dup %v)", x, err, seen[x])
		}
		seen[x] = true
	}
}

func TestNextZeroAlloc(t *testing.T) {
	g, err := New(Config{SymbolCount: 16, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	for i := 0; i < 300_000; i++ {
		g.Next(&m)
	}
	allocs := testing.AllocsPerRun(20_000, func() {
		if !g.Next(&m) {
			t.Fatal("session ended")
		}
	})
	if allocs != 0 {
		t.Fatalf("Next allocates %.2f times per message in steady state", allocs)
	}
}
