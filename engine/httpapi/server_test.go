package httpapi

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ballast-risk/ballast/engine/attest"
)

func signedJSON(t testing.TB, attestor string, account uint64, nonce uint64) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	sg := attest.Sign(priv, attest.Statement{Account: account, Value: 5_000_000, Asset: "T-bills",
		IssuedAt: issued, ValidUntil: issued.Add(24 * time.Hour), Nonce: nonce, Attestor: attestor})
	b, err := sg.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoleMatrix sends every endpoint with every role and checks the status.
func TestRoleMatrix(t *testing.T) {
	h := newHarness(t, Config{}, newFake())
	att := signedJSON(t, "custodian-a", 1, 9)
	type call struct {
		method, path, body string
		// want per token: admin, ops, alpha, beta, none, bad
		want [6]int
	}
	const (
		fill1 = `{"account":1,"instrument":10,"side":"buy","qty":5,"price":10000,"exec_id":%d}`
	)
	calls := []call{
		{"GET", "/v1/accounts", "", [6]int{200, 403, 200, 200, 401, 401}},
		{"GET", "/v1/accounts/1", "", [6]int{200, 403, 200, 403, 401, 401}},
		{"GET", "/v1/accounts/3", "", [6]int{200, 403, 403, 200, 401, 401}},
		{"GET", "/v1/accounts/99", "", [6]int{404, 403, 403, 403, 401, 401}},
		{"POST", "/v1/check", `{"account":1,"instrument":10,"side":"buy","qty":5,"price":0}`, [6]int{200, 403, 200, 403, 401, 401}},
		{"POST", "/v1/check", `[{"account":3,"instrument":10,"side":"sell","qty":5,"price":0}]`, [6]int{200, 403, 403, 200, 401, 401}},
		{"POST", "/v1/check", `[{"account":1,"instrument":10,"side":"buy","qty":1,"price":0},{"account":3,"instrument":10,"side":"buy","qty":1,"price":0}]`, [6]int{200, 403, 403, 403, 401, 401}},
		{"PUT", "/v1/accounts/1/collateral", `{"tier":"cash","amount":1000000}`, [6]int{200, 403, 403, 403, 401, 401}},
		{"POST", "/v1/attestations", att, [6]int{201, 403, 403, 403, 401, 401}},
		{"GET", "/v1/instruments", "", [6]int{200, 200, 200, 200, 401, 401}},
		{"GET", "/v1/epochs/latest", "", [6]int{200, 200, 200, 200, 401, 401}},
		{"GET", "/metrics", "", [6]int{200, 200, 403, 403, 401, 401}},
		{"GET", "/healthz", "", [6]int{200, 200, 200, 200, 200, 200}},
		{"GET", "/readyz", "", [6]int{200, 200, 200, 200, 200, 200}},
	}
	tokens := [6]string{tokAdmin, tokOps, tokAlpha, tokBeta, "", "not-a-token"}
	exec := 0
	for _, c := range calls {
		for i, tok := range tokens {
			body := c.body
			code, got := h.do(t, c.method, c.path, tok, body)
			if code != c.want[i] {
				t.Errorf("%s %s as %q: status %d, want %d (%s)", c.method, c.path, tok, code, c.want[i], got)
				continue
			}
			if code >= 400 {
				errorOf(t, got)
			} else if !json.Valid(got) && c.path != "/metrics" {
				t.Errorf("%s %s: invalid JSON %q", c.method, c.path, got)
			}
		}
	}
	// Fills: admin only, and each one durable exactly once.
	for i, tok := range tokens {
		exec++
		body := strings.Replace(fill1, "%d", string(rune('0'+exec)), 1)
		code, got := h.do(t, "POST", "/v1/fills", tok, body)
		want := [6]int{201, 403, 403, 403, 401, 401}[i]
		if code != want {
			t.Errorf("fill as %q: %d %s, want %d", tok, code, got, want)
		}
	}
}

