package engine

import (
	"testing"

	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/feedhandler/ring"
)

func TestConsumeTicks(t *testing.T) {
	f := newFixture(t, nil)
	f.e.SetMark(0, 100, true) // stale until the feed speaks
	if !f.e.BindLocate(3, "AAA") || !f.e.BindLocate(9, "BBBX") {
		t.Fatal("bind")
	}
	r, err := ring.New[ring.Tick](64, ring.DefaultWait)
	if err != nil {
		t.Fatal(err)
	}
	ticks := []ring.Tick{
		{Instrument: 3, Bid: 1010000, Ask: 1012000, RecvNs: 111},   // AAA mid 101.1
		{Instrument: 9, Bid: 0, Ask: 0, Last: 495000, RecvNs: 222}, // BBB last 49.5
		{Instrument: 7, Bid: 1, Ask: 2},                            // unbound locate
		{Instrument: 9, Bid: 500000, Ask: 490000, Last: 0},         // crossed, no last: no price
		{Instrument: 70000, Bid: 1, Ask: 2},                        // beyond any locate
	}
	for i := range ticks {
		if !r.TryPush(ticks[i]) {
			t.Fatal("ring full")
		}
	}
	r.Close()
	if err := f.e.ConsumeTicks(r); err != nil {
		t.Fatal(err)
	}
	if px, _, stale := f.e.Mark(0); px != 101.1 || stale {
		t.Fatalf("AAA mark %v stale %v", px, stale)
	}
	if px, _, stale := f.e.Mark(1); px != 49.5 || stale {
		t.Fatalf("BBB mark %v stale %v", px, stale)
	}
	if f.e.MarkRecvNs(0) != 111 || f.e.MarkRecvNs(1) != 222 {
		t.Fatal("receive times not kept")
	}
	if st := f.e.TickStats(); st.Applied != 2 || st.Unbound != 2 || st.Empty != 1 {
		t.Fatalf("tick stats %+v", st)
	}
	// A stale tick (feed gap) fails risk-increasing orders closed.
	f.epoch(t)
	f.e.ApplyTick(&ring.Tick{Instrument: 3, Flags: ring.FlagStale, Bid: 1000000, Ask: 1000000})
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1}); v.Accept || v.Reason != margin.ReasonStaleMarketData {
		t.Fatalf("after a stale tick: %+v", v)
	}
	f.e.ApplyTick(&ring.Tick{Instrument: 3, Bid: 1000000, Ask: 1000000})
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1}); !v.Accept {
		t.Fatalf("after the gap closed: %+v", v)
	}
}
