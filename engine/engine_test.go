package engine

import (
	"context"
	"crypto/ed25519"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
)

var asOf = time.Date(2026, 11, 20, 21, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type fixture struct {
	e     *Engine
	clock *clock
	priv  ed25519.PrivateKey
}

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	return newFixtureEdit(t, mod, nil)
}

// newFixtureEdit is newFixture over the test master file as edit (nil:
// none) rewrites it.
func newFixtureEdit(t testing.TB, mod func(*Config), edit func([]byte) []byte) *fixture {
	t.Helper()
	data, err := os.ReadFile("testdata/master.json")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		data = edit(data)
	}
	m, err := instrument.Parse(data, asOf)
	if err != nil {
		t.Fatal(err)
	}
	adata, err := os.ReadFile("testdata/accounts.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := account.Parse(adata, m)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.ns.Store(asOf.UnixNano())
	pub, priv, _ := ed25519.GenerateKey(nil)
	v, err := attest.NewVerifier(attest.Config{Keys: map[string]ed25519.PublicKey{"custodian-a": pub}, Now: c.now, ValidityMax: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 4000
	cfg.Now = c.now
	cfg.Verifier = v
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg, m, set)
	if err != nil {
		t.Fatal(err)
	}
	e.MarkAllFresh()
	return &fixture{e: e, clock: c, priv: priv}
}

func (f *fixture) epoch(t testing.TB) {
	t.Helper()
	if _, err := f.e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNoEpochFailsClosed(t *testing.T) {
	f := newFixture(t, nil)
	v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1})
	if v.Accept || v.Reason != margin.ReasonNoRiskEpoch || v.Epoch != 0 {
		t.Fatalf("verdict without an epoch: %+v", v)
	}
	s, err := f.e.Status(1001)
	if err != nil || s.Epoch != 0 || s.Requirement.Driver != "no epoch" || s.Requirement.IM != 0 || s.VaR != 0 || math.IsNaN(s.HealthFactor) {
		t.Fatalf("status without an epoch: %+v %v", s, err)
	}
	// Even a risk-reducing order: without an epoch nothing is known.
	v = f.e.Check(Order{Account: 1001, Instrument: 1, Side: Sell, Qty: 1})
	if v.Accept || v.Reason != margin.ReasonNoRiskEpoch {
		t.Fatalf("verdict without an epoch: %+v", v)
	}
}

func TestRequestValidation(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	for _, tc := range []struct {
		o    Order
		want margin.Reason
	}{
		{Order{Account: 9, Instrument: 1, Side: Buy, Qty: 1}, margin.ReasonUnknownAccount},
		{Order{Account: 1001, Instrument: 99, Side: Buy, Qty: 1}, margin.ReasonUnknownInstrument},
		{Order{Account: 1001, Instrument: 1, Side: 3, Qty: 1}, margin.ReasonInvalidOrder},
		{Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 0}, margin.ReasonInvalidOrder},
		{Order{Account: 1001, Instrument: 1, Side: Buy, Qty: -5}, margin.ReasonInvalidOrder},
		{Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1, Price: math.NaN()}, margin.ReasonInvalidOrder},
		{Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1, Price: -1}, margin.ReasonInvalidOrder},
		{Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 1, Firm: "beta"}, margin.ReasonNotAuthorised},
	} {
		if v := f.e.Check(tc.o); v.Accept || v.Reason != tc.want {
			t.Errorf("%+v: %+v, want reason %v", tc.o, v, tc.want)
		}
	}
}

