package book

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// tickView is the part of a Top that Apply's changed flag covers.
type tickView struct {
	bid, ask         uint32
	bidSize, askSize uint64
	last             uint32
	state            byte
	halted           bool
}

func view(t Top) tickView {
	return tickView{t.Bid, t.Ask, t.BidSize, t.AskSize, t.Last, t.TradingState, t.Halted}
}

// runDifferential applies a random flow to Books and to the reference model
// and compares them after every message. With exact set, depth is large
// enough that nothing is truncated and every Top must match exactly;
// otherwise the top of a side must match whenever Books reports one.
func runDifferential(t *testing.T, cfg Config, seed uint64, locates, msgs int, exact bool) {
	t.Helper()
	b := newBooks(t, cfg)
	ref := newRefModel(cfg)
	f := newFuzzFlow(seed, locates)
	f.live = func(r uint64) bool { _, ok := ref.orders[r]; return ok }
	var m itch.Message
	for i := 0; i < msgs; i++ {
		f.next(&m)
		// The acted-on book is known only after Apply: snapshot them all.
		snap := map[uint16]Top{}
		for loc := uint16(1); loc <= uint16(locates); loc++ {
			snap[loc], _ = b.Top(loc)
		}
		loc, changed := b.Apply(&m)
		wantLoc := ref.apply(&m)
		if loc != wantLoc {
			t.Fatalf("seed %d msg %d (%q): locate %d, reference %d", seed, i, m.Type, loc, wantLoc)
		}
		after, _ := b.Top(loc)
		if got, want := changed, view(after) != view(snap[loc]); got != want {
			t.Fatalf("seed %d msg %d (%q): changed %v, top moved %v\nbefore %+v\nafter  %+v",
				seed, i, m.Type, got, want, snap[loc], after)
		}
		if got, want := b.Stats(), ref.statsView(); !statsMatch(got, want, exact) {
			t.Fatalf("seed %d msg %d (%q): stats\n got %+v\nwant %+v", seed, i, m.Type, got, want)
		}
		for l := uint16(1); l <= uint16(locates); l++ {
			if l != loc && i%16 != 0 {
				continue
			}
			got, gok := b.Top(l)
			want, wok := ref.top(l)
			if gok != wok {
				t.Fatalf("seed %d msg %d: book %d exists %v, reference %v", seed, i, l, gok, wok)
			}
			if !topMatch(got, want, exact) {
				t.Fatalf("seed %d msg %d (%q): book %d\n got %+v\nwant %+v", seed, i, m.Type, l, got, want)
			}
			if gok && b.Symbol(l) != ref.books[l].symbol {
				t.Fatalf("seed %d msg %d: book %d symbol %q, reference %q", seed, i, l, b.Symbol(l), ref.books[l].symbol)
			}
		}
	}
	t.Logf("cfg %+v exact %v: %+v", cfg, exact, b.Stats())
	if exact && b.Stats().LevelsFull != 0 {
		t.Fatalf("seed %d: exact run truncated levels", seed)
	}
}

func statsMatch(got, want Stats, exact bool) bool {
	if !exact {
		got.LevelsFull = 0 // the reference has unbounded depth
	}
	return got == want
}

func topMatch(got, want Top, exact bool) bool {
	if exact {
		return got == want
	}
	if got.Last != want.Last || got.Orders != want.Orders || got.TradingState != want.TradingState ||
		got.Halted != want.Halted {
		return false
	}
	// A reported side must be exact; an unreported one must be truly empty
	// unless the book says it is truncated.
	if got.Bid != 0 {
		if got.Bid != want.Bid || got.BidSize != want.BidSize || got.BidOrders != want.BidOrders ||
			got.BidLevels > want.BidLevels {
			return false
		}
	} else if want.Bid != 0 && !got.Truncated {
		return false
	}
	if got.Ask != 0 {
		if got.Ask != want.Ask || got.AskSize != want.AskSize || got.AskOrders != want.AskOrders ||
			got.AskLevels > want.AskLevels {
			return false
		}
	} else if want.Ask != 0 && !got.Truncated {
		return false
	}
	return true
}

// TestDifferential compares against the reference with ample depth, and
// with tight order and book bounds so that IndexFull and BooksFull occur.
func TestDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		runDifferential(t, Config{OrdersMax: 1 << 12, BooksMax: 8, LevelsMax: 4096}, seed, 6, 6000, true)
		runDifferential(t, Config{OrdersMax: 150, BooksMax: 4, LevelsMax: 4096}, seed+100, 6, 6000, true)
	}
}

// TestDifferentialTruncated runs with a handful of levels per side, so
// evictions and unaggregated orders are frequent.
func TestDifferentialTruncated(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		for _, levels := range []int{1, 2, 5} {
			runDifferential(t, Config{OrdersMax: 1 << 12, BooksMax: 8, LevelsMax: levels}, seed+uint64(10*levels), 4, 5000, false)
		}
	}
}
