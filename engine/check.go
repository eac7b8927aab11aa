package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/epoch"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/tail"
)

// Side is an order's side (DESIGN §5.2 numbering).
type Side uint8

// Order sides.
const (
	Buy  Side = 1
	Sell Side = 2
)

// Order is a pre-trade check request.
type Order struct {
	// Account places the order.
	Account uint64
	// Instrument is traded.
	Instrument instrument.ID
	// Side is Buy or Sell.
	Side Side
	// Qty is the number of contracts (> 0).
	Qty int64
	// Price is the limit price in currency units (0: at the mark).
	Price float64
	// Firm, when set, is the firm asking (a trading firm's what-if): an
	// account of another firm is refused with ReasonNotAuthorised.
	Firm string
}

// Verdict is the answer to a pre-trade check.
type Verdict struct {
	// Accept is the decision.
	Accept bool
	// Reason says why an order was refused (ReasonNone when accepted).
	Reason margin.Reason
	// State is the account's margin state before the order.
	State margin.State
	// Epoch is the id of the epoch the verdict used (0: none).
	Epoch uint64
	// Equity, IM and MM are the account's figures before the order.
	Equity, IM, MM float64
	// PostEquity and PostIM are the figures after the order.
	PostEquity, PostIM float64
}

// firm returns the account's owner (immutable after creation).
func (st *acctState) firm() string { return st.firmID }

// acctState is one account and its live risk, guarded by mu (firmID is
// immutable and read without it).
type acctState struct {
	mu     sync.Mutex
	firmID string
	acct   *account.Account
	attest map[string]attest.Statement // latest accepted statement per attestor
	live   liveRisk
	// last is the state reported by the previous Sweep (for notices).
	last    margin.State
	hasLast bool
}

// liveRisk is an account's risk relative to one epoch: the epoch's loss
// vector plus the fills since its snapshot.
type liveRisk struct {
	// pos[k] is what a check needs from the master about position k
	// (reindex), so that a check does no map lookup per position.
	pos      []posRef
	ep       *epoch.Epoch // the epoch it was built on (nil: none)
	tail     *tail.Account
	legs     []tail.Leg
	overflow bool // more than LegsMax legs, or no summary: risk unknown until next epoch
	res      tail.Result
	under    []int     // underlyings held, sorted (reindex)
	delta    []float64 // Σ qty·delta per contract, per held underlying
	stress   []float64 // Σ qty·stress loss per contract, len(under)·points
	stressT  float64   // Σ_u max(0, max_p stress)
}

// Engine errors for mutations.
var (
	// ErrUnknownAccount reports an account id the engine does not hold.
	ErrUnknownAccount = errors.New("engine: unknown account")
	// ErrUnknownInstrument reports an instrument id not in the master.
	ErrUnknownInstrument = errors.New("engine: unknown instrument")
	// ErrInvalidOrder reports an order or fill with a bad side, quantity or
	// price.
	ErrInvalidOrder = errors.New("engine: invalid order")
)

// posRef is a position's instrument as a check reads it: its index in the
// master, its underlying, kind and multiplier.
type posRef struct {
	idx  int32
	u    int32
	kind instrument.Kind
	mult float64
}

// reindex rebuilds st.live.pos and st.live.under from the positions (st.mu
// held, or st not yet shared). Every change of the positions calls it.
func (e *Engine) reindex(st *acctState) {
	lv := &st.live
	m := e.Master()
	lv.pos = lv.pos[:0]
	lv.under = lv.under[:0]
	for _, p := range st.acct.Positions {
		idx, ok := m.Index(p.Instrument)
		if !ok {
			panic(fmt.Sprintf("engine: account %d holds instrument %d outside the master", st.acct.ID, p.Instrument))
		}
		in := &m.Instruments[idx]
		lv.pos = append(lv.pos, posRef{idx: int32(idx), u: int32(in.Underlying), kind: in.Kind, mult: in.Multiplier})
		if k, found := slices.BinarySearch(lv.under, in.Underlying); !found {
			lv.under = slices.Insert(lv.under, k, in.Underlying)
		}
	}
}

func (e *Engine) state(id uint64) *acctState {
	e.mu.RLock()
	st := e.accounts[id]
	e.mu.RUnlock()
	return st
}