func TestStatusFromEpoch(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	ep := f.e.Epochs().Acquire()
	defer ep.Release()
	s, err := f.e.Status(1001)
	if err != nil {
		t.Fatal(err)
	}
	row := ep.Meta.(*snapshot).acctIndex[1001]
	if s.VaR != ep.Result.VaR[row] || s.ES != ep.Result.ES[row] || s.Epoch != ep.ID {
		t.Fatalf("status %+v vs epoch VaR %v ES %v", s, ep.Result.VaR[row], ep.Result.ES[row])
	}
	// 1000 shares of a 100 stock at 25 % vol over 2 days: ES97.5 ≈ 1000·100·0.25·√(2/252)·2.34 ≈ 5,200.
	if s.ES < 4000 || s.ES > 6500 {
		t.Fatalf("ES %v outside the plausible range", s.ES)
	}
	req := s.Requirement
	if req.IM != req.Base+req.Credit+req.Concentration || math.Abs(req.Credit-0.01*0.6*req.Base) > 1e-9 {
		t.Fatalf("requirement %+v", req)
	}
	if s.Equity != 1e6 || s.State != margin.Healthy || s.HealthFactor != margin.HealthFactor(s.Equity, req.MM) {
		t.Fatalf("equity %v state %v HF %v", s.Equity, s.State, s.HealthFactor)
	}
	if _, err := f.e.Status(42); !errors.Is(err, ErrUnknownAccount) {
		t.Fatal(err)
	}
}

func TestVerdicts(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	// Well funded: a small buy is accepted (asked by the owner too).
	v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 10, Firm: "acme"})
	if !v.Accept || v.Reason != margin.ReasonNone || v.Epoch != 1 || v.PostIM <= v.IM {
		t.Fatalf("small buy: %+v", v)
	}
	// Too big for its collateral.
	v = f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 500000})
	if v.Accept || v.Reason != margin.ReasonInsufficientMargin {
		t.Fatalf("huge buy: %+v", v)
	}
	// Account 2001 is deep under water (1,000 cash against 100k of stock):
	// adding is refused, reducing is accepted.
	s, _ := f.e.Status(2001)
	if s.State != margin.Liquidate {
		t.Fatalf("2001 state %v", s.State)
	}
	if v = f.e.Check(Order{Account: 2001, Instrument: 5, Side: Buy, Qty: 10}); v.Accept || v.Reason != margin.ReasonInsufficientMargin {
		t.Fatalf("adding under water: %+v", v)
	}
	if v = f.e.Check(Order{Account: 2001, Instrument: 5, Side: Sell, Qty: 500}); !v.Accept || v.PostIM > v.IM {
		t.Fatalf("reducing under water: %+v", v)
	}
	// A limit price above the mark costs equity at once.
	v1 := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 10, Price: 110})
	if math.Abs(v1.PostEquity-(v1.Equity-10*10)) > 1e-6 {
		t.Fatalf("post equity %v from %v", v1.PostEquity, v1.Equity)
	}
	// Credit limit: 2002 may not take IM above 40,000.
	if v = f.e.Check(Order{Account: 2002, Instrument: 1, Side: Buy, Qty: 10000}); v.Accept || v.Reason != margin.ReasonCreditLimit {
		t.Fatalf("credit limit: %+v", v)
	}
	if v = f.e.Check(Order{Account: 2002, Instrument: 1, Side: Buy, Qty: 10}); !v.Accept {
		t.Fatalf("under the credit limit: %+v", v)
	}
}

func TestStaleMarksFailClosed(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	f.e.SetMark(0, 100, true) // the feed flags AAA stale (gap)
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 10}); v.Accept || v.Reason != margin.ReasonStaleMarketData {
		t.Fatalf("stale buy: %+v", v)
	}
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Sell, Qty: 10}); !v.Accept {
		t.Fatalf("risk-reducing order on a stale mark: %+v", v)
	}
	// A stale underlying the account holds also blocks orders on another.
	if v := f.e.Check(Order{Account: 1001, Instrument: 5, Side: Buy, Qty: 10}); v.Accept || v.Reason != margin.ReasonStaleMarketData {
		t.Fatalf("order on a fresh underlying with a stale holding: %+v", v)
	}
	f.e.SetMark(0, 100, false)
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 10}); !v.Accept {
		t.Fatalf("after the mark recovered: %+v", v)
	}
	// Age: no update for longer than MarkAgeMax.
	f.clock.advance(f.e.Config().Margin.MarkAgeMax + time.Second)
	if v := f.e.Check(Order{Account: 1001, Instrument: 1, Side: Buy, Qty: 10}); v.Accept || v.Reason != margin.ReasonStaleMarketData {
		t.Fatalf("old mark: %+v", v)
	}
}

