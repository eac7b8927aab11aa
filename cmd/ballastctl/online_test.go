package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/httpapi"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/kernel"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
)

// The engine's test book (engine/enginetest): accounts 1001, 1002 of acme,
// 2001, 2002 of beta, 3001 of gamma, valued at testAsOf.
var testAsOf = enginetest.AsOf

const (
	tokAdmin = "adm-secret"
	tokAcme  = "acme-secret"
	tokOps   = "ops-secret"
)

var testTokens = map[string]string{tokAdmin: "admin", tokAcme: "firm:acme", "beta-secret": "firm:beta", tokOps: "ops"}

// fixture is an engine served over SBE and HTTP on loopback.
type fixture struct {
	eng       *engine.Engine
	sbeAddr   string
	httpURL   string
	attestKey ed25519.PrivateKey
}

// notices says which server sweeps the engine for state changes (a sweep
// reports each change once, so only one of them may).
type notices int

const (
	noticesNone notices = iota
	noticesSBE
	noticesHTTP
)

const sweepInterval = 10 * time.Millisecond

func newFixture(t *testing.T, who notices) *fixture {
	t.Helper()
	m, set := enginetest.Book(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := attest.NewVerifier(attest.Config{Keys: map[string]ed25519.PublicKey{"custodian-a": pub},
		Now: func() time.Time { return testAsOf }, ValidityMax: 72 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.DefaultConfig(&kernel.Reference{})
	cfg.Scenarios = 500
	cfg.Now = func() time.Time { return testAsOf }
	cfg.Verifier = ver
	eng, err := engine.New(cfg, m, set)
	if err != nil {
		t.Fatal(err)
	}
	eng.MarkAllFresh()
	if _, err := eng.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	eng.Sweep() // the initial states: later sweeps report changes only

	j, _, err := journal.Open(filepath.Join(t.TempDir(), "wal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fills, err := verdict.NewEngineService(eng, j, 0)
	if err != nil {
		t.Fatal(err)
	}
	vcfg := verdict.Config{Tokens: testTokens, NoticeInterval: -1}
	if who == noticesSBE {
		vcfg.NoticeInterval = sweepInterval
	}
	vs, err := verdict.NewServer(vcfg, fills)
	if err != nil {
		t.Fatal(err)
	}
	hsvc, err := httpapi.NewEngineService(eng, fills)
	if err != nil {
		t.Fatal(err)
	}
	hcfg := httpapi.Config{Tokens: testTokens}
	if who == noticesHTTP {
		hcfg.Sweep, hcfg.SweepInterval = eng.Sweep, sweepInterval
	}
	hs, err := httpapi.New(hcfg, hsvc)
	if err != nil {
		t.Fatal(err)
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := vs.Serve(sln); !errors.Is(err, verdict.ErrServerClosed) {
			t.Errorf("verdict Serve: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := hs.Serve(hln); err != nil {
			t.Errorf("httpapi Serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := vs.Shutdown(ctx); err != nil {
			t.Errorf("verdict shutdown: %v", err)
		}
		if err := hs.Shutdown(ctx); err != nil {
			t.Errorf("httpapi shutdown: %v", err)
		}
		wg.Wait()
		j.Close()
	})
	return &fixture{eng: eng, sbeAddr: sln.Addr().String(), httpURL: "http://" + hln.Addr().String(), attestKey: priv}
}

// run runs ballastctl with the fixture's addresses and token.
func (f *fixture) run(t *testing.T, transport, token string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append(append([]string(nil), args...), "--sbe", f.sbeAddr, "--http", f.httpURL, "--token", token, "--timeout", "5s")
	if transport != "" {
		full = append(full, "--transport", transport)
	}
	var out, errb bytes.Buffer
	code = run(full, &out, &errb)
	return code, out.String(), errb.String()
}

var transports = []string{transportSBE, transportHTTP}

func decodeLine[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Fatalf("want one JSON line, got %q", s)
	}
	return v
}

func TestCheckCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	want := f.eng.Check(engine.Order{Account: 1001, Instrument: 1, Side: engine.Buy, Qty: 10, Price: 100.5})
	if !want.Accept || want.Epoch == 0 {
		t.Fatalf("the test order should be accepted: %+v", want)
	}
	for _, tr := range transports {
		code, out, errs := f.run(t, tr, tokAcme, "check", "--account", "1001", "--instrument", "1", "--side", "buy",
			"--qty", "10", "--price", "100.5", "--json")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tr, code, errs)
		}
		r := decodeLine[checkOut](t, out)
		if r.Transport != tr || r.Decision != "accept" || r.Reason != "none" || r.State != want.State.String() ||
			r.Epoch != want.Epoch || r.Price != 1005000 || r.Side != "buy" || r.Qty != 10 ||
			r.InitialMargin != verdict.WireMoney(want.IM) || r.PostTradeInitialMargin != verdict.WireMoney(want.PostIM) ||
			r.Equity != verdict.WireMoney(want.Equity) || r.MaintenanceMargin != verdict.WireMoney(want.MM) {
			t.Errorf("%s: %+v, engine %+v", tr, r, want)
		}
		if (r.PostTradeEquity != nil) != (tr == transportHTTP) ||
			r.PostTradeEquity != nil && *r.PostTradeEquity != verdict.WireMoney(want.PostEquity) {
			t.Errorf("%s: post-trade equity %v", tr, r.PostTradeEquity)
		}
		// Human form.
		code, out, errs = f.run(t, tr, tokAcme, "check", "--account", "1001", "--instrument", "1", "--side", "buy",
			"--qty", "10", "--price", "100.5")
		wantLine := "ACCEPT  account 1001  state HEALTHY  epoch 1  BUY 10 instrument 1 @ 100.5000  equity " +
			formatUnits(verdict.WireMoney(want.Equity))
		if code != exitOK || !strings.HasPrefix(out, wantLine) ||
			!strings.Contains(out, "IM "+formatUnits(verdict.WireMoney(want.IM))+" → "+formatUnits(verdict.WireMoney(want.PostIM))) {
			t.Errorf("%s: exit %d %q %s\nwant prefix %q", tr, code, out, errs, wantLine)
		}
	}
	// A reject is an answer: exit 0 with the reason (an oversized buy on
	// account 3001, which has little cash).
	big := f.eng.Check(engine.Order{Account: 3001, Instrument: 1, Side: engine.Buy, Qty: 100000})
	if big.Accept || big.Reason.String() != "insufficient margin" {
		t.Fatalf("the big order should be refused for margin: %+v", big)
	}
	for _, tr := range transports {
		code, out, errs := f.run(t, tr, tokAdmin, "check", "--account", "3001", "--instrument", "1", "--side", "BUY", "--qty", "100000")
		if code != exitOK || !strings.HasPrefix(out, "REJECT  INSUFFICIENT_MARGIN  account 3001") || !strings.Contains(out, "@ mark") {
			t.Errorf("%s: exit %d %q %s", tr, code, out, errs)
		}
		code, out, _ = f.run(t, tr, tokAdmin, "check", "--account", "3001", "--instrument", "1", "--side", "buy", "--qty", "100000", "--json")
		if r := decodeLine[checkOut](t, out); code != exitOK || r.Decision != "reject" || r.Reason != "insufficient margin" {
			t.Errorf("%s: exit %d %+v", tr, code, r)
		}
		// Unknown account (admin): a REJECT verdict on both transports.
		code, out, errs = f.run(t, tr, tokAdmin, "check", "--account", "4242", "--instrument", "1", "--side", "buy", "--qty", "1")
		if code != exitOK || !strings.HasPrefix(out, "REJECT  UNKNOWN_ACCOUNT") {
			t.Errorf("%s unknown account: exit %d %q %s", tr, code, out, errs)
		}
	}
	// Another firm's account: a NOT_AUTHORISED verdict over SBE, 403 over HTTP.
	code, out, errs := f.run(t, transportSBE, tokAcme, "check", "--account", "2001", "--instrument", "1", "--side", "buy", "--qty", "1")
	if code != exitOK || !strings.HasPrefix(out, "REJECT  NOT_AUTHORISED  account 2001") {
		t.Errorf("sbe foreign: exit %d %q %s", code, out, errs)
	}
	code, out, errs = f.run(t, transportHTTP, tokAcme, "check", "--account", "2001", "--instrument", "1", "--side", "buy", "--qty", "1")
	if code != exitFail || out != "" || !strings.Contains(errs, "HTTP 403 Forbidden: order 0: account not accessible to this token") {
		t.Errorf("http foreign: exit %d %q %q", code, out, errs)
	}
}

func TestAccountCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	st, err := f.eng.Status(1002)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		for _, args := range [][]string{{"account", "1002", "--json"}, {"account", "--account", "1002", "--json"}} {
			code, out, errs := f.run(t, tr, tokAcme, args...)
			if code != exitOK {
				t.Fatalf("%s %v: exit %d %s", tr, args, code, errs)
			}
			a := decodeLine[accountOut](t, out)
			if a.Transport != tr || a.Account != 1002 || a.State != st.State.String() || a.Epoch != st.Epoch ||
				a.Equity != verdict.WireMoney(st.Equity) || a.InitialMargin != verdict.WireMoney(st.Requirement.IM) ||
				a.MaintenanceMargin != verdict.WireMoney(st.Requirement.MM) || a.VaR != verdict.WireMoney(st.VaR) ||
				a.ES != verdict.WireMoney(st.ES) || a.HealthFactor != verdict.WireMoney(st.HealthFactor) {
				t.Errorf("%s: %+v, engine %+v", tr, a, st)
			}
			if tr == transportHTTP {
				if a.Firm != "acme" || a.Positions == nil || len(*a.Positions) != 3 || a.Collateral == nil ||
					a.Collateral.CreditLine != 100000*10000 || a.Stale == nil || *a.Stale {
					t.Errorf("http extras: %+v", a)
				}
			} else if a.Firm != "" || a.Positions != nil || a.Collateral != nil || a.Stale != nil {
				t.Errorf("sbe carries no extras: %+v", a)
			}
		}
		code, out, errs := f.run(t, tr, tokAcme, "account", "1002")
		if code != exitOK || !strings.Contains(out, "account 1002") || !strings.Contains(out, "health factor") ||
			!strings.Contains(out, "equity") || !strings.Contains(out, formatUnits(verdict.WireMoney(st.Equity))) {
			t.Errorf("%s human: exit %d %q %s", tr, code, out, errs)
		}
		if tr == transportHTTP && (!strings.Contains(out, "account 1002 (acme)") || !strings.Contains(out, "credit line") ||
			!strings.Contains(out, "instrument") || !strings.Contains(out, "-50")) {
			t.Errorf("http human lacks the extras: %q", out)
		}
	}
	// Errors: another firm's account, an unknown account, a bad token.
	for _, tc := range []struct {
		tr, token, acct, want string
	}{
		{transportSBE, tokAcme, "2001", "server refused: NOT_AUTHORISED: not authorised for this account"},
		{transportHTTP, tokAcme, "2001", "HTTP 403 Forbidden: account not accessible to this token"},
		{transportSBE, tokAdmin, "4242", "server refused: UNKNOWN_ACCOUNT"},
		{transportHTTP, tokAdmin, "4242", "HTTP 404 Not Found: unknown account"},
		{transportSBE, "wrong", "1001", "login denied by " + f.sbeAddr},
		{transportHTTP, "wrong", "1001", "HTTP 401 Unauthorized: missing or invalid bearer token"},
	} {
		code, out, errs := f.run(t, tc.tr, tc.token, "account", tc.acct)
		if code != exitFail || out != "" || !strings.Contains(errs, "ballastctl account: "+tc.want) {
			t.Errorf("%+v: exit %d %q %q", tc, code, out, errs)
		}
	}
}

func TestFillCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	qty := func() int64 {
		st, err := f.eng.Status(1001)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range st.Positions {
			if p.Instrument == 1 {
				return p.Qty
			}
		}
		return 0
	}
	before := qty()
	for i, tr := range transports {
		exec := []string{"7001", "7002"}[i]
		args := []string{"fill", "--account", "1001", "--instrument", "1", "--side", "sell", "--qty", "5", "--price", "99.25", "--exec-id", exec}
		code, out, errs := f.run(t, tr, tokAdmin, append(args, "--json")...)
		if code != exitOK {
			t.Fatalf("%s: exit %d %s", tr, code, errs)
		}
		r := decodeLine[fillOut](t, out)
		if r != (fillOut{Transport: tr, Status: "ok", ExecID: uint64(7001 + i), Account: 1001, Instrument: 1, Side: "sell", Qty: 5, Price: 992500}) {
			t.Errorf("%s: %+v", tr, r)
		}
		if got := qty(); got != before-5*int64(i+1) {
			t.Errorf("%s: position %d, want %d", tr, got, before-5*int64(i+1))
		}
		// The same exec id again: refused, not applied twice.
		code, out, errs = f.run(t, tr, tokAdmin, args...)
		want := map[string]string{transportSBE: "DUPLICATE_FILL", transportHTTP: "HTTP 409 Conflict: duplicate exec_id"}[tr]
		if code != exitFail || out != "" || !strings.Contains(errs, want) || !strings.Contains(errs, "not applied again") {
			t.Errorf("%s duplicate: exit %d %q %q", tr, code, out, errs)
		}
		if got := qty(); got != before-5*int64(i+1) {
			t.Errorf("%s: duplicate applied: position %d", tr, got)
		}
		// A firm may not book fills for another firm's account.
		code, _, errs = f.run(t, tr, tokAcme, "fill", "--account", "2001", "--instrument", "1", "--side", "buy", "--qty", "1", "--price", "1", "--exec-id", "9"+exec)
		if code != exitFail || !strings.Contains(errs, "NOT_AUTHORISED") && !strings.Contains(errs, "403") {
			t.Errorf("%s firm fill: exit %d %q", tr, code, errs)
		}
	}
	code, out, errs := f.run(t, transportSBE, tokAdmin, "fill", "--account", "1001", "--instrument", "1", "--side", "buy", "--qty", "5", "--price", "99.25", "--exec-id", "7003")
	if code != exitOK || out != "FILLED  exec id 7003  account 1001  BUY 5 instrument 1 @ 99.2500\n" {
		t.Errorf("human: exit %d %q %s", code, out, errs)
	}
}

func TestCollateralCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	code, out, errs := f.run(t, "", tokAdmin, "collateral", "--account", "3001", "--tier", "cash", "--amount", "12345.6789", "--json")
	if code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	a := decodeLine[accountOut](t, out)
	if a.Transport != transportHTTP || a.Account != 3001 || a.Collateral == nil || a.Collateral.Cash != 123456789 {
		t.Errorf("%+v", a)
	}
	st, err := f.eng.Status(3001)
	if err != nil || st.Collateral[account.Cash] != 12345.6789 {
		t.Errorf("engine cash %v %v", st.Collateral, err)
	}
	code, out, errs = f.run(t, "", tokAdmin, "collateral", "--account", "3001", "--tier", "credit_line", "--amount", "500")
	if code != exitOK || !strings.HasPrefix(out, "SET  account 3001  credit_line 500.0000\naccount 3001 (gamma)") ||
		!strings.Contains(out, "12,345.6789") {
		t.Errorf("human: exit %d %q %s", code, out, errs)
	}
	for _, tc := range []struct {
		tr, token string
		args      []string
		code      int
		want      string
	}{
		{"", tokAcme, []string{"--account", "1001", "--tier", "cash", "--amount", "1"}, exitFail, "HTTP 403 Forbidden"},
		{"", tokAdmin, []string{"--account", "4242", "--tier", "cash", "--amount", "1"}, exitFail, "HTTP 404 Not Found: unknown account"},
		{transportSBE, tokAdmin, []string{"--account", "1001", "--tier", "cash", "--amount", "1"}, exitUsage, "exists only over HTTP"},
		{"", tokAdmin, []string{"--account", "1001", "--tier", "verified", "--amount", "1"}, exitUsage, "verified comes from attestations"},
		{"", tokAdmin, []string{"--account", "1001", "--tier", "cash", "--amount", "1.00001"}, exitUsage, "more than 4 decimals"},
		{"", tokAdmin, []string{"--account", "1001", "--tier", "credit_line", "--amount", "-1"}, exitUsage, "cannot be negative"},
	} {
		code, out, errs := f.run(t, tc.tr, tc.token, append([]string{"collateral"}, tc.args...)...)
		if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q %q", tc.args, code, out, errs)
		}
	}
}

