package main

import (
	"context"
	"encoding/json"
	"path/filepath"
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

// TestCrashScenario runs the demo appliance through scripted market events
// (the exchange simulator's crash and outage): after a 30% gap-down of
// every underlying, accounts move to LIQUIDATE and MarginNotices announce
// it; during a feed outage, once the marks are older than the policy
// allows, a risk-increasing order is refused as stale market data.
func TestCrashScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ballastd for about 15 s")
	}
	dir := t.TempDir()
	c := startChild(t, filepath.Join(dir, "data"), "--events=crash@6s:-30%; outage@9s:9s")
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
	before := c.liquidating(t)
	st, err := conn.Query(ctx, 1001)
	if err != nil {
		t.Fatal(err)
	}
	crashEpoch := st.Epoch // an epoch before the crash
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
	noticed := 0
	for drained := false; !drained; {
		select {
		case n := <-conn.Notices():
			if n.State == sbe.StateLiquidate && n.Epoch > crashEpoch {
				noticed++
			}
		default:
			drained = true
		}
	}
	if noticed == 0 {
		t.Errorf("no LIQUIDATE notice after the crash (epoch %d); log:\n%s", crashEpoch, c.logText())
	}

	// The outage: marks age past MarkAgeMax (5 s); a new position is
	// risk-increasing and must be refused as stale.
	c.waitLog(t, 20*time.Second, `"msg":"market event"`, `outage`, `"phase":"start"`)
	// Account 1001 is short instrument 1: selling more adds risk.
	order := sbe.OrderCheck{Account: 1001, Instrument: 1, Side: sbe.SideSell, Qty: 1, Price: 0}
	if st, err := conn.Query(ctx, 1001); err != nil || st.Account != 1001 {
		t.Fatal(err)
	}
	deadline = time.Now().Add(9 * time.Second)
	var v sbe.Verdict
	for time.Now().Before(deadline) {
		if v, err = conn.Check(ctx, order); err != nil {
			t.Fatal(err)
		}
		if v.Reason == sbe.ReasonStaleMarketData {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonStaleMarketData {
		t.Fatalf("during the outage: verdict %+v, want a STALE_MARKET_DATA rejection", v)
	}
	t.Logf("LIQUIDATE %d → %d after the crash, %d LIQUIDATE notices; stale rejection during the outage", before, after, noticed)
}