// The incremental check agrees with booking: the post-trade IM of a check
// equals the IM after the same fill is booked.
func TestCheckMatchesFill(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	for _, o := range []Order{
		{Account: 1002, Instrument: 3, Side: Sell, Qty: 7},
		{Account: 1002, Instrument: 7, Side: Buy, Qty: 15},
		{Account: 1002, Instrument: 1, Side: Buy, Qty: 300},
	} {
		v := f.e.Check(o)
		if err := f.e.ApplyFill(Fill{Account: o.Account, Instrument: o.Instrument, Side: o.Side, Qty: o.Qty, Price: f.markValue(t, o.Instrument)}); err != nil {
			t.Fatal(err)
		}
		s, _ := f.e.Status(o.Account)
		// Equal to rounding: the check adds the order as the last leg, the
		// booked fill joins the legs in instrument order.
		if math.Abs(s.Requirement.IM-v.PostIM) > 1e-12*v.PostIM {
			t.Fatalf("%+v: check said post IM %v, after the fill IM %v", o, v.PostIM, s.Requirement.IM)
		}
	}
	// The next epoch snapshots the booked positions: no legs remain and the
	// status is the epoch's own result.
	f.epoch(t)
	after, _ := f.e.Status(1002)
	ep := f.e.Epochs().Acquire()
	defer ep.Release()
	row := ep.Meta.(*snapshot).acctIndex[1002]
	if after.Epoch != 2 || after.ES != ep.Result.ES[row] || after.VaR != ep.Result.VaR[row] {
		t.Fatalf("after epoch 2: status ES %v VaR %v, epoch ES %v VaR %v", after.ES, after.VaR, ep.Result.ES[row], ep.Result.VaR[row])
	}
}

func (f *fixture) markValue(t testing.TB, id instrument.ID) float64 {
	idx, ok := f.e.Master().Index(id)
	if !ok {
		t.Fatalf("instrument %d", id)
	}
	ep := f.e.Epochs().Acquire()
	defer ep.Release()
	return f.e.markValue(idx, ep, 0)
}

func TestFillsMoveEquityAndRisk(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	// Sell the whole AAA holding above the entry: realised P&L into cash.
	if err := f.e.ApplyFill(Fill{Account: 1001, Instrument: 1, Side: Sell, Qty: 1000, Price: 101}); err != nil {
		t.Fatal(err)
	}
	s, _ := f.e.Status(1001)
	if s.Collateral[account.Cash] != 1e6+1000 || len(s.Positions) != 0 {
		t.Fatalf("after the closing fill: %+v", s)
	}
	if s.VaR != 0 || s.ES != 0 || s.Requirement.IM != 0 {
		t.Fatalf("a flat account has risk: %+v", s)
	}
	for _, bad := range []Fill{
		{Account: 7, Instrument: 1, Side: Buy, Qty: 1, Price: 1},
		{Account: 1001, Instrument: 77, Side: Buy, Qty: 1, Price: 1},
		{Account: 1001, Instrument: 1, Side: 0, Qty: 1, Price: 1},
		{Account: 1001, Instrument: 1, Side: Buy, Qty: 0, Price: 1},
		{Account: 1001, Instrument: 1, Side: Buy, Qty: 1, Price: -1},
	} {
		if err := f.e.ApplyFill(bad); err == nil {
			t.Errorf("fill %+v accepted", bad)
		}
	}
}

func TestMarksMoveEquity(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	f.e.SetMark(0, 90, false) // AAA −10 %
	s, _ := f.e.Status(1001)
	if math.Abs(s.UnrealisedPnL-(-10000)) > 1e-6 || math.Abs(s.Equity-(1e6-10000)) > 1e-6 {
		t.Fatalf("after a 10 %% drop: upnl %v equity %v", s.UnrealisedPnL, s.Equity)
	}
	// The short call book gains; its value follows delta-gamma from the epoch.
	s2, _ := f.e.Status(1002)
	if s2.UnrealisedPnL <= 0 {
		t.Fatalf("short calls did not gain on a drop: %v", s2.UnrealisedPnL)
	}
}

