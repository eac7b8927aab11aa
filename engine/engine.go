// Package engine is Ballast's risk engine: it holds the instrument master,
// the accounts with their positions and collateral, the marks the feed
// handler updates on every tick, and the risk epochs; it answers pre-trade
// checks incrementally from the current epoch and reports margin states
// (DESIGN §1, §4).
//
// Concurrency: checks, status queries and tick updates run concurrently from
// any number of goroutines; fills, collateral changes and attestations
// serialise per account (a small mutex per account); epochs are computed in
// the background and swapped in atomically (engine/epoch).
//
// Between epochs, an account's loss vector is the epoch's plus the fills it
// has had since (legs), so a check is exact for the epoch's scenarios; equity
// follows the marks on every tick, with options marked by a delta-gamma step
// from their epoch values.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/epoch"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
	"github.com/ballast-risk/ballast/engine/vol"
)

// Bounds.
const (
	// LegsMax bounds the fills an account accumulates between epochs that
	// move it away from its epoch snapshot (distinct instruments); beyond
	// it, the account's orders are refused (no risk epoch) until the next
	// epoch snapshots its positions.
	LegsMax = tail.LegsMax - 1
	// HorizonDaysMax bounds the margin horizon.
	HorizonDaysMax = 30
)

// Config configures an Engine.
type Config struct {
	// Margin is the margin policy.
	Margin margin.Config
	// Scenarios is the number of Monte Carlo scenarios per epoch (0 with
	// historical scenarios only).
	Scenarios int
	// HorizonDays is the margin horizon in trading days (h = days/252).
	HorizonDays float64
	// Seed is the base seed; epoch n uses Seed mixed with n.
	Seed uint64
	// StudentTDoF, VolOfVol and SpotVolCorr shape the Monte Carlo shocks
	// (engine/scenario).
	StudentTDoF           int
	VolOfVol, SpotVolCorr float64
	// Historical holds historical scenarios appended to the Monte Carlo
	// ones, over the master's underlyings (nil: none).
	Historical *scenario.Set
	// Stress is the stress grid.
	Stress scenario.StressConfig
	// RepairCorrelation repairs a correlation matrix that is not positive
	// semi-definite instead of refusing it.
	RepairCorrelation bool
	// LossModel selects full revaluation or delta-gamma-vega.
	LossModel accel.LossModel
	// Backend runs the risk batches.
	Backend accel.Backend
	// Verifier checks attestations (nil: attestations are refused).
	Verifier *attest.Verifier
	// Now is the wall clock (nil: time.Now). Mark ages use it too.
	Now func() time.Time
}

// DefaultConfig returns the shipped configuration with backend b.
func DefaultConfig(b accel.Backend) Config {
	return Config{
		Margin:      margin.DefaultConfig(),
		Scenarios:   10000,
		HorizonDays: 2,
		Seed:        0xBA11A57,
		Stress:      scenario.DefaultStressConfig(),
		Backend:     b,
	}
}

// ErrConfig reports an invalid engine configuration.
var ErrConfig = errors.New("engine: invalid configuration")

// Engine is the risk engine.
type Engine struct {
	cfg      Config
	master   atomic.Pointer[instrument.Master] // grows by ExtendMaster; append-only
	masterMu sync.Mutex                        // one ExtendMaster at a time; guards listings
	listings [][]byte                          // the extension documents applied, in order
	corr     *scenario.Correlation
	report   scenario.Report
	now      func() time.Time

	marks   []mark
	locates [1 << 16]atomic.Int32 // ITCH locate → underlying+1 (0: unbound)
	vols    []atomic.Pointer[vol.Surface]
	volSet  []atomic.Bool // the surface was set at run time (SetVol)

	mu       sync.RWMutex // guards the account index
	accounts map[uint64]*acctState
	order    []*acctState // in id order, for snapshots

	ticks tickCounters

	epochs epoch.Publisher
	runner epoch.Runner
	runMu  sync.Mutex

	scratch sync.Pool
}

// mark is one underlying's latest price.
type mark struct {
	bits    atomic.Uint64 // float64 price
	updated atomic.Int64  // wall-clock ns of the update, 0: never
	stale   atomic.Bool   // the feed says stale (gap)
	recvNs  atomic.Int64  // receive time of the tick behind the mark
}