// rebase brings st.live onto epoch ep (st.mu held). It recomputes the legs
// (positions now minus positions at ep's snapshot), the tail with them, and
// the per-underlying stress and delta.
func (e *Engine) rebase(st *acctState, ep *epoch.Epoch, sc *tail.Scratch) {
	e.reindex(st)
	lv := &st.live
	lv.ep = ep
	lv.legs = lv.legs[:0]
	lv.overflow = false
	lv.delta = lv.delta[:0]
	lv.stress = lv.stress[:0]
	lv.stressT = 0
	if ep == nil {
		lv.tail = nil
		lv.res = tail.Result{VaR: math.NaN(), ES: math.NaN()}
		return
	}
	meta := ep.Meta.(*snapshot)
	row := meta.accountRow(st.acct)
	lv.tail = meta.zero
	var snapI []uint32
	var snapQ []float64
	if row >= 0 {
		snapI, snapQ = meta.positionsOf(row)
		a, err := ep.Account(row, sc)
		if err != nil {
			// Fail closed: no risk figures for this account in this epoch.
			lv.tail = nil
			lv.overflow = true
			lv.res = tail.Result{VaR: math.NaN(), ES: math.NaN()}
			return
		}
		lv.tail = a
	}
	// Positions are sorted by instrument id and the snapshot lists them in
	// the same order: walk both as a merge on the id.
	m := e.Master()
	pos := st.acct.Positions
	priced := len(ep.Instruments) // instruments listed later have no P&L in ep
	i, j := 0, 0
	for i < len(pos) || j < len(snapI) {
		var idx int
		var cur, was float64
		switch {
		case j >= len(snapI) || (i < len(pos) && pos[i].Instrument < m.Instruments[snapI[j]].ID):
			idx, _ = m.Index(pos[i].Instrument)
			cur = float64(pos[i].Qty)
			i++
		case i >= len(pos) || m.Instruments[snapI[j]].ID < pos[i].Instrument:
			idx = int(snapI[j])
			was = snapQ[j]
			j++
		default:
			idx = int(snapI[j])
			cur, was = float64(pos[i].Qty), snapQ[j]
			i++
			j++
		}
		if d := cur - was; d != 0 {
			if len(lv.legs) >= LegsMax || idx >= priced {
				lv.overflow = true
			} else {
				lv.legs = append(lv.legs, tail.Leg{In: &ep.Instruments[idx], Q: d})
			}
		}
	}
	if lv.overflow {
		lv.res = tail.Result{VaR: math.NaN(), ES: math.NaN()}
	} else {
		lv.res = tail.PostTradeMulti(lv.tail, lv.legs, sc)
	}
	// Per-underlying stress and delta from the current positions.
	pts := meta.points
	lv.delta = slices.Grow(lv.delta, len(lv.under))[:len(lv.under)]
	clear(lv.delta)
	lv.stress = slices.Grow(lv.stress, len(lv.under)*pts)[:len(lv.under)*pts]
	clear(lv.stress)
	for i, p := range pos {
		idx := int(lv.pos[i].idx)
		if idx >= priced {
			continue // risk unknown until the next epoch: overflow is set
		}
		k, _ := slices.BinarySearch(lv.under, int(lv.pos[i].u))
		q := float64(p.Qty)
		lv.delta[k] += q * ep.Result.Greeks[idx].Delta
		row := ep.Result.InstrumentStress[idx*pts : (idx+1)*pts]
		for x := range pts {
			lv.stress[k*pts+x] += q * row[x]
		}
	}
	for k := range lv.under {
		lv.stressT += scanRisk(lv.stress[k*pts : (k+1)*pts])
	}
}

// scanRisk is the SPAN scan risk of one underlying's stress losses: the
// worst weighted loss, never below zero.
func scanRisk(losses []float64) float64 {
	w := 0.0
	for _, x := range losses {
		w = max(w, x)
	}
	return w
}

// sync brings st onto the current epoch ep if it is on another.
func (e *Engine) sync(st *acctState, ep *epoch.Epoch, sc *tail.Scratch) {
	if st.live.ep != ep || (ep == nil && st.live.tail != nil) {
		e.rebase(st, ep, sc)
	}
}