func TestAttestCommand(t *testing.T) {
	f := newFixture(t, noticesNone)
	st := attest.Statement{Account: 1001, Value: 50_000 * 10000, Asset: "T-bills", IssuedAt: testAsOf.Add(-time.Hour),
		ValidUntil: testAsOf.Add(24 * time.Hour), Nonce: 9, Attestor: "custodian-a"}
	signed, err := json.Marshal(attest.Sign(f.attestKey, st))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "att.json")
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := f.run(t, "", tokAdmin, "attest", "--file", path, "--json")
	if code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	r := decodeLine[attestOut](t, out)
	if !r.Accepted || r.Account != 1001 || r.Value != st.Value || r.Asset != "T-bills" || r.Nonce != 9 ||
		r.Attestor != "custodian-a" || r.IssuedAt != "2026-11-20T20:00:00Z" || r.ValidUntil != "2026-11-21T21:00:00Z" {
		t.Errorf("%+v", r)
	}
	if s, _ := f.eng.Status(1001); s.Collateral[account.Verified] != 50_000 {
		t.Errorf("verified collateral %v", s.Collateral)
	}
	// The same statement again, from stdin: a replay, REJECTED, exit 1.
	saved := stdin
	stdin = bytes.NewReader(signed)
	code, out, errs = f.run(t, "", tokAdmin, "attest", "--file", "-")
	stdin = saved
	if code != exitFail || !strings.HasPrefix(out, "REJECTED  replay  (attestation rejected: replay") {
		t.Errorf("replay: exit %d %q %q", code, out, errs)
	}
	// An unknown signer.
	_, other, _ := ed25519.GenerateKey(nil)
	st.Nonce, st.Attestor = 10, "stranger"
	bad, _ := json.Marshal(attest.Sign(other, st))
	stdin = bytes.NewReader(bad)
	code, out, _ = f.run(t, "", tokAdmin, "attest", "--file", "-", "--json")
	stdin = saved
	if r := decodeLine[attestOut](t, out); code != exitFail || r.Accepted || r.Reason != "unknown attestor" || !strings.Contains(r.Error, "stranger") {
		t.Errorf("stranger: exit %d %+v", code, r)
	}
	// Malformed input is refused locally; a firm may not attest.
	for _, tc := range []struct {
		token, body string
		want        string
	}{
		{tokAdmin, `{"account":1}`, "malformed"},
		{tokAdmin, strings.Repeat(" ", attest.BodyBytesMax+1), "exceeds"},
		{tokAcme, string(signed), "HTTP 403 Forbidden"},
	} {
		stdin = strings.NewReader(tc.body)
		code, out, errs := f.run(t, "", tc.token, "attest", "--file", "-")
		stdin = saved
		if code != exitFail || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%.40q: exit %d %q %q", tc.body, code, out, errs)
		}
	}
	if code, _, errs := f.run(t, "", tokAdmin, "attest", "--file", filepath.Join(t.TempDir(), "none.json")); code != exitFail || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: exit %d %q", code, errs)
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a concurrent reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startWatch runs watch in the background and waits until it says it is
// watching; the returned function waits for its end.
func (f *fixture) startWatch(t *testing.T, tr, token string, args ...string) (wait func() (int, string, string)) {
	t.Helper()
	full := append([]string{"watch"}, args...)
	full = append(full, "--sbe", f.sbeAddr, "--http", f.httpURL, "--token", token, "--transport", tr)
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(full, &out, &errb) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errb.String(), "watching margin notices") {
		select {
		case code := <-done:
			t.Fatalf("watch ended early: exit %d %q %q", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not start: %q", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() (int, string, string) {
		select {
		case code := <-done:
			return code, out.String(), errb.String()
		case <-time.After(10 * time.Second):
			t.Fatalf("watch did not end: %q %q", out.String(), errb.String())
			return 0, "", ""
		}
	}
}

func TestWatchCommand(t *testing.T) {
	for _, tc := range []struct {
		tr  string
		who notices
	}{{transportSBE, noticesSBE}, {transportHTTP, noticesHTTP}} {
		t.Run(tc.tr, func(t *testing.T) {
			f := newFixture(t, tc.who)
			// acme's token, filtered to 1001 (JSON), and unfiltered (human).
			wait1 := f.startWatch(t, tc.tr, tokAcme, "--account", "1001", "--count", "1", "--json")
			wait2 := f.startWatch(t, tc.tr, tokAdmin, "--count", "1")
			// Take 1001's cash away: it falls out of HEALTHY and the
			// server's sweep pushes the change.
			if err := f.eng.SetCollateral(1001, account.Cash, 0); err != nil {
				t.Fatal(err)
			}
			st, err := f.eng.Status(1001)
			if err != nil || st.State.String() == "HEALTHY" {
				t.Fatalf("1001 still healthy: %+v %v", st, err)
			}
			code, out, errs := wait1()
			if code != exitOK {
				t.Fatalf("exit %d %q", code, errs)
			}
			n := decodeLine[noticeOut](t, out)
			if n.Transport != tc.tr || n.Account != 1001 || n.State != st.State.String() || n.Epoch != st.Epoch ||
				n.Equity != verdict.WireMoney(st.Equity) || n.InitialMargin != verdict.WireMoney(st.Requirement.IM) || n.ReceivedAt == "" {
				t.Errorf("notice %+v, status %+v", n, st)
			}
			if tc.tr == transportHTTP && (n.Firm != "acme" || n.From != "HEALTHY" || n.EventID == "") {
				t.Errorf("http notice lacks firm/from/id: %+v", n)
			}
			code, out, errs = wait2()
			want := "account 1001  " + st.State.String()
			if tc.tr == transportHTTP {
				want = "account 1001 (acme)  HEALTHY → " + st.State.String()
			}
			if code != exitOK || strings.Count(out, "\n") != 1 || !strings.Contains(out, want) ||
				!strings.Contains(out, "equity "+formatUnits(verdict.WireMoney(st.Equity))) {
				t.Errorf("human: exit %d %q %q, want %q", code, out, errs, want)
			}
			// --duration ends a quiet watch with exit 0; a foreign
			// --account is refused up front.
			code, out, errs = f.run(t, tc.tr, tokAcme, "watch", "--duration", "50ms")
			if code != exitOK || out != "" {
				t.Errorf("duration: exit %d %q %q", code, out, errs)
			}
			code, _, errs = f.run(t, tc.tr, tokAcme, "watch", "--account", "2001")
			if code != exitFail || !strings.Contains(errs, "account 2001") || !strings.Contains(errs, "NOT_AUTHORISED") && !strings.Contains(errs, "403") {
				t.Errorf("foreign: exit %d %q", code, errs)
			}
		})
	}
}

func TestWatchServerGone(t *testing.T) {
	// A stream the server ends is a failure (exit 1), not a clean stop.
	for _, tr := range transports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			if tr == transportHTTP {
				_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n: connected\n\n" +
					"id: 1\nevent: margin\ndata: {\"account\":7,\"firm\":\"x\",\"from\":\"HEALTHY\",\"state\":\"LIQUIDATE\",\"epoch\":3,\"equity\":-10000,\"initial_margin\":5,\"maintenance_margin\":4}\n\n"))
				return
			}
			ack := sbe.LoginAck{Status: sbe.LoginStatusOK, SessionID: 1}
			_, _ = c.Write(ack.AppendFrame(nil))
		}()
		var out, errb bytes.Buffer
		code := run([]string{"watch", "--sbe", addr, "--http", "http://" + addr, "--token", "x", "--transport", tr}, &out, &errb)
		ln.Close()
		if code != exitFail || !strings.Contains(errb.String(), "connection lost") && !strings.Contains(errb.String(), "ended the event stream") {
			t.Errorf("%s: exit %d %q %q", tr, code, out.String(), errb.String())
		}
		if tr == transportHTTP && !strings.Contains(out.String(), "account 7 (x)  HEALTHY → LIQUIDATE  epoch 3  equity -1.0000  IM 0.0005  MM 0.0004") {
			t.Errorf("http event before the end: %q", out.String())
		}
	}
}

