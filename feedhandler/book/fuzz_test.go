package book

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// fuzzMessage turns 6 fuzz bytes into a message over a tiny space of
// locates, references and prices, so that collisions are common.
func fuzzMessage(m *itch.Message, c []byte) {
	op, loc, ref, ref2, qty, px := c[0], c[1], c[2], c[3], c[4], c[5]
	m.StockLocate = uint16(loc % 5)
	r1, r2 := uint64(ref%40), uint64(ref2%40)
	side := byte('B')
	if ref&0x80 != 0 {
		side = 'S'
	}
	price := 10000 + 100*uint32(px%12)
	if px >= 250 {
		price = uint32(px-250) * 4294967295 / 5 // 0 and the extremes
	}
	shares := uint32(qty % 8 * 50)
	switch op % 12 {
	case 0, 1:
		m.Type = itch.TypeAddOrder
		if op&0x10 != 0 {
			side = "BSZ"[op>>5%3]
		}
		m.AddOrder = itch.AddOrder{OrderRef: r1, Side: side, Shares: shares, Price: price, Stock: itch.StockFromString("F")}
	case 2:
		m.Type = itch.TypeAddOrderMPID
		m.AddOrder = itch.AddOrder{OrderRef: r1, Side: side, Shares: shares, Price: price, Attribution: [4]byte{'X', 'X', 'X', 'X'}}
	case 3:
		m.Type = itch.TypeOrderExecuted
		m.OrderExecuted = itch.OrderExecuted{OrderRef: r1, Shares: shares}
	case 4:
		m.Type = itch.TypeOrderExecutedWithPrice
		m.OrderExecutedWithPrice = itch.OrderExecutedWithPrice{OrderRef: r1, Shares: shares, Printable: "YN"[op>>7], Price: price}
	case 5:
		m.Type = itch.TypeOrderCancel
		m.OrderCancel = itch.OrderCancel{OrderRef: r1, Shares: shares}
	case 6:
		m.Type = itch.TypeOrderDelete
		m.OrderDelete = itch.OrderDelete{OrderRef: r1}
	case 7:
		m.Type = itch.TypeOrderReplace
		m.OrderReplace = itch.OrderReplace{OrigOrderRef: r1, NewOrderRef: r2, Shares: shares, Price: price}
	case 8:
		m.Type = itch.TypeTrade
		m.Trade = itch.Trade{Side: side, Shares: shares, Price: price}
	case 9:
		m.Type = itch.TypeCrossTrade
		m.CrossTrade = itch.CrossTrade{Shares: uint64(shares), CrossPrice: price}
	case 10:
		m.Type = itch.TypeStockTradingAction
		m.StockTradingAction = itch.StockTradingAction{TradingState: "HPQT"[qty%4]}
	default:
		m.Type = itch.TypeOperationalHalt
		m.OperationalHalt = itch.OperationalHalt{MarketCode: "QB"[qty%2], OperationalHaltAction: "HT"[px%2]}
	}
}

// FuzzApply drives two Books (ample and 2-level depth) and the reference
// model with the same fuzz-chosen messages: Apply must never panic, and
// the books must agree with the reference after every message.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 2, 3, 0, 1, 2, 0, 3, 4, 3, 1, 1, 0, 1, 0})
	f.Add([]byte{0, 1, 1, 0, 2, 3, 7, 1, 1, 2, 4, 5, 6, 1, 2, 0, 0, 0})
	f.Add([]byte{0, 1, 0x81, 0, 2, 3, 0, 1, 0x82, 0, 2, 1, 0, 1, 0x83, 0, 2, 11, 6, 1, 0x81, 0, 0, 0})
	// Iterations run one at a time per fuzz worker: reuse the books (New
	// zeroes a 4 MiB locate table) and start each iteration from Reset,
	// which is under test too.
	cfg := Config{OrdersMax: 24, BooksMax: 3, LevelsMax: 64}
	exact := newBooks(f, cfg)
	cfg2 := cfg
	cfg2.LevelsMax = 2
	shallow := newBooks(f, cfg2)
	f.Fuzz(func(t *testing.T, data []byte) {
		exact.Reset()
		shallow.Reset()
		ref := newRefModel(cfg)
		var m itch.Message
		const messagesMax = 300 // bounds the time per input
		data = data[:min(len(data), 6*messagesMax)]
		for len(data) >= 6 {
			fuzzMessage(&m, data[:6])
			data = data[6:]
			before, _ := exact.Top(m.StockLocate)
			loc, changed := exact.Apply(&m)
			wantLoc := ref.apply(&m)
			shallow.Apply(&m)
			if loc != wantLoc {
				t.Fatalf("%q: locate %d, reference %d", m.Type, loc, wantLoc)
			}
			if loc == m.StockLocate {
				after, _ := exact.Top(loc)
				if changed != (view(after) != view(before)) {
					t.Fatalf("%q: changed %v\nbefore %+v\nafter  %+v", m.Type, changed, before, after)
				}
			}
			if got, want := exact.Stats(), ref.statsView(); got != want {
				t.Fatalf("%q: stats\n got %+v\nwant %+v", m.Type, got, want)
			}
			for l := uint16(0); l < 5; l++ {
				want, wok := ref.top(l)
				got, gok := exact.Top(l)
				sh, sok := shallow.Top(l)
				if gok != wok || sok != wok || !topMatch(got, want, true) || !topMatch(sh, want, false) {
					t.Fatalf("%q: book %d\n   got %+v\nshallow %+v\n  want %+v", m.Type, l, got, sh, want)
				}
			}
		}
	})
}