func TestAccountsFiltered(t *testing.T) {
	h := newHarness(t, Config{}, newFake())
	for tok, want := range map[string]string{tokAdmin: "1alpha,2alpha,3beta", tokAlpha: "1alpha,2alpha", tokBeta: "3beta"} {
		code, body := h.do(t, "GET", "/v1/accounts", tok, "")
		var got accountsBody
		if code != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("%d %s", code, body)
		}
		var parts []string
		for _, a := range got.Accounts {
			parts = append(parts, string(rune('0'+a.ID))+a.Firm)
		}
		if s := strings.Join(parts, ","); s != want {
			t.Errorf("token %s: %s, want %s", tok, s, want)
		}
	}
}

func TestAccountStatusBody(t *testing.T) {
	h := newHarness(t, Config{}, newFake())
	code, body := h.do(t, "GET", "/v1/accounts/2", tokAlpha, "")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var st map[string]any
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"account": 2.0, "firm": "alpha", "state": "MARGIN_CALL", "epoch": 7.0,
		"equity": 125000.0, "initial_margin": 200000.0, "maintenance_margin": 100000.0, "health_factor": 12500.0} {
		if st[k] != want {
			t.Errorf("%s = %v, want %v", k, st[k], want)
		}
	}
	pos := st["positions"].([]any)[0].(map[string]any)
	if pos["instrument"] != 10.0 || pos["qty"] != 3.0 || pos["price"] != 15000.0 || pos["mark"] != 20000.0 {
		t.Errorf("position %v", pos)
	}
}

func TestCheckSingleAndBatch(t *testing.T) {
	f := newFake()
	h := newHarness(t, Config{OrdersMax: 3}, f)
	code, body := h.do(t, "POST", "/v1/check", tokAlpha, `{"account":1,"instrument":10,"side":"buy","qty":500,"price":12345}`)
	var r checkResult
	if code != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if r.Decision != "reject" || r.Reason != "insufficient margin" || r.PostTradeInitialMargin != 6000000 || r.Epoch != 7 {
		t.Errorf("%+v", r)
	}
	code, body = h.do(t, "POST", "/v1/check", tokAdmin,
		`[{"account":1,"instrument":10,"side":"buy","qty":1,"price":0},{"account":99,"instrument":10,"side":"sell","qty":1,"price":0}]`)
	var b checkBatch
	if code != 200 || json.Unmarshal(body, &b) != nil || len(b.Results) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	if b.Results[0].Decision != "accept" || b.Results[1].Reason != "unknown account" || b.Results[1].Account != 99 {
		t.Errorf("%+v", b.Results)
	}
	o := `{"account":1,"instrument":10,"side":"buy","qty":1,"price":0}`
	code, body = h.do(t, "POST", "/v1/check", tokAdmin, "["+o+","+o+","+o+","+o+"]")
	if code != 400 || !strings.Contains(errorOf(t, body), "1 to 3") {
		t.Errorf("4 orders: %d %s", code, body)
	}
	if code, body = h.do(t, "POST", "/v1/check", tokAdmin, "[]"); code != 400 {
		t.Errorf("empty batch: %d %s", code, body)
	}
	// A firm that names another firm's account in a batch gets nothing checked.
	before := f.checks.Load()
	code, _ = h.do(t, "POST", "/v1/check", tokBeta, "["+o+"]")
	if code != 403 || f.checks.Load() != before {
		t.Errorf("foreign batch: %d, checks %d -> %d", code, before, f.checks.Load())
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t, Config{BodyBytesMax: 4096}, newFake())
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/check", `{"account":1,"instrument":10,"side":"buy","qty":1,"price":0,"extra":1}`, 400},
		{"POST", "/v1/check", `{"account":1,"instrument":10,"side":"buy","qty":1,"price":0} {}`, 400},
		{"POST", "/v1/check", `{"account":1,"instrument":10,"side":"hold","qty":1,"price":0}`, 400},
		{"POST", "/v1/check", `{"account":"1","instrument":10,"side":"buy","qty":1,"price":0}`, 400},
		{"POST", "/v1/check", `{"account":1,"instrument":10,"side":"buy","qty":1.5,"price":0}`, 400},
		{"POST", "/v1/check", `{"account":-1,"instrument":10,"side":"buy","qty":1,"price":0}`, 400},
		{"POST", "/v1/check", `not json`, 400},
		{"POST", "/v1/check", ``, 400},
		{"POST", "/v1/fills", `{"account":1,"instrument":10,"side":"buy","qty":0,"price":1,"exec_id":1}`, 400},
		{"POST", "/v1/fills", `{"account":1,"instrument":10,"side":"buy","qty":1,"price":-1,"exec_id":1}`, 400},
		{"POST", "/v1/fills", `{"account":1,"instrument":10,"side":"buy","qty":1,"price":1,"exec_id":1,"x":0}`, 400},
		{"POST", "/v1/fills", `{"account":99,"instrument":10,"side":"buy","qty":1,"price":1,"exec_id":1}`, 404},
		{"PUT", "/v1/accounts/1/collateral", `{"tier":"verified","amount":1}`, 400},
		{"PUT", "/v1/accounts/1/collateral", `{"tier":"cash","amount":1,"x":1}`, 400},
		{"PUT", "/v1/accounts/99/collateral", `{"tier":"cash","amount":1}`, 404},
		{"PUT", "/v1/accounts/x/collateral", `{"tier":"cash","amount":1}`, 404},
		{"POST", "/v1/attestations", `{"account":1}`, 400},
		{"POST", "/v1/attestations", signedJSON(t, "stranger", 1, 3), 422},
		{"GET", "/v1/accounts/abc", "", 404},
		{"GET", "/v1/accounts/1/positions", "", 404},
		{"GET", "/v1/nope", "", 404},
		{"POST", "/v1/accounts", "", 405},
		{"GET", "/v1/check", "", 405},
		{"DELETE", "/v1/accounts/1", "", 405},
		{"GET", "/v1/accounts/1/collateral", "", 405},
	}
	for _, c := range cases {
		code, body := h.do(t, c.method, c.path, tokAdmin, c.body)
		if code != c.want {
			t.Errorf("%s %s %.60s: %d %s, want %d", c.method, c.path, c.body, code, body, c.want)
			continue
		}
		errorOf(t, body)
	}
}

