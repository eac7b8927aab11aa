package verdict

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// newEngine builds the engine package's test book (engine/enginetest).
func newEngine(t testing.TB) *engine.Engine { return enginetest.Engine(t) }

func openJournal(t testing.TB, dir string) *journal.Journal {
	t.Helper()
	j, _, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func positionQty(t testing.TB, e *engine.Engine, acct uint64, inst instrument.ID) int64 {
	t.Helper()
	st, err := e.Status(acct)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Positions {
		if p.Instrument == inst {
			return p.Qty
		}
	}
	return 0
}

func TestFillRecordRoundTrip(t *testing.T) {
	f := sbe.Fill{ReqID: 9, Account: 1001, Instrument: 1, Side: sbe.SideSell, Qty: 4, Price: 1_000_000, ExecID: 77}
	rec := EncodeFillRecord(nil, &f)
	if len(rec) != FillRecordBytes {
		t.Fatalf("record %d bytes", len(rec))
	}
	got, err := DecodeFillRecord(rec)
	f.ReqID = 0
	if err != nil || got != f {
		t.Fatalf("got %+v %v, want %+v", got, err, f)
	}
	for _, bad := range [][]byte{nil, rec[:10], append(rec[:len(rec):len(rec)], 0), (&sbe.Ack{}).AppendFrame(nil)[sbe.SOFHBytes:]} {
		if _, err := DecodeFillRecord(bad); !errors.Is(err, ErrNotFillRecord) {
			t.Errorf("%x: %v", bad, err)
		}
	}
}

// TestEngineServiceFills: an acked fill is in the journal after reopening
// and in the engine; duplicates and invalid fills are refused and not
// journalled; replay rebuilds positions and the execId set.
func TestEngineServiceFills(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	eng := newEngine(t)
	j := openJournal(t, dir)
	svc, err := NewEngineService(eng, j, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, Config{NoticeInterval: -1}, svc)
	c := dial(t, addr, "adm")
	ctx := ctx5(t)
	before := positionQty(t, eng, 1001, 1)
	fill := sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 10, Price: 100 * 10000, ExecID: 5001}
	if err := c.Fill(ctx, fill); err != nil {
		t.Fatal(err)
	}
	if got := positionQty(t, eng, 1001, 1); got != before+10 {
		t.Fatalf("position %d, want %d", got, before+10)
	}
	var se *client.ServerError
	refusals := []struct {
		f    sbe.Fill
		code sbe.ErrorCode
	}{
		{fill, sbe.ErrorCodeDuplicateFill},
		{sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 0, ExecID: 1}, sbe.ErrorCodeInvalidFill},
		{sbe.Fill{Account: 1001, Instrument: 1, Side: 3, Qty: 1, ExecID: 2}, sbe.ErrorCodeInvalidFill},
		{sbe.Fill{Account: 1001, Instrument: 999, Side: sbe.SideBuy, Qty: 1, ExecID: 3}, sbe.ErrorCodeUnknownInstrument},
		{sbe.Fill{Account: 4242, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 4}, sbe.ErrorCodeUnknownAccount},
	}
	for _, r := range refusals {
		if err := c.Fill(ctx, r.f); !errors.As(err, &se) || se.Code != r.code {
			t.Errorf("fill %+v: %v, want %v", r.f, err, r.code)
		}
	}
	if got := positionQty(t, eng, 1001, 1); got != before+10 {
		t.Fatalf("position after refusals %d", got)
	}
	// A second fill, then the journal must hold exactly the two acked.
	fill2 := sbe.Fill{Account: 2001, Instrument: 5, Side: sbe.SideSell, Qty: 3, Price: 50 * 10000, ExecID: 5002}
	if err := c.Fill(ctx, fill2); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := openJournal(t, dir)
	defer j2.Close()
	var got []sbe.Fill
	if err := j2.Replay(1, func(_ uint64, rec []byte) error {
		f, err := DecodeFillRecord(rec)
		got = append(got, f)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	fill.ReqID, fill2.ReqID = 0, 0
	if len(got) != 2 || got[0] != fill || got[1] != fill2 {
		t.Fatalf("journal holds %+v", got)
	}
	// Replay into a fresh engine: same positions, duplicates recognised.
	eng2 := newEngine(t)
	svc2, err := NewEngineService(eng2, j2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Replay(1, func(_ uint64, rec []byte) error { return svc2.ReplayFill(rec) }); err != nil {
		t.Fatal(err)
	}
	if a, b := positionQty(t, eng2, 1001, 1), positionQty(t, eng2, 2001, 5); a != before+10 || b != positionQty(t, eng, 2001, 5) {
		t.Fatalf("replayed positions %d %d", a, b)
	}
	if code := svc2.Fill(ctx, &fill); code != sbe.ErrorCodeDuplicateFill {
		t.Fatalf("replayed execId not remembered: %v", code)
	}
}

func TestExecIDWindow(t *testing.T) {
	eng := newEngine(t)
	j := openJournal(t, t.TempDir())
	defer j.Close()
	svc, err := NewEngineService(eng, j, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := sbe.Fill{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 1, Price: 1000000}
	for id := uint64(1); id <= 4; id++ {
		f.ExecID = id
		if code := svc.Fill(ctx, &f); code != sbe.ErrorCodeNone {
			t.Fatalf("fill %d: %v", id, code)
		}
	}
	for id, want := range map[uint64]sbe.ErrorCode{1: sbe.ErrorCodeNone, 3: sbe.ErrorCodeDuplicateFill, 4: sbe.ErrorCodeDuplicateFill} {
		f.ExecID = id
		if code := svc.Fill(ctx, &f); code != want {
			t.Errorf("execId %d: %v, want %v (window of 3)", id, code, want)
		}
	}
	if len(svc.execIDs) > 3 {
		t.Errorf("execId set holds %d > 3", len(svc.execIDs))
	}
}

func TestEngineServiceVerdicts(t *testing.T) {
	eng := newEngine(t)
	j := openJournal(t, t.TempDir())
	defer j.Close()
	svc, err := NewEngineService(eng, j, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, Config{Tokens: map[string]string{"acme": "firm:acme", "adm": "admin"}, NoticeInterval: -1}, svc)
	a := dial(t, addr, "acme")
	ctx := ctx5(t)
	v, err := a.Check(ctx, sbe.OrderCheck{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 10})
	if err != nil || v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonNoRiskEpoch {
		t.Fatalf("before any epoch: %+v %v", v, err)
	}
	if _, err := eng.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := engine.Order{Account: 1001, Instrument: 1, Side: engine.Buy, Qty: 10}
	want := eng.Check(o)
	v, err = a.Check(ctx, sbe.OrderCheck{Account: 1001, Instrument: 1, Side: sbe.SideBuy, Qty: 10})
	if err != nil || v.Epoch != want.Epoch || v.Epoch == 0 || (v.Decision == sbe.DecisionAccept) != want.Accept ||
		v.Equity != WireMoney(want.Equity) || v.InitialMargin != WireMoney(want.IM) || v.PostTradeInitialMargin != WireMoney(want.PostIM) {
		t.Fatalf("verdict %+v, engine %+v, %v", v, want, err)
	}
	if v, _ := a.Check(ctx, sbe.OrderCheck{Account: 2001, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); v.Reason != sbe.ReasonNotAuthorised {
		t.Fatalf("other firm: %+v", v)
	}
	st, err := a.Query(ctx, 1002)
	es, _ := eng.Status(1002)
	if err != nil || st.Equity != WireMoney(es.Equity) || st.Var != WireMoney(es.VaR) || st.ES != WireMoney(es.ES) ||
		st.HealthFactor != WireMoney(es.HealthFactor) || st.State != sbe.State(es.State) || st.Epoch != es.Epoch {
		t.Fatalf("status %+v, engine %+v, %v", st, es, err)
	}
	if n := svc.Sweep(); len(n) > 0 {
		for _, x := range n {
			if _, ok := svc.FirmOf(x.Account); !ok || x.Epoch == 0 {
				t.Errorf("notice %+v", x)
			}
		}
	}
}
