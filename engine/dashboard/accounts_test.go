package dashboard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/enginetest"
	"github.com/ballast-risk/ballast/engine/margin"
)

// expectAccounts recomputes the summary from the engine's statuses with
// the simplest code that could work.
func expectAccounts(t *testing.T, src AccountSource, worstMax int) Accounts {
	t.Helper()
	want := Accounts{Health: newHealth()}
	type cand struct {
		hf  float64
		row AccountRow
	}
	var cands []cand
	for _, info := range src.Accounts() {
		st, err := src.Status(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		want.Total++
		switch st.State {
		case margin.Healthy:
			want.ByState.Healthy++
		case margin.MarginCall:
			want.ByState.MarginCall++
		case margin.Liquidate:
			want.ByState.Liquidate++
		}
		if st.Stale {
			want.Stale++
		}
		if st.RiskUnknown {
			want.RiskUnknown++
			continue
		}
		noMargin := st.Requirement.MM <= 0 && st.Equity >= 0
		b := len(healthLabels) - 1
		if !noMargin {
			hf := st.Equity / st.Requirement.MM
			b = 0
			for _, bound := range []float64{1, 1.1, 1.25, 1.5, 2, 3} {
				if hf >= bound {
					b++
				}
			}
		}
		want.Health[b].Count++
		cands = append(cands, cand{st.HealthFactor, AccountRow{ID: st.Account, Firm: st.Firm, State: st.State.String(),
			Epoch: st.Epoch, Equity: wireMoney(st.Equity), InitialMargin: wireMoney(st.Requirement.IM),
			MaintenanceMargin: wireMoney(st.Requirement.MM), HealthFactor: wireMoney(st.HealthFactor),
			NoMargin: noMargin, Stale: st.Stale}})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].hf != cands[j].hf {
			return cands[i].hf < cands[j].hf
		}
		return cands[i].row.ID < cands[j].row.ID
	})
	want.Worst = []AccountRow{}
	for i := 0; i < len(cands) && i < worstMax; i++ {
		want.Worst = append(want.Worst, cands[i].row)
	}
	return want
}

func compareAccounts(t *testing.T, got, want Accounts) {
	t.Helper()
	if got.Total != want.Total || got.ByState != want.ByState || got.Stale != want.Stale ||
		got.RiskUnknown != want.RiskUnknown {
		t.Errorf("counts: got total %d %+v stale %d unknown %d, want %d %+v %d %d", got.Total, got.ByState,
			got.Stale, got.RiskUnknown, want.Total, want.ByState, want.Stale, want.RiskUnknown)
	}
	if len(got.Health) != len(want.Health) {
		t.Fatalf("%d health buckets, want %d", len(got.Health), len(want.Health))
	}
	for i := range got.Health {
		if got.Health[i].Label != want.Health[i].Label || got.Health[i].Count != want.Health[i].Count {
			t.Errorf("health bucket %d: got %s=%d, want %s=%d", i, got.Health[i].Label, got.Health[i].Count,
				want.Health[i].Label, want.Health[i].Count)
		}
	}
	if len(got.Worst) != len(want.Worst) {
		t.Fatalf("worst: got %d rows, want %d", len(got.Worst), len(want.Worst))
	}
	for i := range got.Worst {
		if got.Worst[i] != want.Worst[i] {
			t.Errorf("worst[%d]: got %+v, want %+v", i, got.Worst[i], want.Worst[i])
		}
	}
}

func TestAccountsSummaryEngine(t *testing.T) {
	e := enginetest.Engine(t)
	// Before the first epoch every requirement is unknown to the engine's
	// margin model; the summary must still count every account.
	a, err := AccountsSummary(e, WorstMax)
	if err != nil {
		t.Fatal(err)
	}
	if a.Total != 5 || a.ByState.Healthy+a.ByState.MarginCall+a.ByState.Liquidate != 5 {
		t.Fatalf("before the epoch: %+v", a)
	}
	compareAccounts(t, a, expectAccounts(t, e, WorstMax))

	if _, err := e.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 1, 3, WorstMax} {
		a, err := AccountsSummary(e, k)
		if err != nil {
			t.Fatal(err)
		}
		want := expectAccounts(t, e, k)
		compareAccounts(t, a, want)
		if k >= 3 && a.Worst[0].Epoch == 0 {
			t.Errorf("worst account without the epoch id: %+v", a.Worst[0])
		}
	}
	a, _ = AccountsSummary(e, WorstMax)
	for i := 1; i < len(a.Worst); i++ {
		if a.Worst[i].HealthFactor < a.Worst[i-1].HealthFactor {
			t.Errorf("worst not ordered: %+v", a.Worst)
		}
	}
	// The test book has an under-collateralised account (2001): it must
	// head the list.
	if a.ByState.Liquidate == 0 || a.Worst[0].State != "LIQUIDATE" || a.Worst[0].NoMargin {
		t.Errorf("after the epoch: %+v, worst %+v", a.ByState, a.Worst[0])
	}
}

// fakeSource is an AccountSource over fixed statuses.
type fakeSource struct {
	infos []engine.AccountInfo
	st    map[uint64]engine.Status
	err   map[uint64]error
}

func (f *fakeSource) Accounts() []engine.AccountInfo { return f.infos }

func (f *fakeSource) Status(id uint64) (engine.Status, error) {
	if err := f.err[id]; err != nil {
		return engine.Status{}, err
	}
	return f.st[id], nil
}

