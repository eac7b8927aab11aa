package engine

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/margin"
)

// listing is an extension of the fixture's master: a new call series on
// AAA and a new future on BBB.
const listing = `{"version":1,"instruments":[
 {"id":100,"symbol":"AAA 2027-03 C110","kind":"call","underlying":"AAA","strike":110,"expiry":"2027-03-19T21:00:00Z","multiplier":100},
 {"id":101,"symbol":"BBB 2027-09 F","kind":"future","underlying":"BBB","expiry":"2027-09-17T21:00:00Z","multiplier":10}]}`

// TestExtendMaster: instruments listed during the day can be booked at
// once, are refused by checks (fail closed: their risk is unknown) until
// the next epoch prices them, and then give exactly the verdicts of an
// engine that had them in its master from the start.
func TestExtendMaster(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	old := f.e.Master()
	before := f.e.Check(Order{Account: 2001, Instrument: 5, Side: Buy, Qty: 10})

	m, err := f.e.ExtendMaster([]byte(listing))
	if err != nil {
		t.Fatal(err)
	}
	if f.e.Master() != m || len(m.Instruments) != len(old.Instruments)+2 || len(old.Instruments) != 7 {
		t.Fatalf("master not swapped: %d instruments, old %d", len(m.Instruments), len(old.Instruments))
	}
	for i, in := range old.Instruments {
		if j, ok := m.Index(in.ID); !ok || j != i {
			t.Fatalf("instrument %d moved from %d to %d", in.ID, i, j)
		}
	}

	// The new series, before any epoch prices it: refused, fail closed.
	v := f.e.Check(Order{Account: 1001, Instrument: 100, Side: Buy, Qty: 1})
	if v.Accept || v.Reason != margin.ReasonNoRiskEpoch || !math.IsNaN(v.PostIM) || v.Epoch != 1 {
		t.Fatalf("check of an unpriced instrument: %+v", v)
	}
	// Other orders are unaffected.
	if got := f.e.Check(Order{Account: 2001, Instrument: 5, Side: Buy, Qty: 10}); got != before {
		t.Fatalf("verdict changed by the listing:\n%+v\n%+v", got, before)
	}

	// A fill in the new series books; the account's risk is then unknown
	// until the next epoch, so even an order in an old instrument is refused.
	fill := Fill{Account: 1001, Instrument: 100, Side: Buy, Qty: 3, Price: 4.5}
	if err := f.e.ApplyFill(fill); err != nil {
		t.Fatal(err)
	}
	v = f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	if v.Accept || v.Reason != margin.ReasonNoRiskEpoch {
		t.Fatalf("check of an account holding an unpriced instrument: %+v", v)
	}
	if _, err := f.e.Status(1001); err != nil {
		t.Fatal(err)
	}
	if got := f.e.Check(Order{Account: 2001, Instrument: 5, Side: Buy, Qty: 10}); got != before {
		t.Fatalf("another account's verdict changed:\n%+v\n%+v", got, before)
	}

	// The next epoch prices the new instruments: the verdicts are those of
	// an engine built over the whole master that booked the same fill.
	f.epoch(t)
	g := newFixtureEdit(t, nil, func(data []byte) []byte {
		// The same instruments at the end of the master file.
		var doc, ext map[string]any
		if json.Unmarshal(data, &doc) != nil || json.Unmarshal([]byte(listing), &ext) != nil {
			t.Fatal("fixture JSON")
		}
		doc["instruments"] = append(doc["instruments"].([]any), ext["instruments"].([]any)...)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
	g.epoch(t)
	if err := g.e.ApplyFill(fill); err != nil {
		t.Fatal(err)
	}
	g.epoch(t)
	for _, o := range []Order{
		{Account: 1001, Instrument: 100, Side: Buy, Qty: 2},
		{Account: 1001, Instrument: 100, Side: Sell, Qty: 3},
		{Account: 1001, Instrument: 1, Side: Buy, Qty: 10},
		{Account: 2001, Instrument: 101, Side: Sell, Qty: 5},
		{Account: 1002, Instrument: 3, Side: Buy, Qty: 5},
	} {
		got, want := f.e.Check(o), g.e.Check(o)
		if got.Reason == margin.ReasonNoRiskEpoch || got != want {
			t.Fatalf("order %+v after the epoch:\n got %+v\nwant %+v", o, got, want)
		}
	}

	// An invalid listing changes nothing.
	if _, err := f.e.ExtendMaster([]byte(listing)); !errors.Is(err, instrument.ErrInvalid) {
		t.Fatalf("listing the same ids twice: %v", err)
	}
	if n := len(f.e.Master().Instruments); n != 9 {
		t.Fatalf("a refused listing left %d instruments", n)
	}
}

// TestExtendMasterConcurrent: checks, fills and epochs run while the master
// grows (run it under -race).
func TestExtendMasterConcurrent(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				id := instrument.ID(1 + i%7)
				if i%3 == 0 {
					id = 100
				}
				v := f.e.Check(Order{Account: 1001 + uint64(g), Instrument: id, Side: Buy, Qty: 1})
				if v.Reason == margin.ReasonUnknownInstrument && id != 100 {
					t.Errorf("instrument %d unknown", id)
					return
				}
				if g == 0 && i%50 == 0 {
					_ = f.e.ApplyFill(Fill{Account: 1001, Instrument: id, Side: Buy, Qty: 1, Price: 1})
				}
			}
		}()
	}
	if _, err := f.e.ExtendMaster([]byte(listing)); err != nil {
		t.Error(err)
	}
	f.epoch(t)
	close(done)
	wg.Wait()
	if v := f.e.Check(Order{Account: 1001, Instrument: 100, Side: Sell, Qty: 1}); v.Reason == margin.ReasonUnknownInstrument {
		t.Fatalf("listed instrument unknown after the epoch: %+v", v)
	}
}

// TestRestoreListing: a listing restored after a restart extends the master
// like the original, or adds nothing when the master already holds it; both
// are kept for the next snapshot, and a conflicting one is refused.
func TestRestoreListing(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.e.ExtendMaster([]byte(listing)); err != nil {
		t.Fatal(err)
	}
	if l := f.e.Listings(); len(l) != 1 || string(l[0]) != listing {
		t.Fatalf("listings %q", l)
	}

	g := newFixture(t, nil)
	added, err := g.e.RestoreListing([]byte(listing))
	if err != nil || !added || len(g.e.Master().Instruments) != 9 {
		t.Fatalf("restore on the old master: %v, %v, %d instruments", added, err, len(g.e.Master().Instruments))
	}
	// Again (the master now holds it): nothing added, still kept.
	added, err = g.e.RestoreListing([]byte(listing))
	if err != nil || added || len(g.e.Master().Instruments) != 9 || len(g.e.Listings()) != 2 {
		t.Fatalf("restore of a listing the master holds: %v, %v, %d instruments, %d listings", added, err,
			len(g.e.Master().Instruments), len(g.e.Listings()))
	}
	// Same id, another definition: refused, nothing changes.
	clash := strings.Replace(listing, `"strike":110`, `"strike":115`, 1)
	if _, err := g.e.RestoreListing([]byte(clash)); !errors.Is(err, instrument.ErrInvalid) {
		t.Fatalf("conflicting listing: %v", err)
	}
	if len(g.e.Master().Instruments) != 9 || len(g.e.Listings()) != 2 {
		t.Fatal("a refused listing changed the engine")
	}
}