func TestAttestations(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	now := f.clock.now()
	stmt := attest.Statement{Account: 2001, Value: 500000 * 10000, Asset: "T-bills", IssuedAt: now,
		ValidUntil: now.Add(time.Hour), Nonce: 1, Attestor: "custodian-a"}
	before, _ := f.e.Status(2001)
	if _, err := f.e.Attest(attest.Sign(f.priv, stmt)); err != nil {
		t.Fatal(err)
	}
	after, _ := f.e.Status(2001)
	if after.Collateral[account.Verified] != 500000 || math.Abs(after.Equity-before.Equity-0.8*500000) > 1e-6 {
		t.Fatalf("verified collateral %v, equity %v → %v", after.Collateral[account.Verified], before.Equity, after.Equity)
	}
	if after.State == margin.Liquidate {
		t.Fatalf("still liquidating with 400k of weighted verified assets: %+v", after)
	}
	// Replay and tampering are refused with a reason.
	if _, err := f.e.Attest(attest.Sign(f.priv, stmt)); !isReason(err, attest.Replay) {
		t.Fatalf("replay: %v", err)
	}
	bad := attest.Sign(f.priv, stmt)
	bad.Value++
	bad.Nonce = 2
	if _, err := f.e.Attest(bad); !isReason(err, attest.BadSignature) {
		t.Fatalf("tampered: %v", err)
	}
	// Expiry: the verified tier drops out and risk-increasing orders are
	// refused with the attestation reason.
	f.clock.advance(2 * time.Hour)
	f.e.MarkAllFresh()
	s, _ := f.e.Status(2001)
	if !s.AttestationExpired || s.Collateral[account.Verified] != 0 {
		t.Fatalf("after expiry: %+v", s)
	}
	if v := f.e.Check(Order{Account: 2001, Instrument: 5, Side: Buy, Qty: 1}); v.Accept || v.Reason != margin.ReasonAttestationExpired {
		t.Fatalf("order on an expired attestation: %+v", v)
	}
	// A fresh statement from the same attestor replaces it.
	now = f.clock.now()
	stmt2 := attest.Statement{Account: 2001, Value: 10, IssuedAt: now, ValidUntil: now.Add(time.Hour), Nonce: 3, Attestor: "custodian-a"}
	if _, err := f.e.Attest(attest.Sign(f.priv, stmt2)); err != nil {
		t.Fatal(err)
	}
	if s, _ := f.e.Status(2001); s.AttestationExpired {
		t.Fatal("still expired after a fresh attestation")
	}
	// Unknown account.
	stmt3 := stmt2
	stmt3.Account, stmt3.Nonce = 999, 4
	if _, err := f.e.Attest(attest.Sign(f.priv, stmt3)); !errors.Is(err, ErrUnknownAccount) {
		t.Fatalf("unknown account: %v", err)
	}
}

func isReason(err error, r attest.Reason) bool {
	got, ok := attest.ReasonOf(err)
	return ok && got == r
}

func TestSweepNotices(t *testing.T) {
	f := newFixture(t, nil)
	if n := f.e.Sweep(); len(n) != 0 {
		t.Fatalf("notices before any epoch: %+v", n)
	}
	f.epoch(t)
	first := f.e.Sweep()
	found := false
	for _, n := range first {
		if n.Account == 2001 && n.To == margin.Liquidate {
			found = true
		}
		if n.To == margin.Healthy {
			t.Fatalf("first sweep reported a healthy account: %+v", n)
		}
	}
	if !found {
		t.Fatalf("first sweep: %+v", first)
	}
	if n := f.e.Sweep(); len(n) != 0 {
		t.Fatalf("nothing changed, yet %+v", n)
	}
	// A crash: AAA −60 % puts the long AAA accounts into trouble.
	f.e.SetMark(0, 40, false)
	crash := f.e.Sweep()
	moved := map[uint64]margin.State{}
	for _, n := range crash {
		moved[n.Account] = n.To
	}
	if moved[2002] != margin.Healthy && moved[2002] != 0 {
		t.Fatalf("a 5M-cash account moved: %+v", crash)
	}
	if _, ok := moved[1001]; !ok {
		// 1001: 1M cash, 1000 shares lose 60k — still healthy; check the
		// heavily leveraged state instead via a bigger position.
		t.Logf("1001 unchanged after the crash (well funded)")
	}
	if err := f.e.SetCollateral(1001, account.Cash, 1000); err != nil {
		t.Fatal(err)
	}
	notices := f.e.Sweep()
	got := false
	for _, n := range notices {
		if n.Account == 1001 && n.From == margin.Healthy && n.To == margin.Liquidate {
			got = true
		}
	}
	if !got {
		t.Fatalf("cash withdrawal after the crash: %+v", notices)
	}
}