// markValue is instrument idx's value per unit at the current marks: linear
// instruments exactly; options by a delta-gamma step from their epoch value
// (their entry price when there is no epoch yet, so no P&L is invented).
func (e *Engine) markValue(idx int, ep *epoch.Epoch, entry float64) float64 {
	in := &e.Master().Instruments[idx]
	return e.markValueOf(&posRef{idx: int32(idx), u: int32(in.Underlying), kind: in.Kind, mult: in.Multiplier}, ep, entry)
}

// markValueOf is markValue for a position's cached reference.
func (e *Engine) markValueOf(r *posRef, ep *epoch.Epoch, entry float64) float64 {
	spot := e.spot(int(r.u))
	switch r.kind {
	case instrument.Spot:
		return spot
	case instrument.Future:
		if ep != nil && int(r.idx) < len(ep.Instruments) {
			return spot * ep.Meta.(*snapshot).job.Instruments[r.idx].Carry
		}
		m := e.Master()
		return spot * math.Exp((m.Rate-m.Underlyings[r.u].Div)*instrument.YearsBetween(e.now(), m.Instruments[r.idx].Expiry))
	}
	if ep == nil || int(r.idx) >= len(ep.Instruments) {
		return entry // no epoch prices it yet: no P&L is invented
	}
	meta := ep.Meta.(*snapshot)
	g := &ep.Result.Greeks[r.idx]
	ds := spot - meta.spots[r.u]
	return ep.Result.Value[r.idx] + (g.Delta*ds+0.5*g.Gamma*ds*ds)/r.mult
}

// collateral returns the account's balances by tier with the verified tier
// taken from unexpired attestations, and whether one has expired.
func (e *Engine) collateral(st *acctState, now time.Time) (bal [account.TiersCount]float64, expired bool) {
	bal = st.acct.Collateral
	bal[account.Verified] = 0
	for _, s := range st.attest {
		if s.ExpiredAt(now) {
			expired = true
			continue
		}
		bal[account.Verified] += float64(s.Value) / moneyScale
	}
	return bal, expired
}

// moneyScale converts wire money (1/10,000) to currency units.
const moneyScale = 10000

// equity is weighted collateral plus unrealised P&L at the current marks.
func (e *Engine) equity(st *acctState, ep *epoch.Epoch, now time.Time) (eq float64, upnl float64, expired bool) {
	bal, expired := e.collateral(st, now)
	for k, p := range st.acct.Positions {
		r := &st.live.pos[k]
		mv := e.markValueOf(r, ep, p.Price)
		upnl += float64(p.Qty) * r.mult * (mv - p.Price)
	}
	return e.cfg.Margin.WeightedCollateral(bal) + upnl, upnl, expired
}

// anyStale reports whether any underlying the account holds, or extra
// (≥ 0), is stale at wall-clock nowNs.
func (e *Engine) anyStale(st *acctState, extra int, nowNs int64) bool {
	if extra >= 0 && e.staleAt(extra, nowNs) {
		return true
	}
	for _, u := range st.live.under {
		if e.staleAt(u, nowNs) {
			return true
		}
	}
	return false
}

// checkScratch is the per-goroutine working memory of a check.
type checkScratch struct {
	tail  *tail.Scratch
	legs  []tail.Leg
	delta []float64
}

// open starts a reader's operation: it holds the current epoch (nil before
// the first) and takes scratch memory; close gives both back.
func (e *Engine) open() (*epoch.Epoch, *checkScratch) {
	return e.epochs.Acquire(), e.scratch.Get().(*checkScratch)
}

func (e *Engine) close(ep *epoch.Epoch, cs *checkScratch) {
	if ep != nil {
		ep.Release()
	}
	e.scratch.Put(cs)
}