// New builds an engine over master m and accounts set.
func New(cfg Config, m *instrument.Master, set *account.Set) (*Engine, error) {
	if err := cfg.Margin.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend == nil {
		return nil, fmt.Errorf("%w: no backend", ErrConfig)
	}
	hist := 0
	if cfg.Historical != nil {
		if cfg.Historical.Underlyings != len(m.Underlyings) {
			return nil, fmt.Errorf("%w: historical scenarios over %d underlyings, master has %d", ErrConfig, cfg.Historical.Underlyings, len(m.Underlyings))
		}
		hist = cfg.Historical.Scenarios
	}
	if cfg.Scenarios < 0 || cfg.Scenarios+hist < 1 || cfg.Scenarios+hist > accel.ScenariosMax {
		return nil, fmt.Errorf("%w: scenarios = %d (+%d historical), want 1..%d in all", ErrConfig, cfg.Scenarios, hist, accel.ScenariosMax)
	}
	if !(cfg.HorizonDays > 0 && cfg.HorizonDays <= HorizonDaysMax) {
		return nil, fmt.Errorf("%w: horizon_days = %v (want (0, %d])", ErrConfig, cfg.HorizonDays, HorizonDaysMax)
	}
	if _, err := scenario.NewStressGrid(cfg.Stress, make([]float64, len(m.Underlyings)), cfg.HorizonDays/252); err != nil {
		return nil, fmt.Errorf("%w: stress: %v", ErrConfig, err)
	}
	policy := scenario.Reject
	if cfg.RepairCorrelation {
		policy = scenario.Repair
	}
	corr, rep, err := scenario.NewCorrelation(len(m.Underlyings), m.Correlation, policy)
	if err != nil {
		return nil, fmt.Errorf("%w: correlation: %v", ErrConfig, err)
	}
	e := &Engine{cfg: cfg, corr: corr, report: rep, now: cfg.Now}
	e.master.Store(m)
	if e.now == nil {
		e.now = time.Now
	}
	e.marks = make([]mark, len(m.Underlyings))
	e.vols = make([]atomic.Pointer[vol.Surface], len(m.Underlyings))
	e.volSet = make([]atomic.Bool, len(m.Underlyings))
	for u := range m.Underlyings {
		e.marks[u].bits.Store(math.Float64bits(m.Underlyings[u].Spot))
		s, err := SurfaceOf(&m.Underlyings[u])
		if err != nil {
			return nil, fmt.Errorf("%w: underlying %s: vol: %v", ErrConfig, m.Underlyings[u].Symbol, err)
		}
		e.vols[u].Store(s)
	}
	e.accounts = make(map[uint64]*acctState, len(set.Accounts))
	for _, a := range set.Accounts {
		if err := e.checkPositions(a); err != nil {
			return nil, err
		}
		st := &acctState{firmID: a.Firm, acct: a.Clone(), attest: map[string]attest.Statement{}}
		e.reindex(st)
		e.accounts[a.ID] = st
		e.order = append(e.order, st)
	}
	e.runner = epoch.Runner{Backend: cfg.Backend, Publisher: &e.epochs, Now: e.now}
	e.scratch.New = func() any {
		return &checkScratch{tail: tail.NewScratch(cfg.Scenarios + hist), legs: make([]tail.Leg, 0, LegsMax+1)}
	}
	return e, nil
}

// CorrelationReport says whether the master's correlation matrix was
// repaired, and by how much.
func (e *Engine) CorrelationReport() scenario.Report { return e.report }

// Master returns the current instrument master. It is immutable; a later
// ExtendMaster publishes a new one, in which every instrument of this one
// keeps its index.
func (e *Engine) Master() *instrument.Master { return e.master.Load() }

// ExtendMaster adds the instruments of the extension document doc
// (instrument.Master.Extend) to the master and returns the new master.
// New series on the master's underlyings are listed this way during the
// day: fills may book them at once, and the next risk epoch prices them.
// Until then the engine does not know their scenario P&L and fails closed:
// a check of an order in a new instrument, and of any order of an account
// that holds one, is refused with margin.ReasonNoRiskEpoch. An invalid
// document changes nothing and fails with instrument.ErrInvalid.
func (e *Engine) ExtendMaster(doc []byte) (*instrument.Master, error) {
	return e.ExtendMasterAfter(doc, nil)
}