func (f *fakeSource) add(st engine.Status) {
	f.infos = append(f.infos, engine.AccountInfo{ID: st.Account, Firm: st.Firm})
	if f.st == nil {
		f.st = map[uint64]engine.Status{}
	}
	f.st[st.Account] = st
}

// status builds a status for equity and MM (IM = 1.25 MM).
func status(id uint64, equity, mm float64) engine.Status {
	st := engine.Status{Account: id, Firm: "f", Equity: equity, Epoch: 3,
		HealthFactor: margin.HealthFactor(equity, mm), State: margin.StateOf(equity, 1.25*mm, mm)}
	st.Requirement.IM, st.Requirement.MM = 1.25*mm, mm
	return st
}

func TestAccountsSummaryBuckets(t *testing.T) {
	f := &fakeSource{}
	// One account exactly on every bound: a bound belongs to the bucket above.
	hfs := []float64{0.5, 1, 1.1, 1.25, 1.5, 2, 3, 1e5}
	for i, hf := range hfs {
		f.add(status(uint64(10+i), hf*1000, 1000))
	}
	f.add(status(30, 5000, 0)) // no margin
	f.add(status(31, -100, 0)) // no requirement but negative equity: HF -max, "<1"
	f.add(status(32, 0.99, 1)) // just under 1
	ru := status(33, 1, 1)     // risk unknown: counted, not bucketed or ranked
	ru.RiskUnknown, ru.HealthFactor, ru.Requirement.IM, ru.Requirement.MM = true, 0, math.NaN(), math.NaN()
	f.add(ru)
	nan := status(34, math.NaN(), 10) // NaN equity ranks worst
	f.add(nan)
	f.infos = append(f.infos, engine.AccountInfo{ID: 99, Firm: "gone"})
	f.err = map[uint64]error{99: fmt.Errorf("%w: 99", engine.ErrUnknownAccount)}

	a, err := AccountsSummary(f, 4)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, b := range a.Health {
		counts[b.Label] = b.Count
	}
	want := map[string]int{"<1": 4, "1–1.1": 1, "1.1–1.25": 1, "1.25–1.5": 1, "1.5–2": 1, "2–3": 1, "≥3": 2, "no margin": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("bucket %s = %d, want %d (all %v)", k, counts[k], v, counts)
		}
	}
	if a.Total != 13 || a.RiskUnknown != 1 {
		t.Errorf("total %d risk unknown %d, want 13, 1", a.Total, a.RiskUnknown)
	}
	ids := []uint64{}
	for _, r := range a.Worst {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[34 31 10 32]" {
		t.Errorf("worst ids %v, want [34 31 10 32]", ids)
	}
	if a.Worst[1].HealthFactor != -margin.HealthFactorMax*10_000 || a.Worst[1].NoMargin {
		t.Errorf("negative equity without requirement: %+v", a.Worst[1])
	}
	if a.Health[0].Lower != nil || *a.Health[0].Upper != 10_000 || *a.Health[6].Lower != 30_000 ||
		a.Health[6].Upper != nil || a.Health[7].Lower != nil || a.Health[7].Upper != nil {
		t.Errorf("bucket bounds wrong")
	}
	// Ties rank by id.
	g := &fakeSource{}
	for _, id := range []uint64{7, 3, 5, 1} {
		g.add(status(id, 500, 1000))
	}
	a, _ = AccountsSummary(g, 3)
	if len(a.Worst) != 3 || a.Worst[0].ID != 1 || a.Worst[1].ID != 3 || a.Worst[2].ID != 5 {
		t.Errorf("ties: %+v", a.Worst)
	}
}

func TestAccountsSummaryErrors(t *testing.T) {
	f := &fakeSource{}
	f.add(status(1, 10, 1))
	for _, k := range []int{-1, WorstMax + 1} {
		if _, err := AccountsSummary(f, k); !errors.Is(err, ErrInvalid) {
			t.Errorf("worstMax %d: %v", k, err)
		}
	}
	if _, err := AccountsSummary(nil, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil source: %v", err)
	}
	boom := errors.New("boom")
	f.err = map[uint64]error{1: boom}
	if _, err := AccountsSummary(f, 1); !errors.Is(err, boom) {
		t.Errorf("status error not returned: %v", err)
	}
	f.err = nil
	a, err := AccountsSummary(f, 0)
	if err != nil || len(a.Worst) != 0 || a.Total != 1 {
		t.Errorf("worstMax 0: %+v %v", a, err)
	}
}

// bigSource serves n accounts with spread health factors.
func bigSource(n int) *fakeSource {
	f := &fakeSource{}
	for i := 0; i < n; i++ {
		f.add(status(uint64(i+1), float64((i*7919)%5000), 1000))
	}
	return f
}

func TestAccountsSummaryLarge(t *testing.T) {
	f := bigSource(5000)
	got, err := AccountsSummary(f, WorstMax)
	if err != nil {
		t.Fatal(err)
	}
	compareAccounts(t, got, expectAccounts(t, f, WorstMax))
}

func BenchmarkAccountsSummary(b *testing.B) {
	const n = 10_000
	f := bigSource(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AccountsSummary(f, WorstMax); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

func BenchmarkAccountsSummaryEngine(b *testing.B) {
	e := enginetest.Engine(b)
	if _, err := e.RunEpoch(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AccountsSummary(e, WorstMax); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(5*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}