// requirement is st's margin requirement with tail result res, including an
// extra order of q contracts of instrument idx (q = 0: none) in the stress
// and concentration measures (res already includes it).
func (e *Engine) requirement(st *acctState, ep *epoch.Epoch, res tail.Result, idx int, q float64, cs *checkScratch) margin.Requirement {
	lv := &st.live
	m := e.Master()
	meas := margin.Measures{VaR: res.VaR, ES: res.ES, PD: st.acct.Credit.PD, LGD: st.acct.Credit.LGD,
		HasPositions: len(st.acct.Positions) > 0}
	if ep == nil {
		// No epoch, no risk figures: the requirement is reported as zero
		// and every check is refused with ReasonNoRiskEpoch before it is
		// used.
		return margin.Requirement{Driver: "no epoch"}
	}
	pts := ep.Meta.(*snapshot).points
	meas.Stress = lv.stressT
	cs.delta = cs.delta[:0]
	ou := -1
	if q != 0 {
		ou = m.Instruments[idx].Underlying
		meas.HasPositions = true
	}
	found := false
	for k, u := range lv.under {
		d := lv.delta[k]
		if u == ou {
			found = true
			d += q * ep.Result.Greeks[idx].Delta
			pre := scanRisk(lv.stress[k*pts : (k+1)*pts])
			post := 0.0
			row := ep.Result.InstrumentStress[idx*pts : (idx+1)*pts]
			for x := range pts {
				post = max(post, lv.stress[k*pts+x]+q*row[x])
			}
			meas.Stress += post - pre
		}
		cs.delta = append(cs.delta, math.Abs(d)*e.spot(u))
	}
	if ou >= 0 && !found {
		row := ep.Result.InstrumentStress[idx*pts : (idx+1)*pts]
		post := 0.0
		for x := range pts {
			post = max(post, q*row[x])
		}
		meas.Stress += post
		cs.delta = append(cs.delta, math.Abs(q*ep.Result.Greeks[idx].Delta)*e.spot(ou))
	}
	meas.DeltaNotional = cs.delta
	return e.cfg.Margin.Require(&meas)
}

// Check answers a pre-trade check (DESIGN §4).
func (e *Engine) Check(o Order) Verdict {
	st := e.state(o.Account)
	if st == nil {
		return Verdict{Reason: margin.ReasonUnknownAccount}
	}
	if o.Firm != "" && o.Firm != st.firm() {
		return Verdict{Reason: margin.ReasonNotAuthorised}
	}
	m := e.Master()
	idx, ok := m.Index(o.Instrument)
	if !ok {
		return Verdict{Reason: margin.ReasonUnknownInstrument}
	}
	if (o.Side != Buy && o.Side != Sell) || o.Qty <= 0 || o.Qty > account.QtyMax ||
		!(o.Price >= 0 && o.Price <= account.MoneyMax) {
		return Verdict{Reason: margin.ReasonInvalidOrder}
	}
	q := float64(o.Qty)
	if o.Side == Sell {
		q = -q
	}
	ep, cs := e.open()
	defer e.close(ep, cs)
	now := e.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	e.sync(st, ep, cs.tail)
	var t2v t2vClaims // tick-to-verdict: the new marks this verdict uses (t2v.go)
	e.claimTicks(&t2v, m.Instruments[idx].Underlying, st.live.under)
	eq, _, expired := e.equity(st, ep, now)
	pre := e.requirement(st, ep, st.live.res, 0, 0, cs)
	v := Verdict{Equity: eq, IM: pre.IM, MM: pre.MM, State: margin.StateOf(eq, pre.IM, pre.MM)}
	if ep == nil {
		v.Reason = margin.ReasonNoRiskEpoch
		v.PostEquity, v.PostIM = eq, math.NaN()
		e.verdictDone(&t2v)
		return v
	}
	v.Epoch = ep.ID
	if idx >= len(ep.Instruments) {
		// Listed (ExtendMaster) after this epoch's snapshot: the order's
		// scenario P&L is unknown until the next epoch prices it.
		v.Reason = margin.ReasonNoRiskEpoch
		v.PostEquity, v.PostIM = eq, math.NaN()
		e.verdictDone(&t2v)
		return v
	}
	var post tail.Result
	if st.live.overflow {
		post = tail.Result{VaR: math.NaN(), ES: math.NaN()}
	} else {
		cs.legs = append(cs.legs[:0], st.live.legs...)
		cs.legs = append(cs.legs, tail.Leg{In: &ep.Instruments[idx], Q: q})
		post = tail.PostTradeMulti(st.live.tail, cs.legs, cs.tail)
	}
	postReq := e.requirement(st, ep, post, idx, q, cs)
	mv := e.markValue(idx, ep, 0)
	price := o.Price
	if price == 0 {
		price = mv
	}
	v.PostIM = postReq.IM
	v.PostEquity = eq + q*m.Instruments[idx].Multiplier*(mv-price)
	v.Accept, v.Reason = margin.Decide(margin.Check{
		PreIM: pre.IM, PostIM: postReq.IM, PostEquity: v.PostEquity,
		CreditLimit:        st.acct.Credit.Limit,
		Stale:              e.anyStale(st, m.Instruments[idx].Underlying, now.UnixNano()),
		AttestationExpired: expired,
	})
	if st.live.overflow && !v.Accept {
		v.Reason = margin.ReasonNoRiskEpoch
	}
	e.verdictDone(&t2v)
	return v
}

