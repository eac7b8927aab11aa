package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
)

// newEngine builds the engine package's test book (engine/enginetest).
func newEngine(t testing.TB) *engine.Engine { return enginetest.Engine(t) }

type engineHarness struct {
	*harness
	eng *engine.Engine
	j   *journal.Journal
	dir string
}

func newEngineHarness(t testing.TB, withEpoch bool) *engineHarness {
	t.Helper()
	eng := newEngine(t)
	dir := filepath.Join(t.TempDir(), "wal")
	j, _, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fills, err := verdict.NewEngineService(eng, j, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewEngineService(eng, fills)
	if err != nil {
		t.Fatal(err)
	}
	if withEpoch {
		if _, err := eng.RunEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	tokens := map[string]string{tokAdmin: "admin", tokOps: "ops", tokAlpha: "firm:acme", tokBeta: "firm:beta"}
	h := newHarness(t, Config{Tokens: tokens}, svc)
	t.Cleanup(func() { j.Close() })
	return &engineHarness{harness: h, eng: eng, j: j, dir: dir}
}

func (h *engineHarness) qty(t testing.TB, token string, acct uint64, inst uint32) int64 {
	t.Helper()
	code, body := h.do(t, "GET", fmt.Sprintf("/v1/accounts/%d", acct), token, "")
	var st statusBody
	if code != 200 || json.Unmarshal(body, &st) != nil {
		t.Fatalf("%d %s", code, body)
	}
	for _, p := range st.Positions {
		if p.Instrument == inst {
			return p.Qty
		}
	}
	return 0
}

// TestRealEngine runs the API over engine.Engine and verdict.EngineService.
func TestRealEngine(t *testing.T) {
	h := newEngineHarness(t, true)
	// Firms see only their own accounts and can what-if only them.
	code, body := h.do(t, "GET", "/v1/accounts", tokAlpha, "")
	if code != 200 || string(body) != `{"accounts":[{"id":1001,"firm":"acme"},{"id":1002,"firm":"acme"}]}`+"\n" {
		t.Fatalf("%d %s", code, body)
	}
	for _, acct := range []uint64{2001, 2002, 3001, 4242} {
		if code, _ := h.do(t, "GET", fmt.Sprintf("/v1/accounts/%d", acct), tokAlpha, ""); code != 403 {
			t.Errorf("acme reads %d: %d", acct, code)
		}
		o := fmt.Sprintf(`{"account":%d,"instrument":1,"side":"buy","qty":1,"price":0}`, acct)
		if code, _ := h.do(t, "POST", "/v1/check", tokAlpha, o); code != 403 {
			t.Errorf("acme checks %d: %d", acct, code)
		}
	}
	// A check the engine answers: the verdict matches a direct engine call.
	code, body = h.do(t, "POST", "/v1/check", tokAlpha, `{"account":1001,"instrument":1,"side":"buy","qty":10,"price":0}`)
	var r checkResult
	if code != 200 || json.Unmarshal(body, &r) != nil {
		t.Fatalf("%d %s", code, body)
	}
	v := h.eng.Check(engine.Order{Account: 1001, Instrument: 1, Side: engine.Buy, Qty: 10})
	if (r.Decision == "accept") != v.Accept || r.Reason != v.Reason.String() || r.Epoch != v.Epoch || r.Epoch == 0 ||
		r.PostTradeInitialMargin != verdict.WireMoney(v.PostIM) || r.InitialMargin != verdict.WireMoney(v.IM) {
		t.Errorf("HTTP %+v, engine %+v", r, v)
	}
	// Fill through the journal: 201, visible at once, duplicate 409, durable.
	before := h.qty(t, tokAdmin, 1001, 1)
	fill := `{"account":1001,"instrument":1,"side":"buy","qty":10,"price":1000000,"exec_id":5001}`
	if code, body := h.do(t, "POST", "/v1/fills", tokAdmin, fill); code != 201 {
		t.Fatalf("fill: %d %s", code, body)
	}
	if code, body := h.do(t, "POST", "/v1/fills", tokAdmin, fill); code != 409 {
		t.Fatalf("duplicate fill: %d %s", code, body)
	}
	if code, body := h.do(t, "POST", "/v1/fills", tokAdmin, `{"account":1001,"instrument":999,"side":"buy","qty":1,"price":1,"exec_id":9}`); code != 422 {
		t.Fatalf("unknown instrument: %d %s", code, body)
	}
	if got := h.qty(t, tokAlpha, 1001, 1); got != before+10 {
		t.Fatalf("position %d, want %d", got, before+10)
	}
	var recs []sbe.Fill
	if err := h.j.Replay(1, func(_ uint64, rec []byte) error {
		f, err := verdict.DecodeFillRecord(rec)
		recs = append(recs, f)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ExecID != 5001 || recs[0].Qty != 10 || recs[0].Price != 1000000 {
		t.Fatalf("journal %+v", recs)
	}
	// Collateral, instruments, epoch.
	code, body = h.do(t, "PUT", "/v1/accounts/3001/collateral", tokAdmin, `{"tier":"credit_line","amount":12340000}`)
	var st statusBody
	if code != 200 || json.Unmarshal(body, &st) != nil || st.Collateral.CreditLine != 12340000 {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := h.do(t, "PUT", "/v1/accounts/3001/collateral", tokAdmin, `{"tier":"credit_line","amount":-1}`); code != 400 {
		t.Fatalf("negative credit line: %d %s", code, body)
	}
	code, body = h.do(t, "GET", "/v1/instruments", tokBeta, "")
	var ib instrumentsBody
	if code != 200 || json.Unmarshal(body, &ib) != nil || len(ib.Instruments) != len(h.eng.Master().Instruments) || ib.Instruments[0].ID != 1 {
		t.Fatalf("%d %s", code, body)
	}
	code, body = h.do(t, "GET", "/v1/epochs/latest", tokOps, "")
	var eb epochBody
	if code != 200 || json.Unmarshal(body, &eb) != nil || eb.ID != 1 || eb.Scenarios == 0 {
		t.Fatalf("%d %s", code, body)
	}
	// No verifier configured: attestations are refused, 503.
	if code, body := h.do(t, "POST", "/v1/attestations", tokAdmin, signedJSON(t, "custodian-a", 1001, 1)); code != 503 {
		t.Fatalf("attestation without verifier: %d %s", code, body)
	}
	if code, _ := h.do(t, "GET", "/readyz", "", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
}

func TestRealEngineNoEpoch(t *testing.T) {
	h := newEngineHarness(t, false)
	if code, _ := h.do(t, "GET", "/readyz", "", ""); code != 503 {
		t.Fatalf("readyz without epoch: %d", code)
	}
	if code, _ := h.do(t, "GET", "/v1/epochs/latest", tokAdmin, ""); code != 404 {
		t.Fatalf("epoch: %d", code)
	}
	code, body := h.do(t, "POST", "/v1/check", tokAdmin, `{"account":1001,"instrument":1,"side":"buy","qty":1,"price":0}`)
	var r checkResult
	if code != 200 || json.Unmarshal(body, &r) != nil || r.Decision != "reject" || r.Reason != "no risk epoch" {
		t.Fatalf("%d %s", code, body)
	}
}
