package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// liquidating returns the dashboard's count of accounts in LIQUIDATE.
func (c *child) liquidating(t *testing.T) int {
	t.Helper()
	code, _, body := c.get(t, "/v1/dashboard", crashToken)
	var d struct {
		Accounts struct {
			ByState map[string]int `json:"by_state"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(body, &d); code != 200 || err != nil {
		t.Fatalf("dashboard: %d %v", code, err)
	}
	return d.Accounts.ByState["LIQUIDATE"]
}

// waitLog waits for a log line containing every one of parts.
func (c *child) waitLog(t *testing.T, timeout time.Duration, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(c.logText(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line with %q; log:\n%s", parts, c.logText())
}

// positions reads an account's positions over HTTP: instrument → qty.
func (c *child) positions(t *testing.T, acct uint64) map[uint32]int64 {
	t.Helper()
	code, _, body := c.get(t, fmt.Sprintf("/v1/accounts/%d", acct), crashToken)
	var st struct {
		Positions []struct {
			Instrument uint32 `json:"instrument"`
			Qty        int64  `json:"qty"`
		} `json:"positions"`
	}
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("GET account %d: %d %v %s", acct, code, err, body)
	}
	out := make(map[uint32]int64, len(st.Positions))
	for _, p := range st.Positions {
		if p.Qty != 0 {
			out[p.Instrument] = p.Qty
		}
	}
	return out
}

// candidatesMax bounds the orders tried when looking for one that raises
// (or lowers) an account's initial margin.
const candidatesMax = 16

// findOrder sends the order of each candidate in turn (at most candidatesMax)
// and returns the first verdict that want accepts, with its order. The
// engine's own IM and post-trade IM, carried by the verdict, say whether an
// order raises or lowers the account's risk at that moment.
func findOrder(ctx context.Context, conn *client.Conn, orders []sbe.OrderCheck,
	want func(sbe.Verdict) bool) (sbe.OrderCheck, sbe.Verdict, bool, error) {
	for i, o := range orders {
		if i == candidatesMax {
			break
		}
		v, err := conn.Check(ctx, o)
		if err != nil {
			return o, v, false, err
		}
		if want(v) {
			return o, v, true, nil
		}
	}
	return sbe.OrderCheck{}, sbe.Verdict{}, false, nil
}

// probe is findOrder failing the test when no candidate is wanted.
func probe(t *testing.T, ctx context.Context, conn *client.Conn, what string, orders []sbe.OrderCheck,
	want func(sbe.Verdict) bool) (sbe.OrderCheck, sbe.Verdict) {
	t.Helper()
	o, v, ok, err := findOrder(ctx, conn, orders, want)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("no %s order among %d candidates", what, min(len(orders), candidatesMax))
	}
	return o, v
}

// raises says a verdict's order raises the account's initial margin.
func raises(v sbe.Verdict) bool { return v.PostTradeInitialMargin > v.InitialMargin }

// positionOrders returns, for each position of pos (largest first), an
// order of qty(position) on the side sign(position) × dir (1: adding to
// the position, -1: taking from it).
func positionOrders(acct uint64, pos map[uint32]int64, dir int64, qty func(int64) int64) []sbe.OrderCheck {
	type leg struct {
		inst uint32
		q    int64
	}
	legs := make([]leg, 0, len(pos))
	for inst, q := range pos {
		legs = append(legs, leg{inst, q})
	}
	sort.Slice(legs, func(i, j int) bool {
		ai, aj := max(legs[i].q, -legs[i].q), max(legs[j].q, -legs[j].q)
		if ai != aj {
			return ai > aj
		}
		return legs[i].inst < legs[j].inst
	})
	out := make([]sbe.OrderCheck, 0, len(legs))
	for _, l := range legs {
		side := sbe.SideBuy
		if l.q*dir < 0 {
			side = sbe.SideSell
		}
		out = append(out, sbe.OrderCheck{Account: acct, Instrument: l.inst, Side: side, Qty: qty(max(l.q, -l.q)), Price: 0})
	}
	return out
}

// logAttrs returns the JSON log lines whose msg is msg and whose attributes
// include every one of match.
func (c *child) logAttrs(msg string, match map[string]any) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(c.logText(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && m[k] == v
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// TestCrashScenario runs the demo appliance through scripted market events
// (the exchange simulator's crash, volatility spike and outage), as the
// README tells it:
//   - after a 30% gap-down of every underlying, accounts move to
//     MARGIN_CALL and LIQUIDATE and MarginNotices announce both, and an
//     order that raises a crashed account's margin is refused with
//     INSUFFICIENT_MARGIN;
//   - the volatility spike scales every underlying's surface ×3 (its
//     30-day ATM vol triples) and its end restores them;
//   - during the feed outage, once the marks are older than the policy
//     allows, the same risk-increasing order is refused as stale market
//     data (fail closed), while an order that lowers the account's margin
//     is still accepted.
func TestCrashScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ballastd for about 20 s")
	}
	dir := t.TempDir()
	// Epochs every 500ms (not startChild's 200ms) leave the session the
	// CPU to keep time on a small machine under the race detector.
	c := startChild(t, filepath.Join(dir, "data"), "--events=crash@6s:-30%; volspike@8s:x3:2s; outage@11s:9s", "--epoch-every=500ms")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, c.sbeAddr, crashToken, client.Options{NoticesMax: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for ready := time.Now().Add(10 * time.Second); time.Now().Before(ready); time.Sleep(20 * time.Millisecond) {
		if code, _, _ := c.get(t, "/readyz", ""); code == 200 {
			break
		}
	}
	// The notices from here on are the crash's (the state changes of the
	// first epochs, and any churn before the crash, are dropped).
	var liquidated []uint64
	calls := 0
	drain := func(keep bool) {
		for {
			select {
			case n := <-conn.Notices():
				switch {
				case !keep:
				case n.State == sbe.StateLiquidate:
					liquidated = append(liquidated, n.Account)
				case n.State == sbe.StateMarginCall:
					calls++
				}
			default:
				return
			}
		}
	}
	drain(false)
	before := c.liquidating(t)
	// Every account's state before the crash.
	code, _, body := c.get(t, "/v1/accounts", crashToken)
	var list struct {
		Accounts []struct {
			ID uint64 `json:"id"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list.Accounts) == 0 {
		t.Fatalf("GET /v1/accounts: %d %v %s", code, err, body)
	}
	preCrash := make(map[uint64]sbe.State, len(list.Accounts))
	for _, a := range list.Accounts {
		st, err := conn.Query(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		preCrash[a.ID] = st.State
	}
	if strings.Contains(c.logText(), "crash@6s:-30%") {
		t.Fatal("the crash came before the test was ready (a slow start): cannot tell before from after")
	}

	c.waitLog(t, 20*time.Second, `"msg":"market event"`, `crash`, `"phase":"start"`)
	deadline := time.Now().Add(15 * time.Second)
	after := before
	for after < before+10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		after = c.liquidating(t)
	}
	if after < before+10 {
		t.Fatalf("LIQUIDATE accounts %d before the crash, %d after; log:\n%s", before, after, c.logText())
	}
	// The notices since the crash: accounts that went to LIQUIDATE (a
	// notice is a change of state) and to MARGIN_CALL.
	drain(true)
	if len(liquidated) == 0 {
		t.Fatalf("no LIQUIDATE notice after the crash; log:\n%s", c.logText())
	}

	// A crashed account (not in LIQUIDATE before the crash, sent there
	// since, and there now): adding to its largest position raises its
	// IM, and its equity (below MM) cannot cover it.
	crashed := uint64(0)
	for _, id := range liquidated {
		if preCrash[id] == sbe.StateLiquidate {
			continue
		}
		if st, err := conn.Query(ctx, id); err != nil {
			t.Fatal(err)
		} else if st.State == sbe.StateLiquidate {
			crashed = id
			break
		}
	}
	if crashed == 0 {
		t.Fatalf("none of the %d LIQUIDATE notices since the crash is for an account that was not in LIQUIDATE before and is now",
			len(liquidated))
	}
	pos := c.positions(t, crashed)
	double := func(q int64) int64 { return q }
	raise, v := probe(t, ctx, conn, "risk-increasing", positionOrders(crashed, pos, 1, double), raises)
	if v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonInsufficientMargin || v.State != sbe.StateLiquidate {
		t.Errorf("after the crash, risk-increasing %+v on account %d: verdict %+v, want a LIQUIDATE account's INSUFFICIENT_MARGIN rejection",
			raise, crashed, v)
	}

	// The volatility spike: every underlying's surface ×3, then back.
	spiked := map[string]any{"phase": "start", "scale": 3.0}
	c.waitLog(t, 15*time.Second, `"msg":"volatility surfaces scaled"`, `"phase":"end"`)
	starts, ends := c.logAttrs("volatility surfaces scaled", spiked),
		c.logAttrs("volatility surfaces scaled", map[string]any{"phase": "end", "scale": 1.0})
	if len(starts) != 1 || len(ends) != 1 {
		t.Fatalf("volatility spike lines: %d at ×3, %d at ×1; log:\n%s", len(starts), len(ends), c.logText())
	}
	underlyings := map[string]bool{}
	code, _, body = c.get(t, "/v1/instruments", crashToken)
	var ib struct {
		Instruments []struct {
			Underlying string `json:"underlying"`
		} `json:"instruments"`
	}
	if err := json.Unmarshal(body, &ib); code != 200 || err != nil {
		t.Fatalf("GET /v1/instruments: %d %v", code, err)
	}
	for _, in := range ib.Instruments {
		underlyings[in.Underlying] = true
	}
	for _, l := range []map[string]any{starts[0], ends[0]} {
		if n, _ := l["underlyings"].(float64); int(n) != len(underlyings) {
			t.Errorf("volatility spike %s scaled %v underlyings, want all %d", l["phase"], l["underlyings"], len(underlyings))
		}
	}
	// The ATM vol of a scaled surface is the master's times the scale.
	for _, k := range []string{"atm_vol_min", "atm_vol_max"} {
		hi, _ := starts[0][k].(float64)
		lo, _ := ends[0][k].(float64)
		if lo <= 0 || hi/lo < 2.99 || hi/lo > 3.01 {
			t.Errorf("%s %v during the spike, %v after: want ×3", k, hi, lo)
		}
	}

	// The outage: marks age past MarkAgeMax (5 s); an order raising the
	// crashed account's IM must now be refused as stale. (Which orders
	// raise it is asked again each time: the IM's binding term may change
	// with the marks and the vol surfaces.)
	c.waitLog(t, 20*time.Second, `"msg":"market event"`, `outage`, `"phase":"start"`)
	raising := positionOrders(crashed, c.positions(t, crashed), 1, double)
	var staleOrder sbe.OrderCheck
	ok := false
	for deadline = time.Now().Add(9 * time.Second); !ok && time.Now().Before(deadline); {
		o, rv, found, err := findOrder(ctx, conn, raising, raises)
		if err != nil {
			t.Fatal(err)
		}
		if found {
			staleOrder, v, ok = o, rv, rv.Reason == sbe.ReasonStaleMarketData
		}
		if !ok {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok || v.Decision != sbe.DecisionReject {
		t.Fatalf("during the outage: the last risk-increasing order %+v on account %d got %+v, want a STALE_MARKET_DATA rejection",
			staleOrder, crashed, v)
	}
	// Fail closed only for risk-increasing orders: taking half of a
	// position off, or closing it, when that lowers the crashed account's
	// IM passes. (Halving every position may not lower it: a position can
	// hedge the rest, and the IM's binding term moves with the marks.)
	pos = c.positions(t, crashed)
	lowers := func(v sbe.Verdict) bool { return v.PostTradeInitialMargin < v.InitialMargin }
	reduce, v, found, err := findOrder(ctx, conn, positionOrders(crashed, pos, -1, func(q int64) int64 { return max(1, q/2) }), lowers)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		reduce, v = probe(t, ctx, conn, "risk-reducing (half or whole position)", positionOrders(crashed, pos, -1, func(q int64) int64 { return q }), lowers)
	}
	if v.Decision != sbe.DecisionAccept || v.Reason != sbe.ReasonNone {
		t.Errorf("during the outage, risk-reducing %+v on account %d: verdict %+v, want ACCEPT", reduce, crashed, v)
	}

	drain(true)
	if calls == 0 {
		t.Errorf("no MARGIN_CALL notice after the crash; log:\n%s", c.logText())
	}
	t.Logf("LIQUIDATE %d → %d after the crash, notices since: %d to LIQUIDATE, %d to MARGIN_CALL; account %d (%s before the crash): %+v refused "+
		"(INSUFFICIENT_MARGIN), %+v refused in the outage (STALE_MARKET_DATA), %+v accepted in the outage; vol ×3 on %d underlyings",
		before, after, len(liquidated), calls, crashed, preCrash[crashed], raise, staleOrder, reduce, len(underlyings))
}