// Status is an account's margin status.
type Status struct {
	// Account and Firm identify the account.
	Account uint64
	Firm    string
	// State is the margin state.
	State margin.State
	// Epoch is the epoch the figures use (0: none).
	Epoch uint64
	// Equity is weighted collateral plus unrealised P&L.
	Equity float64
	// UnrealisedPnL is the positions' P&L at the current marks.
	UnrealisedPnL float64
	// Collateral is the balance per tier (verified: unexpired attestations).
	Collateral [account.TiersCount]float64
	// WeightedCollateral is Σ weight × balance.
	WeightedCollateral float64
	// Requirement is IM, MM and their make-up.
	Requirement margin.Requirement
	// VaR, ES and Stress are the risk measures behind the requirement.
	VaR, ES, Stress float64
	// HealthFactor is equity / MM.
	HealthFactor float64
	// Stale says a mark the account depends on is stale.
	Stale bool
	// AttestationExpired says an attestation backing the verified tier has
	// expired.
	AttestationExpired bool
	// RiskUnknown says the requirement cannot be computed until the next
	// epoch (too many fills since this one): IM and MM are NaN and State is
	// the last state a sweep established.
	RiskUnknown bool
	// Positions are the holdings with their current marks.
	Positions []PositionStatus
}

// PositionStatus is one holding at the current marks.
type PositionStatus struct {
	Instrument instrument.ID
	Qty        int64
	Price      float64 // average entry price
	Mark       float64 // value per unit now
}

// Status returns account id's margin status.
func (e *Engine) Status(id uint64) (Status, error) {
	st := e.state(id)
	if st == nil {
		return Status{}, fmt.Errorf("%w: %d", ErrUnknownAccount, id)
	}
	ep, cs := e.open()
	defer e.close(ep, cs)
	st.mu.Lock()
	defer st.mu.Unlock()
	return e.status(st, ep, cs), nil
}

func (e *Engine) status(st *acctState, ep *epoch.Epoch, cs *checkScratch) Status {
	now := e.now()
	e.sync(st, ep, cs.tail)
	eq, upnl, expired := e.equity(st, ep, now)
	req := e.requirement(st, ep, st.live.res, 0, 0, cs)
	bal, _ := e.collateral(st, now)
	s := Status{
		Account: st.acct.ID, Firm: st.acct.Firm, Equity: eq, UnrealisedPnL: upnl, Collateral: bal,
		WeightedCollateral: e.cfg.Margin.WeightedCollateral(bal), Requirement: req,
		VaR: st.live.res.VaR, ES: st.live.res.ES, Stress: st.live.stressT,
		HealthFactor: margin.HealthFactor(eq, req.MM), State: margin.StateOf(eq, req.IM, req.MM),
		Stale: e.anyStale(st, -1, now.UnixNano()), AttestationExpired: expired,
	}
	if math.IsNaN(req.IM) {
		s.RiskUnknown, s.State, s.HealthFactor = true, st.last, 0
	}
	if ep != nil {
		s.Epoch = ep.ID
	} else {
		s.VaR, s.ES = 0, 0
	}
	for k, p := range st.acct.Positions {
		s.Positions = append(s.Positions, PositionStatus{Instrument: p.Instrument, Qty: p.Qty, Price: p.Price, Mark: e.markValueOf(&st.live.pos[k], ep, p.Price)})
	}
	return s
}

// Fill is an execution to book into an account.
type Fill struct {
	Account    uint64
	Instrument instrument.ID
	Side       Side
	Qty        int64
	// Price is the execution price in currency units.
	Price float64
}

