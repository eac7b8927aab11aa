package dashboard

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/verdict"
)

// AccountSource is what AccountsSummary reads: *engine.Engine and
// httpapi.Service implementations satisfy it.
type AccountSource interface {
	// Accounts lists every account and its firm.
	Accounts() []engine.AccountInfo
	// Status returns an account's margin status (engine.ErrUnknownAccount
	// for an account that has gone).
	Status(id uint64) (engine.Status, error)
}

// HealthBoundsX10k are the health-factor histogram's bucket boundaries
// ×10,000: the buckets are <1, 1–1.1, 1.1–1.25, 1.25–1.5, 1.5–2, 2–3, ≥3,
// then "no margin" (no maintenance requirement and equity ≥ 0).
var HealthBoundsX10k = [...]int64{10_000, 11_000, 12_500, 15_000, 20_000, 30_000}

var healthLabels = [len(HealthBoundsX10k) + 2]string{"<1", "1–1.1", "1.1–1.25", "1.25–1.5", "1.5–2", "2–3", "≥3", "no margin"}

// healthBucket returns the histogram bucket of a health factor.
func healthBucket(hf float64, noMargin bool) int {
	if noMargin {
		return len(HealthBoundsX10k) + 1
	}
	if math.IsNaN(hf) {
		return 0
	}
	i := 0
	for i < len(HealthBoundsX10k) && hf >= float64(HealthBoundsX10k[i])/10_000 {
		i++
	}
	return i
}

// newHealth returns the empty histogram with its labels and bounds.
func newHealth() []HealthBucket {
	h := make([]HealthBucket, len(healthLabels))
	for i := range h {
		h[i].Label = healthLabels[i]
		if i > 0 && i <= len(HealthBoundsX10k) {
			lo := HealthBoundsX10k[i-1]
			h[i].Lower = &lo
		}
		if i < len(HealthBoundsX10k) {
			hi := HealthBoundsX10k[i]
			h[i].Upper = &hi
		}
	}
	return h
}

// wireMoney converts currency units to the API's 1/10,000 integers, as
// the verdict protocol and the HTTP API do.
var wireMoney = verdict.WireMoney

// ranked is a candidate for the worst-accounts list.
type ranked struct {
	key float64 // health factor; NaN ranks as -Inf (worst)
	row AccountRow
}

// worse reports whether a ranks before b (lower health factor, then lower id).
func (a *ranked) worse(b *ranked) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.row.ID < b.row.ID
}

// worstHeap keeps the k worst candidates; the root is the least bad kept.
type worstHeap []ranked

func (h worstHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[p].worse(&h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (h worstHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[l].worse(&h[r]) {
			m = r
		}
		if !h[i].worse(&h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// offer considers c for a heap bounded at k entries.
func (h *worstHeap) offer(c ranked, k int) {
	if k == 0 {
		return
	}
	if len(*h) < k {
		*h = append(*h, c)
		h.up(len(*h) - 1)
		return
	}
	if c.worse(&(*h)[0]) {
		(*h)[0] = c
		h.down(0)
	}
}

// AccountsSummary summarises every account of src: counts by state, stale
// and risk-unknown counts, the health-factor histogram and the worstMax
// (0 to WorstMax) accounts with the lowest health factor. It calls
// src.Status once per account, so its cost is linear in the accounts
// (plus O(n log worstMax) ranking); serve it through a Cache when a page
// may ask often. An account that disappears between the listing and its
// status is skipped.
func AccountsSummary(src AccountSource, worstMax int) (Accounts, error) {
	if src == nil || worstMax < 0 || worstMax > WorstMax {
		return Accounts{}, fmt.Errorf("%w: worstMax %d not in [0, %d]", ErrInvalid, worstMax, WorstMax)
	}
	a := Accounts{Generated: time.Now(), Health: newHealth()}
	heap := make(worstHeap, 0, worstMax)
	for _, info := range src.Accounts() {
		st, err := src.Status(info.ID)
		if errors.Is(err, engine.ErrUnknownAccount) {
			continue
		}
		if err != nil {
			return Accounts{}, fmt.Errorf("dashboard: status of account %d: %w", info.ID, err)
		}
		a.Total++
		switch st.State {
		case margin.Healthy:
			a.ByState.Healthy++
		case margin.MarginCall:
			a.ByState.MarginCall++
		default:
			a.ByState.Liquidate++
		}
		if st.Stale {
			a.Stale++
		}
		if st.AttestationExpired {
			a.AttestationExpired++
		}
		if st.RiskUnknown {
			a.RiskUnknown++
			continue
		}
		mm := st.Requirement.MM
		noMargin := !(mm > 0) && !math.IsNaN(mm) && st.Equity >= 0
		a.Health[healthBucket(st.HealthFactor, noMargin)].Count++
		key := st.HealthFactor
		if math.IsNaN(key) {
			key = math.Inf(-1)
		}
		firm := st.Firm
		if firm == "" {
			firm = info.Firm
		}
		heap.offer(ranked{key: key, row: AccountRow{ID: info.ID, Firm: firm, State: st.State.String(), Epoch: st.Epoch,
			Equity: wireMoney(st.Equity), InitialMargin: wireMoney(st.Requirement.IM), MaintenanceMargin: wireMoney(mm),
			HealthFactor: wireMoney(st.HealthFactor), NoMargin: noMargin, Stale: st.Stale}}, worstMax)
	}
	slices.SortFunc(heap, func(x, y ranked) int {
		if x.worse(&y) {
			return -1
		}
		if y.worse(&x) {
			return 1
		}
		return 0
	})
	a.Worst = make([]AccountRow, len(heap))
	for i := range heap {
		a.Worst[i] = heap[i].row
	}
	return a, nil
}