// TestBodyTooLarge announces a body over BodyBytesMax: the server answers 413
// from the headers alone, without reading the body, and closes the
// connection. The request is written by hand (headers only) because a client
// still writing the body when the server closes may lose the answer, on
// loopback TCP as on the in-memory pipe; that race is the client's, not the
// server's.
func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t, Config{BodyBytesMax: 4096}, newFake())
	conn, err := h.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /v1/check HTTP/1.1\r\nHost: ballast\r\nAuthorization: Bearer " + tokAdmin +
		"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 413 || !strings.Contains(errorOf(t, resp.Body()), "4096") {
		t.Errorf("%d %s", resp.StatusCode(), resp.Body())
	}
}

func TestFillDuplicate(t *testing.T) {
	f := newFake()
	h := newHarness(t, Config{}, f)
	body := `{"account":2,"instrument":10,"side":"sell","qty":7,"price":25000,"exec_id":77}`
	if code, b := h.do(t, "POST", "/v1/fills", tokAdmin, body); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	if code, b := h.do(t, "POST", "/v1/fills", tokAdmin, body); code != 409 {
		t.Fatalf("duplicate: %d %s", code, b)
	}
	got := f.fills[77]
	if got.Account != 2 || got.Instrument != 10 || got.Side != 2 || got.Qty != 7 || got.Price != 25000 {
		t.Errorf("%+v", got)
	}
}