func TestSetCollateralRules(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.e.SetCollateral(1001, account.Verified, 5); err == nil {
		t.Fatal("verified tier set directly")
	}
	if err := f.e.SetCollateral(1001, account.CreditLine, -5); err == nil {
		t.Fatal("negative credit line")
	}
	if err := f.e.SetCollateral(5, account.Cash, 5); !errors.Is(err, ErrUnknownAccount) {
		t.Fatal(err)
	}
}

func TestDeterministicEpochs(t *testing.T) {
	a := newFixture(t, nil)
	b := newFixture(t, nil)
	a.epoch(t)
	b.epoch(t)
	ea, eb := a.e.Epochs().Current(), b.e.Epochs().Current()
	if ea.Hash != eb.Hash || ea.Seed != eb.Seed {
		t.Fatal("equal inputs, different epoch identity")
	}
	sa, _ := a.e.Status(1002)
	sb, _ := b.e.Status(1002)
	if math.Float64bits(sa.ES) != math.Float64bits(sb.ES) || math.Float64bits(sa.Requirement.IM) != math.Float64bits(sb.Requirement.IM) {
		t.Fatal("equal inputs, different numbers")
	}
	a.epoch(t)
	if a.e.Epochs().Current().Seed == ea.Seed {
		t.Fatal("epoch 2 reused epoch 1's seed")
	}
}

func TestLocateBinding(t *testing.T) {
	f := newFixture(t, nil)
	if !f.e.BindLocate(17, "BBBX    ") {
		t.Fatal("ITCH symbol not bound")
	}
	if u, ok := f.e.UnderlyingOfLocate(17); !ok || u != 1 {
		t.Fatalf("locate 17 → %d %v", u, ok)
	}
	if f.e.BindLocate(18, "ZZZ") {
		t.Fatal("unknown symbol bound")
	}
	if _, ok := f.e.UnderlyingOfLocate(18); ok {
		t.Fatal("unbound locate resolves")
	}
}

// Checks, fills, marks and epochs at once (run under -race).
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Scenarios = 500 })
	f.epoch(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				v := f.e.Check(Order{Account: []uint64{1001, 1002, 2001}[(g+i)%3], Instrument: instrument.ID(1 + i%7), Side: Side(1 + i%2), Qty: int64(1 + i%50)})
				if v.Reason == margin.ReasonUnknownAccount || v.Reason == margin.ReasonInvalidOrder {
					t.Errorf("bad verdict %+v", v)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			_ = f.e.ApplyFill(Fill{Account: 1002, Instrument: instrument.ID(1 + i%7), Side: Side(1 + i%2), Qty: 1, Price: 1})
			f.e.SetMark(i%2, 100+float64(i%10), false)
			f.e.Sweep()
		}
	}()
	for range 5 {
		f.epoch(t)
	}
	cancel()
	wg.Wait()
}

// The incremental path agrees with tail.Compute on the materialised vector.
func TestIncrementalAgainstMaterialised(t *testing.T) {
	f := newFixture(t, nil)
	f.epoch(t)
	ep := f.e.Epochs().Acquire()
	defer ep.Release()
	row := ep.Meta.(*snapshot).acctIndex[1002]
	idx, _ := f.e.Master().Index(3)
	l := append([]float64(nil), ep.AccountLoss(row)...)
	kernel.AddScaled(l, -7, ep.InstrumentLoss(idx))
	want := tail.Compute(l, ep.Spec, tail.NewScratch(len(l)))
	acct, err := ep.Account(row, tail.NewScratch(len(l)))
	if err != nil {
		t.Fatal(err)
	}
	got := tail.PostTrade(acct, &ep.Instruments[idx], -7, tail.NewScratch(len(l)))
	if got != want {
		t.Fatalf("incremental %+v, materialised %+v", got, want)
	}
}