// ApplyFill books a fill: the position changes, realised P&L moves into
// cash, and the account's live risk includes the fill at once.
func (e *Engine) ApplyFill(f Fill) error {
	st := e.state(f.Account)
	if st == nil {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, f.Account)
	}
	m := e.Master()
	idx, ok := m.Index(f.Instrument)
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownInstrument, f.Instrument)
	}
	if (f.Side != Buy && f.Side != Sell) || f.Qty <= 0 || f.Qty > account.QtyMax {
		return fmt.Errorf("%w: side %d, qty %d", ErrInvalidOrder, f.Side, f.Qty)
	}
	q := f.Qty
	if f.Side == Sell {
		q = -q
	}
	ep, cs := e.open()
	defer e.close(ep, cs)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, err := st.acct.ApplyFill(f.Instrument, q, f.Price, m.Instruments[idx].Multiplier); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidOrder, err)
	}
	e.rebase(st, ep, cs.tail)
	return nil
}

// SetCollateral sets an account's balance in the cash or credit-line tier
// (currency units). The verified tier comes only from attestations.
func (e *Engine) SetCollateral(id uint64, tier account.Tier, amount float64) error {
	st := e.state(id)
	if st == nil {
		return fmt.Errorf("%w: %d", ErrUnknownAccount, id)
	}
	if err := checkCollateral(tier, amount); err != nil {
		return err
	}
	st.mu.Lock()
	st.acct.Collateral[tier] = amount
	st.mu.Unlock()
	return nil
}

// ErrNoVerifier reports an attestation submitted to an engine without an
// allow-list.
var ErrNoVerifier = errors.New("engine: no attestation verifier configured")

// Attest verifies a signed attestation and, when it is accepted, makes it
// the account's verified collateral from that attestor (replacing an older
// statement from the same attestor). A rejection is an *attest.Rejection.
func (e *Engine) Attest(s attest.Signed) (attest.Statement, error) {
	if e.cfg.Verifier == nil {
		return attest.Statement{}, ErrNoVerifier
	}
	stmt, err := e.cfg.Verifier.Verify(s)
	if err != nil {
		return attest.Statement{}, err
	}
	st := e.state(stmt.Account)
	if st == nil {
		return attest.Statement{}, fmt.Errorf("%w: %d", ErrUnknownAccount, stmt.Account)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if old, ok := st.attest[stmt.Attestor]; ok && old.IssuedAt.After(stmt.IssuedAt) {
		return attest.Statement{}, newerStatement(stmt.Attestor, old.IssuedAt)
	}
	st.attest[stmt.Attestor] = stmt
	return stmt, nil
}

// Notice is a margin state change.
type Notice struct {
	Account        uint64
	Firm           string
	From, To       margin.State
	Epoch          uint64
	Equity, IM, MM float64
}

// Sweep re-evaluates every account at the current marks and epoch and
// returns the state changes since the previous sweep (the first sweep
// reports every account not HEALTHY).
func (e *Engine) Sweep() []Notice {
	ep, cs := e.open()
	defer e.close(ep, cs)
	e.mu.RLock()
	order := append([]*acctState(nil), e.order...)
	e.mu.RUnlock()
	var out []Notice
	for _, st := range order {
		st.mu.Lock()
		s := e.status(st, ep, cs)
		if s.RiskUnknown {
			st.mu.Unlock()
			continue // no new information until the next epoch
		}
		from := st.last
		if !st.hasLast {
			from = margin.Healthy
		}
		if ep != nil && (s.State != from || !st.hasLast && s.State != margin.Healthy) {
			out = append(out, Notice{Account: s.Account, Firm: s.Firm, From: from, To: s.State, Epoch: s.Epoch,
				Equity: s.Equity, IM: s.Requirement.IM, MM: s.Requirement.MM})
		}
		if ep != nil {
			st.last, st.hasLast = s.State, true
		}
		st.mu.Unlock()
	}
	return out
}

// AccountInfo identifies an account and its owner.
type AccountInfo struct {
	ID   uint64
	Firm string
}

// Accounts lists every account in id order.
func (e *Engine) Accounts() []AccountInfo {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]AccountInfo, len(e.order))
	for i, st := range e.order {
		out[i] = AccountInfo{ID: st.acct.ID, Firm: st.acct.Firm}
	}
	return out
}