func TestCollateralAndAttestation(t *testing.T) {
	f := newFake()
	h := newHarness(t, Config{}, f)
	code, body := h.do(t, "PUT", "/v1/accounts/3/collateral", tokAdmin, `{"tier":"cash","amount":2500000}`)
	var st statusBody
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Collateral.Cash != 2500000 {
		t.Fatalf("%d %s", code, body)
	}
	code, body = h.do(t, "POST", "/v1/attestations", tokAdmin, signedJSON(t, "custodian-a", 3, 5))
	var sb statementBody
	if code != 201 || json.Unmarshal(body, &sb) != nil || sb.Account != 3 || sb.Value != 5_000_000 || sb.Nonce != 5 {
		t.Fatalf("%d %s", code, body)
	}
	code, body = h.do(t, "POST", "/v1/attestations", tokAdmin, signedJSON(t, "stranger", 3, 5))
	var eb errorBody
	if code != 422 || json.Unmarshal(body, &eb) != nil || eb.Reason == "" {
		t.Fatalf("%d %s", code, body)
	}
}

func TestInstrumentsAndEpoch(t *testing.T) {
	f := newFake()
	h := newHarness(t, Config{}, f)
	code, body := h.do(t, "GET", "/v1/instruments", tokBeta, "")
	var ib instrumentsBody
	if code != 200 || json.Unmarshal(body, &ib) != nil || len(ib.Instruments) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	if c := ib.Instruments[1]; c.Strike != 1_000_000 || c.Model != "bs" || c.Expiry == nil || ib.Instruments[0].Expiry != nil {
		t.Errorf("%+v", ib.Instruments)
	}
	code, body = h.do(t, "GET", "/v1/epochs/latest", tokOps, "")
	var eb epochBody
	if code != 200 || json.Unmarshal(body, &eb) != nil || eb.ID != 7 || eb.Scenarios != 4000 || len(eb.Hash) != 64 {
		t.Fatalf("%d %s", code, body)
	}
	f.hasEpoch.Store(false)
	if code, body = h.do(t, "GET", "/v1/epochs/latest", tokOps, ""); code != 404 {
		t.Fatalf("%d %s", code, body)
	}
}

func TestReadyz(t *testing.T) {
	f := newFake()
	var live atomic.Bool
	live.Store(true)
	h := newHarness(t, Config{Ready: func() (bool, string) {
		if live.Load() {
			return true, ""
		}
		return false, "feed gap"
	}}, f)
	if code, body := h.do(t, "GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	live.Store(false)
	code, body := h.do(t, "GET", "/readyz", "", "")
	if code != 503 || !strings.Contains(string(body), "feed gap") {
		t.Fatalf("%d %s", code, body)
	}
	live.Store(true)
	f.hasEpoch.Store(false)
	code, body = h.do(t, "GET", "/readyz", "", "")
	if code != 503 || !strings.Contains(string(body), "epoch") {
		t.Fatalf("%d %s", code, body)
	}
}

func TestAuthHeaderForms(t *testing.T) {
	h := newHarness(t, Config{}, newFake())
	for _, c := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tokAdmin, 200},
		{"bearer " + tokAdmin, 200},
		{"Basic " + tokAdmin, 401},
		{tokAdmin, 401},
		{"Bearer " + tokAdmin + "x", 401},
		{"Bearer " + tokAdmin[:len(tokAdmin)-1], 401},
		{"Bearer ", 401},
		{"Bearer " + strings.Repeat("a", TokenBytesMax+1), 401},
	} {
		code, body := h.doHeader(t, "GET", "/v1/accounts", c.header)
		if code != c.want {
			t.Errorf("%.30q: %d %s, want %d", c.header, code, body, c.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	f := newFake()
	for _, cfg := range []Config{
		{Tokens: map[string]string{"t": "root"}},
		{Tokens: map[string]string{"t": "firm:"}},
		{Tokens: map[string]string{"": "admin"}},
		{BodyBytesMax: -1},
		{OrdersMax: OrdersMaxLimit + 1},
		{ReadTimeout: -time.Second},
		{BusyPoll: time.Second},
		{BusyPoll: -time.Millisecond},
		{BusyPoll: time.Millisecond, BusyPollers: 1 << 10},
	} {
		if _, err := New(cfg, f); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	if _, err := New(Config{}, nil); !errors.Is(err, ErrConfig) {
		t.Error(err)
	}
}