// More fills since the epoch than the legs the incremental kernel carries:
// the account's orders are refused until the next epoch, which snapshots
// them.
func TestLegsOverflowFailsClosed(t *testing.T) {
	m, err := instrument.Load("../bench/workload/demo/master.json", asOf)
	if err != nil {
		t.Fatal(err)
	}
	set, err := account.Load("../bench/workload/demo/accounts.json.gz", m)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 500
	cfg.Now = func() time.Time { return asOf }
	e, err := New(cfg, m, set)
	if err != nil {
		t.Fatal(err)
	}
	e.MarkAllFresh()
	if _, err := e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := e.Accounts()[0].ID
	if len(m.Instruments) <= LegsMax {
		t.Fatalf("the demo master has only %d instruments", len(m.Instruments))
	}
	for i := 0; i <= LegsMax; i++ {
		if err := e.ApplyFill(Fill{Account: id, Instrument: m.Instruments[i].ID, Side: Buy, Qty: 1, Price: 1}); err != nil {
			t.Fatal(err)
		}
	}
	v := e.Check(Order{Account: id, Instrument: m.Instruments[0].ID, Side: Sell, Qty: 1})
	if v.Accept || v.Reason != margin.ReasonNoRiskEpoch {
		t.Fatalf("after %d fills since the epoch: %+v", LegsMax+1, v)
	}
	if s, _ := e.Status(id); !s.RiskUnknown {
		t.Fatalf("status does not say the risk is unknown: %+v", s)
	}
	for _, n := range e.Sweep() {
		if n.Account == id {
			t.Fatalf("a sweep changed the state of an account whose risk is unknown: %+v", n)
		}
	}
	if _, err := e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := e.Check(Order{Account: id, Instrument: m.Instruments[0].ID, Side: Sell, Qty: 1}); v.Reason == margin.ReasonNoRiskEpoch {
		t.Fatalf("the next epoch did not take the fills in: %+v", v)
	}
}

// The models are selectable: delta-gamma-vega instead of full revaluation,
// historical scenarios alone or after the Monte Carlo ones.
func TestSelectableModels(t *testing.T) {
	full := newFixture(t, nil)
	full.epoch(t)
	fs, _ := full.e.Status(1002)

	dgv := newFixture(t, func(c *Config) { c.LossModel = accel.DeltaGammaVega })
	dgv.epoch(t)
	ds, _ := dgv.e.Status(1002)
	if ds.ES == fs.ES || math.Abs(ds.ES-fs.ES) > 0.1*fs.ES {
		t.Fatalf("delta-gamma-vega ES %v vs full %v", ds.ES, fs.ES)
	}

	csv := "date,AAA,BBB\n2020-03-16,-0.12,-0.15\n2020-03-17,0.06,0.05\n2020-03-18,-0.05,-0.09\n"
	hist, err := scenario.ParseHistorical(strings.NewReader(csv), []string{"AAA", "BBB"})
	if err != nil {
		t.Fatal(err)
	}
	only := newFixture(t, func(c *Config) { c.Scenarios, c.Historical = 0, hist })
	only.epoch(t)
	if ep := only.e.Epochs().Current(); ep.Scenarios != 3 {
		t.Fatalf("historical only: %d scenarios", ep.Scenarios)
	}
	hs, _ := only.e.Status(1001)
	// 1000 AAA shares, worst day −12 %: with 3 scenarios k = 1 for both.
	if want := -(100 * math.Expm1(-0.12)) * 1000; math.Abs(hs.VaR-want) > 1e-6 || math.Abs(hs.ES-want) > 1e-6 {
		t.Fatalf("historical VaR %v ES %v, want %v", hs.VaR, hs.ES, want)
	}
	both := newFixture(t, func(c *Config) { c.Scenarios, c.Historical = 1000, hist })
	both.epoch(t)
	if ep := both.e.Epochs().Current(); ep.Scenarios != 1003 {
		t.Fatalf("combined: %d scenarios", ep.Scenarios)
	}
	if _, err := New(Config{Margin: margin.DefaultConfig(), Backend: &kernel.Reference{}, HorizonDays: 2, Stress: scenario.DefaultStressConfig()},
		full.e.Master(), &account.Set{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("no scenarios at all: %v", err)
	}
}
