package itchgen_test

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// asOf is the engine test book's valuation time.
var asOf = enginetest.AsOf

// bookEngine builds an engine over the engine package's test book
// (engine/testdata: AAA at 100 on ITCH "AAA", BBB at 50 on "BBBX"; accounts
// 1001 long 1,000 AAA, 2002 long 100 AAA, 3001 flat) on the float64
// reference backend, its clock read from clk (Unix nanoseconds).
func bookEngine(t *testing.T, clk *atomic.Int64) *engine.Engine {
	t.Helper()
	m, set := enginetest.Book(t)
	cfg := engine.DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 2000
	cfg.Now = func() time.Time { return time.Unix(0, clk.Load()).UTC() }
	e, err := engine.New(cfg, m, set)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// market feeds an engine the generator's books as ticks (what the feed
// handler publishes for each book change), each book's prices scaled so
// that it opens at the master's spot, with the engine's clock following
// the session clock plus the silences played.
type market struct {
	t        *testing.T
	g        *itchgen.Generator
	e        *engine.Engine
	clk      *atomic.Int64
	scale    [3]float64 // by locate; 0 until the book's first two-sided quote
	spot     [3]float64
	silentNs int64
	m        itch.Message
	fired    []itchgen.Fired
}

func (k *market) price(p uint32, loc uint16) int64 {
	return int64(math.Round(float64(p) * k.scale[loc]))
}

// next generates one message and applies the tick of the book it touched.
func (k *market) next() {
	k.t.Helper()
	if !k.g.Next(&k.m) {
		k.t.Fatal("session ended")
	}
	k.fired = append(k.fired, k.g.TakeFired()...)
	k.clk.Store(asOf.UnixNano() + int64(k.m.Timestamp-itchgen.DefaultStartNs) + k.silentNs)
	loc := k.m.StockLocate
	if loc == 0 || loc > 2 {
		return
	}
	top, _ := k.g.Book(loc)
	if k.scale[loc] == 0 {
		if top.Bid == 0 || top.Ask == 0 {
			return
		}
		k.scale[loc] = k.spot[loc] * 1e4 / (float64(top.Bid+top.Ask) / 2)
	}
	tk := ring.Tick{Instrument: uint32(loc), Bid: k.price(top.Bid, loc), Ask: k.price(top.Ask, loc),
		Last: k.price(top.Last, loc), ExchangeNs: k.m.Timestamp}
	if k.e.ApplyTick(&tk) < 0 {
		k.t.Fatalf("locate %d is not bound", loc)
	}
}

// until generates messages until the session clock passes offsetNs after
// the start.
func (k *market) until(offsetNs uint64) {
	for k.g.Now() < itchgen.DefaultStartNs+offsetNs {
		k.next()
	}
}

func (k *market) status(id uint64) engine.Status {
	k.t.Helper()
	st, err := k.e.Status(id)
	if err != nil {
		k.t.Fatal(err)
	}
	return st
}

func (k *market) epoch() map[uint64]engine.Notice {
	k.t.Helper()
	if _, err := k.e.RunEpoch(context.Background()); err != nil {
		k.t.Fatal(err)
	}
	out := map[uint64]engine.Notice{}
	for _, n := range k.e.Sweep() {
		out[n.Account] = n
	}
	return out
}

// TestEngineCrashAndOutage runs a scripted session into an engine: a 25 %
// gap-down of AAA moves leveraged accounts to MARGIN_CALL and LIQUIDATE at
// the next epoch, and during a feed outage risk-increasing orders are
// refused as stale until ticks resume.
func TestEngineCrashAndOutage(t *testing.T) {
	evs, err := itchgen.ParseEvents("crash@2s:-25%:AAA\noutage@3s:8s")
	if err != nil {
		t.Fatal(err)
	}
	g, err := itchgen.New(itchgen.Config{Symbols: []string{"AAA", "BBBX"}, Seed: 11, Rate: 50_000,
		NoHalts: true, Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	clk := &atomic.Int64{}
	clk.Store(asOf.UnixNano())
	e := bookEngine(t, clk)
	for loc, sym := range []string{"AAA", "BBBX"} {
		if !e.BindLocate(uint16(loc+1), sym) {
			t.Fatalf("%s is not an underlying", sym)
		}
	}
	k := &market{t: t, g: g, e: e, clk: clk, spot: [3]float64{0, 100, 50}}

	// Before the crash: size two accounts' cash so that both are HEALTHY
	// yet leveraged. 1001 holds 1,000 AAA (a 25 % gap costs about 25,000):
	// equity 1.25 × IM. 2002 holds 100 AAA (about 2,500): equity enough to
	// stay above maintenance after the gap, not above the new IM.
	k.until(1.5e9)
	k.epoch()
	pre := map[uint64]engine.Status{1001: k.status(1001), 2002: k.status(2002)}
	set := func(id uint64, equity float64) {
		if err := e.SetCollateral(id, account.Cash, equity-pre[id].UnrealisedPnL); err != nil {
			t.Fatal(err)
		}
	}
	set(1001, 1.25*pre[1001].Requirement.IM)
	loss2002 := 100 * 0.25 * pre[2002].Positions[0].Mark
	set(2002, loss2002+0.95*pre[2002].Requirement.IM)
	k.epoch()
	tuned := map[uint64]float64{}
	for _, id := range []uint64{1001, 2002} {
		st := k.status(id)
		tuned[id] = st.Equity
		if st.State != margin.Healthy {
			t.Fatalf("account %d before the crash: %v (equity %.0f, IM %.0f)", id, st.State, st.Equity, st.Requirement.IM)
		}
	}
	markBefore, _, _ := e.Mark(0)

	// The crash: the generator's AAA book re-forms 25 % lower within a few
	// hundred messages, and so does the engine's mark.
	k.until(2e9)
	if len(k.fired) != 1 || k.fired[0].Event.Kind != itchgen.EventCrash {
		t.Fatalf("fired %+v", k.fired)
	}
	for range 1000 {
		k.next()
	}
	markAfter, _, stale := e.Mark(0)
	if r := markAfter / markBefore; stale || r < 0.72 || r > 0.78 {
		t.Fatalf("AAA mark %.2f → %.2f (ratio %.3f, stale %v), want about 0.75", markBefore, markAfter, r, stale)
	}
	notices := k.epoch()
	for id, want := range map[uint64]margin.State{1001: margin.Liquidate, 2002: margin.MarginCall} {
		st := k.status(id)
		n, ok := notices[id]
		if st.State != want || !ok || n.From != margin.Healthy || n.To != want {
			t.Errorf("account %d after the crash: %v (equity %.0f, IM %.0f, MM %.0f), notice %+v; want %v",
				id, st.State, st.Equity, st.Requirement.IM, st.Requirement.MM, n, want)
		}
	}
	for _, id := range []uint64{1001, 2002} {
		st := k.status(id)
		t.Logf("account %d: equity %.0f → %.0f, IM %.0f → %.0f, MM %.0f: %v", id, tuned[id],
			st.Equity, pre[id].Requirement.IM, st.Requirement.IM, st.Requirement.MM, st.State)
	}
	if st := k.status(1001); st.Equity >= st.Requirement.MM {
		t.Errorf("1001 equity %.0f not below MM %.0f", st.Equity, st.Requirement.MM)
	}

	// The outage: the feed goes silent for 8 s (the sender plays it; here
	// the engine's clock moves on without ticks). Before it a flat
	// account's buy is accepted; during it, once the marks are older than
	// MarkAgeMax, it is refused as stale; a risk-reducing sell is not.
	buy := engine.Order{Account: 3001, Instrument: 1, Side: engine.Buy, Qty: 10}
	if v := e.Check(buy); !v.Accept {
		t.Fatalf("buy before the outage: %+v", v)
	}
	for len(k.fired) < 2 {
		k.next()
	}
	out := k.fired[1]
	if out.Event.Kind != itchgen.EventOutage || out.AtNs != k.m.Timestamp {
		t.Fatalf("fired %+v at %d", out, k.m.Timestamp)
	}
	ageMax := e.Config().Margin.MarkAgeMax
	k.silentNs += int64(ageMax) + int64(time.Second)
	k.clk.Add(int64(ageMax) + int64(time.Second))
	if v := e.Check(buy); v.Accept || v.Reason != margin.ReasonStaleMarketData {
		t.Fatalf("buy during the outage: %+v, want STALE", v)
	}
	sell := engine.Order{Account: 1001, Instrument: 1, Side: engine.Sell, Qty: 100}
	if v := e.Check(sell); v.Reason == margin.ReasonStaleMarketData {
		t.Fatalf("risk-reducing sell during the outage refused as stale: %+v", v)
	}
	if st := k.status(3001); st.Stale {
		t.Fatalf("flat account reported stale") // it holds nothing
	}
	if st := k.status(1001); !st.Stale {
		t.Fatalf("1001's AAA mark is not reported stale during the outage")
	}
	// The rest of the outage, then the feed resumes where it stopped (the
	// message held back carries on the session) and the marks are fresh.
	k.silentNs += int64(out.Event.DurationNs) - int64(ageMax) - int64(time.Second)
	for range 200 {
		k.next()
	}
	if v := e.Check(buy); !v.Accept {
		t.Fatalf("buy after the outage: %+v", v)
	}
}