func TestOnlineUsageErrors(t *testing.T) {
	t.Setenv(tokenEnv, "")
	base := []string{"--account", "1001", "--instrument", "1", "--side", "buy", "--qty", "1"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"check"}, base...), "no token"},
		{[]string{"check", "--token", "t", "--account", "1", "--instrument", "1", "--side", "hold", "--qty", "1"}, "want buy or sell"},
		{append([]string{"check", "--token", "t", "--price", "1.23456"}, base...), "more than 4 decimals"},
		{append([]string{"check", "--token", "t", "--price", "-1"}, base...), "must not be negative"},
		{append([]string{"check", "--token", "t", "--price", "1e3"}, base...), "not a decimal amount"},
		{[]string{"check", "--token", "t", "--account", "1", "--instrument", "1", "--side", "buy", "--qty", "0"}, "--qty"},
		{[]string{"check", "--token", "t", "--instrument", "1", "--side", "buy", "--qty", "1"}, "--account is required"},
		{append([]string{"check", "--token", "t", "--transport", "udp"}, base...), "want sbe or http"},
		{append([]string{"check", "--token", "t", "--transport", "http", "--http", "ftp://x"}, base...), "--http"},
		{append([]string{"check", "--token", "t", "--sbe", "nohost"}, base...), "--sbe"},
		{append([]string{"check", "--token", "t", "--timeout", "0s"}, base...), "--timeout"},
		{append([]string{"check", "--token", strings.Repeat("x", 65)}, base...), "at most 64 bytes"},
		{append([]string{"check", "--token", "bad token"}, base...), "printable ASCII"},
		{append([]string{"check", "--token", "t", "--bogus"}, base...), "flag provided but not defined"},
		{append([]string{"fill", "--token", "t", "--price", "1"}, base...), "--exec-id is required"},
		{append([]string{"fill", "--token", "t"}, base...), "--price is required"},
		{[]string{"account", "--token", "t"}, "an account id is required"},
		{[]string{"account", "abc", "--token", "t"}, "want a positive integer id"},
		{[]string{"account", "1", "--account", "2", "--token", "t"}, "two different accounts"},
		{[]string{"account", "1", "--token", "t", "2"}, "unexpected argument"},
		{[]string{"attest", "--token", "t"}, "--file is required"},
		{[]string{"attest", "--token", "t", "--file", "x", "--transport", "sbe"}, "exists only over HTTP"},
		{[]string{"watch", "--token", "t", "--count", "-1"}, "--count"},
		{[]string{"watch", "--token", "t", "--duration", "-1s"}, "--duration"},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != exitUsage || out.Len() != 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d %q, want %q", tc.args, code, errb.String(), tc.want)
		}
	}
	// --help is not an error; the usage names the connection flags.
	var out, errb bytes.Buffer
	if code := run([]string{"watch", "--help"}, &out, &errb); code != exitOK || !strings.Contains(errb.String(), "--transport sbe|http") {
		t.Errorf("help: exit %d %q", code, errb.String())
	}
	// The token may come from the environment; nothing listens on port 1.
	t.Setenv(tokenEnv, "from-env")
	errb.Reset()
	code := run([]string{"account", "1", "--sbe", "127.0.0.1:1"}, &out, &errb)
	if code != exitFail || !strings.Contains(errb.String(), "connection refused") {
		t.Errorf("unreachable: exit %d %q", code, errb.String())
	}
}