// ExtendMasterAfter is ExtendMaster with one step between the validation
// and the swap: record (nil: none) runs once doc is known to extend the
// current master, with other listings held back, and an error from it
// lists nothing. The durable state journals the document there.
func (e *Engine) ExtendMasterAfter(doc []byte, record func() error) (*instrument.Master, error) {
	e.masterMu.Lock()
	defer e.masterMu.Unlock()
	return e.extendLocked(doc, record)
}

// extendLocked is ExtendMasterAfter with masterMu held.
func (e *Engine) extendLocked(doc []byte, record func() error) (*instrument.Master, error) {
	n, err := e.master.Load().Extend(doc, e.now())
	if err != nil {
		return nil, err
	}
	if record != nil {
		if err := record(); err != nil {
			return nil, err
		}
	}
	e.master.Store(n)
	e.listings = append(e.listings, bytes.Clone(doc))
	return n, nil
}

// RestoreListing applies an extension document that was accepted before a
// restart (from the durable state), and reports whether it added anything:
// a listing the master already holds with the same definitions (the master
// file has since taken it in) is kept in Listings but adds nothing. A
// document the master can neither take nor already holds is an error.
func (e *Engine) RestoreListing(doc []byte) (added bool, err error) {
	e.masterMu.Lock()
	defer e.masterMu.Unlock()
	covered, err := e.master.Load().Covers(doc, e.now())
	switch {
	case err != nil:
		return false, err
	case covered:
		e.listings = append(e.listings, bytes.Clone(doc))
		return false, nil
	}
	if _, err := e.extendLocked(doc, nil); err != nil {
		return false, err
	}
	return true, nil
}

// Listings returns the extension documents applied since start-up (and
// restored), in order, for snapshots of the durable state.
func (e *Engine) Listings() [][]byte {
	e.masterMu.Lock()
	defer e.masterMu.Unlock()
	return slices.Clone(e.listings)
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

func (e *Engine) checkPositions(a *account.Account) error {
	for _, p := range a.Positions {
		if _, ok := e.Master().Index(p.Instrument); !ok {
			return fmt.Errorf("%w: account %d holds instrument %d, not in the master", ErrConfig, a.ID, p.Instrument)
		}
	}
	return nil
}

// SurfaceOf parses an underlying's vol description from the master — either
// {"flat": σ} or {"atm": σ, "slices": [SVI slices]} — into a surface, with
// engine/vol's validation (calendar arbitrage included).
func SurfaceOf(u *instrument.Underlying) (*vol.Surface, error) {
	var spec struct {
		Flat   *float64        `json:"flat"`
		ATM    *float64        `json:"atm"`
		Slices json.RawMessage `json:"slices"`
	}
	dec := json.NewDecoder(bytes.NewReader(u.Vol))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, err
	}
	doc := map[string]any{"underlying": u.Symbol}
	switch {
	case spec.Flat != nil && spec.Slices == nil:
		doc["flat"] = *spec.Flat
	case spec.Flat == nil && spec.Slices != nil:
		doc["slices"] = spec.Slices
	default:
		return nil, errors.New(`want {"flat": σ} or {"atm": σ, "slices": [...]}`)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	_, s, err := vol.Parse(data)
	return s, err
}

// SetVol replaces underlying u's smile; the next epoch uses it.
func (e *Engine) SetVol(u int, s *vol.Surface) error {
	if u < 0 || u >= len(e.vols) || s == nil {
		return fmt.Errorf("%w: underlying %d", ErrConfig, u)
	}
	e.vols[u].Store(s)
	e.volSet[u].Store(true)
	return nil
}

// Vol returns underlying u's current smile (nil for an unknown u).
func (e *Engine) Vol(u int) *vol.Surface {
	if u < 0 || u >= len(e.vols) {
		return nil
	}
	return e.vols[u].Load()
}

// VolDocument returns the engine/vol document (vol.Encode) of surface s for
// underlying u, named by its master symbol: the form in which SetVol's
// surfaces are made durable and restored (ImportVol).
func (e *Engine) VolDocument(u int, s *vol.Surface) ([]byte, error) {
	if u < 0 || u >= len(e.vols) || s == nil {
		return nil, fmt.Errorf("%w: underlying %d", ErrConfig, u)
	}
	return vol.Encode(e.Master().Underlyings[u].Symbol, s)
}

// ExportVols returns, in underlying order, the document (VolDocument) of
// every surface set at run time.
func (e *Engine) ExportVols() ([][]byte, error) {
	var out [][]byte
	for u := range e.vols {
		if !e.volSet[u].Load() {
			continue
		}
		d, err := e.VolDocument(u, e.vols[u].Load())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ImportVol applies a surface document (vol.Parse) to the underlying whose
// master symbol it names, as SetVol does. A document that does not parse
// (an error wrapping vol.ErrInvalid) or names no underlying (ErrConfig)
// changes nothing.
func (e *Engine) ImportVol(doc []byte) error {
	sym, s, err := vol.Parse(doc)
	if err != nil {
		return err
	}
	u, ok := e.Master().UnderlyingIndex(sym)
	if !ok {
		return fmt.Errorf("%w: surface for unknown underlying %q", ErrConfig, sym)
	}
	return e.SetVol(u, s)
}

// BindLocate maps an ITCH stock locate to the underlying whose ITCH symbol is
// sym (trailing spaces ignored). It reports whether sym is an underlying.
func (e *Engine) BindLocate(locate uint16, sym string) bool {
	u, ok := e.Master().ByITCH(sym)
	if !ok {
		return false
	}
	e.locates[locate].Store(int32(u) + 1)
	return true
}

// UnderlyingOfLocate returns the underlying bound to an ITCH locate.
func (e *Engine) UnderlyingOfLocate(locate uint16) (int, bool) {
	v := e.locates[locate].Load()
	return int(v) - 1, v > 0
}

// SetMark records a new price for underlying u (in currency units) and
// whether the feed considers it stale.
func (e *Engine) SetMark(u int, price float64, stale bool) {
	m := &e.marks[u]
	if price > 0 && !math.IsInf(price, 0) {
		m.bits.Store(math.Float64bits(price))
		m.updated.Store(e.now().UnixNano())
	}
	m.stale.Store(stale)
}

// Mark returns underlying u's price, when it was last updated (zero: never)
// and whether it is stale now: flagged by the feed, never updated, or older
// than the policy's MarkAgeMax.
func (e *Engine) Mark(u int) (price float64, updated time.Time, stale bool) {
	ns := e.marks[u].updated.Load()
	if ns != 0 {
		updated = time.Unix(0, ns)
	}
	return e.spot(u), updated, e.staleAt(u, e.now().UnixNano())
}

// spot is underlying u's current price.
func (e *Engine) spot(u int) float64 { return math.Float64frombits(e.marks[u].bits.Load()) }

// staleAt reports whether underlying u's mark is stale at wall-clock nowNs.
func (e *Engine) staleAt(u int, nowNs int64) bool {
	m := &e.marks[u]
	ns := m.updated.Load()
	return m.stale.Load() || ns == 0 || nowNs-ns > int64(e.cfg.Margin.MarkAgeMax)
}

// MarkAllFresh stamps every underlying's current mark as updated now: for
// offline use (replays, benchmarks) where no feed runs.
func (e *Engine) MarkAllFresh() {
	now := e.now().UnixNano()
	for u := range e.marks {
		e.marks[u].updated.Store(now)
		e.marks[u].stale.Store(false)
	}
}

// Epochs returns the epoch publisher (Acquire/Release for readers).
func (e *Engine) Epochs() *epoch.Publisher { return &e.epochs }

// Underlyings returns the number of underlyings.
func (e *Engine) Underlyings() int { return len(e.marks) }

// epochSeed derives epoch n's seed from the base seed (SplitMix64).
func epochSeed(base, n uint64) uint64 {
	z := base + n*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// RunEpoch snapshots the engine and computes, then publishes, the next
// epoch on the configured backend. Epochs are serialised.
func (e *Engine) RunEpoch(ctx context.Context) (*epoch.Epoch, error) {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	prev := e.epochs.Current()
	var n uint64 = 1
	if prev != nil {
		n = prev.ID + 1
	}
	job, meta, err := e.snapshot(epochSeed(e.cfg.Seed, n))
	if err != nil {
		return nil, err
	}
	ep, err := e.runner.Run(ctx, job, meta)
	if err != nil {
		return nil, err
	}
	return ep, nil
}
