package verdict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/journal"
	"github.com/ballast-risk/ballast/engine/margin"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// DefaultExecIDsMax is the default number of recent execIds EngineService
// remembers to refuse duplicate fills.
const DefaultExecIDsMax = 1 << 18

// FillRecordBytes is the size of a journal fill record: the SBE-encoded Fill
// message (header and block) with reqId zeroed.
const FillRecordBytes = sbe.HeaderBytes + sbe.FillBlockLength

// ErrNotFillRecord reports a journal record that is not a fill record (other
// components journal other record kinds in the same log).
var ErrNotFillRecord = errors.New("verdict: not a fill record")

// EncodeFillRecord appends f's journal record to dst: the SBE Fill message
// (8-byte header, 48-byte block) with reqId zeroed, so a record identifies
// itself by the header's schema id and template id.
func EncodeFillRecord(dst []byte, f *sbe.Fill) []byte {
	c := *f
	c.ReqID = 0
	var b [FillRecordBytes]byte
	if _, err := c.Encode(b[:]); err != nil {
		panic("verdict: fill record buffer too small")
	}
	return append(dst, b[:]...)
}

// DecodeFillRecord decodes a record written by EncodeFillRecord; any other
// record yields ErrNotFillRecord.
func DecodeFillRecord(rec []byte) (sbe.Fill, error) {
	var f sbe.Fill
	if len(rec) != FillRecordBytes {
		return f, ErrNotFillRecord
	}
	if err := f.Decode(rec); err != nil {
		return sbe.Fill{}, fmt.Errorf("%w: %v", ErrNotFillRecord, err)
	}
	return f, nil
}

// EngineService is the production Service: verdicts and statuses from an
// *engine.Engine, fills journalled (fsynced) and then applied.
//
// Duplicate fills are detected by execId among the last ExecIDsMax fills
// applied (a FIFO ring plus a set: 8 bytes of ring and one map entry per
// execId, about 40 bytes, so ~10 MiB at the default). An execId older than
// that window is not recognised; exchanges reuse execIds only on
// retransmission, which happens within seconds, far inside the window.
type EngineService struct {
	eng     *engine.Engine
	journal *journal.Journal

	// stateMu orders changes against snapshots: each change holds it
	// shared from its journal append to its apply; Snapshot holds it
	// exclusively while it copies the state, so the copy is exactly the
	// journal's records up to LastSeq.
	stateMu sync.RWMutex
	// acctMu orders the changes to one account: a fill or a collateral
	// change holds its account's stripe from its journal append to its
	// apply, so changes to an account are applied in the journal's order,
	// the order a restore replays them in (a fill moves cash and an
	// average price in floating point, and a collateral change sets a
	// balance, so the order shows in the bits). Changes to accounts on
	// other stripes still share the journal's fsyncs.
	acctMu   [acctStripes]sync.Mutex
	attestMu sync.Mutex // one attestation at a time
	snapMu   sync.Mutex // one snapshot at a time; guards snapSeq
	snapSeq  uint64
	// snapSeqValid says snapSeq holds the latest snapshot's record.
	snapSeqValid bool

	firmsMu sync.RWMutex
	firms   map[uint64]string

	execMu     sync.Mutex
	execIDs    map[uint64]bool // true: applied; false: in flight
	ring       []uint64
	ringNext   int
	execIDsMax int
}

// acctStripes is the number of account-order locks.
const (
	acctStripeBits = 10
	acctStripes    = 1 << acctStripeBits
)

// accountLock returns the lock ordering account acct's changes.
func (s *EngineService) accountLock(acct uint64) *sync.Mutex {
	return &s.acctMu[(acct*0x9E3779B97F4A7C15)>>(64-acctStripeBits)]
}

// NewEngineService returns a Service over eng that journals fills to j and
// remembers the last execIDsMax execIds (0: DefaultExecIDsMax).
func NewEngineService(eng *engine.Engine, j *journal.Journal, execIDsMax int) (*EngineService, error) {
	if eng == nil || j == nil {
		return nil, fmt.Errorf("%w: nil engine or journal", ErrConfig)
	}
	if execIDsMax == 0 {
		execIDsMax = DefaultExecIDsMax
	}
	if execIDsMax < 1 {
		return nil, fmt.Errorf("%w: execIDsMax %d", ErrConfig, execIDsMax)
	}
	s := &EngineService{eng: eng, journal: j, execIDsMax: execIDsMax,
		execIDs: make(map[uint64]bool, execIDsMax), ring: make([]uint64, 0, execIDsMax)}
	s.RefreshAccounts()
	return s, nil
}

// RefreshAccounts reloads the account → firm map from the engine; call it
// after adding accounts.
func (s *EngineService) RefreshAccounts() {
	infos := s.eng.Accounts()
	m := make(map[uint64]string, len(infos))
	for _, a := range infos {
		m[a.ID] = a.Firm
	}
	s.firmsMu.Lock()
	s.firms = m
	s.firmsMu.Unlock()
}

// FirmOf implements Service.
func (s *EngineService) FirmOf(account uint64) (string, bool) {
	s.firmsMu.RLock()
	f, ok := s.firms[account]
	s.firmsMu.RUnlock()
	return f, ok
}

// WireMoney converts currency units to the wire's 1/10,000 units (NaN: 0,
// saturating at the int64 range); the HTTP API uses the same units.
func WireMoney(x float64) int64 {
	v := math.Round(x * 10000)
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}

// wireReason maps an engine reason to the wire's (reasons the schema lacks
// map to the closest: an expired attestation is a credit failure).
func wireReason(r margin.Reason) sbe.Reason {
	if r == margin.ReasonAttestationExpired {
		return sbe.ReasonCreditLimit
	}
	w := sbe.Reason(r)
	if !w.Valid() {
		return sbe.ReasonInvalidOrder
	}
	return w
}

// Check implements Service.
func (s *EngineService) Check(o *sbe.OrderCheck, v *sbe.Verdict) {
	ev := s.eng.Check(engine.Order{Account: o.Account, Instrument: instrument.ID(o.Instrument),
		Side: engine.Side(o.Side), Qty: o.Qty, Price: float64(o.Price) / 10000})
	v.Decision = sbe.DecisionReject
	if ev.Accept {
		v.Decision = sbe.DecisionAccept
	}
	v.Reason, v.State, v.Epoch = wireReason(ev.Reason), sbe.State(ev.State), ev.Epoch
	v.Equity, v.InitialMargin, v.MaintenanceMargin = WireMoney(ev.Equity), WireMoney(ev.IM), WireMoney(ev.MM)
	v.PostTradeInitialMargin = WireMoney(ev.PostIM)
}

// Status implements Service.
func (s *EngineService) Status(account uint64, st *sbe.AccountStatus) sbe.ErrorCode {
	es, err := s.eng.Status(account)
	if err != nil {
		if errors.Is(err, engine.ErrUnknownAccount) {
			return sbe.ErrorCodeUnknownAccount
		}
		return sbe.ErrorCodeInternal
	}
	st.State, st.Epoch = sbe.State(es.State), es.Epoch
	st.Equity = WireMoney(es.Equity)
	st.InitialMargin, st.MaintenanceMargin = WireMoney(es.Requirement.IM), WireMoney(es.Requirement.MM)
	st.Var, st.ES, st.HealthFactor = WireMoney(es.VaR), WireMoney(es.ES), WireMoney(es.HealthFactor)
	return sbe.ErrorCodeNone
}

// Fill implements Service: it validates f, reserves its execId, appends the
// fill record to the journal (returning after fsync), applies it to the
// engine, and only then reports success.
func (s *EngineService) Fill(ctx context.Context, f *sbe.Fill) sbe.ErrorCode {
	if _, ok := s.FirmOf(f.Account); !ok {
		return sbe.ErrorCodeUnknownAccount
	}
	if _, ok := s.eng.Master().Index(instrument.ID(f.Instrument)); !ok {
		return sbe.ErrorCodeUnknownInstrument
	}
	if !f.Side.Valid() || f.Qty <= 0 || f.Price < 0 {
		return sbe.ErrorCodeInvalidFill
	}
	s.execMu.Lock()
	if _, seen := s.execIDs[f.ExecID]; seen {
		s.execMu.Unlock()
		return sbe.ErrorCodeDuplicateFill
	}
	s.execIDs[f.ExecID] = false // in flight: a concurrent duplicate is refused
	s.execMu.Unlock()
	s.stateMu.RLock()
	defer s.stateMu.RUnlock()
	am := s.accountLock(f.Account)
	am.Lock()
	defer am.Unlock()

	var rec [FillRecordBytes]byte
	if _, err := s.journal.Append(ctx, EncodeFillRecord(rec[:0], f)); err != nil {
		s.release(f.ExecID)
		return sbe.ErrorCodeInternal
	}
	// The fill is durable: it must be applied (replay would apply it too).
	if err := s.apply(f); err != nil {
		// Validated above, so only a position overflow gets here; the
		// record replays to the same refusal.
		s.remember(f.ExecID)
		if errors.Is(err, engine.ErrInvalidOrder) {
			return sbe.ErrorCodeInvalidFill
		}
		return sbe.ErrorCodeInternal
	}
	s.remember(f.ExecID)
	return sbe.ErrorCodeNone
}

func (s *EngineService) apply(f *sbe.Fill) error {
	return s.eng.ApplyFill(engine.Fill{Account: f.Account, Instrument: instrument.ID(f.Instrument),
		Side: engine.Side(f.Side), Qty: f.Qty, Price: float64(f.Price) / 10000})
}

func (s *EngineService) release(execID uint64) {
	s.execMu.Lock()
	delete(s.execIDs, execID)
	s.execMu.Unlock()
}

// remember marks execID applied, evicting the oldest beyond execIDsMax.
func (s *EngineService) remember(execID uint64) {
	s.execMu.Lock()
	defer s.execMu.Unlock()
	s.execIDs[execID] = true
	if len(s.ring) < s.execIDsMax {
		s.ring = append(s.ring, execID)
		return
	}
	old := s.ring[s.ringNext]
	if old != execID {
		delete(s.execIDs, old)
	}
	s.ring[s.ringNext] = execID
	s.ringNext = (s.ringNext + 1) % s.execIDsMax
}

// ReplayFill applies one fill record during start-up replay (Restore
// replays every kind of record; use this only to replay fills alone): the
// fill is applied and its execId remembered; other records return
// ErrNotFillRecord. A fill the engine refuses (as it was when first
// received) is remembered and skipped.
func (s *EngineService) ReplayFill(rec []byte) error {
	f, err := DecodeFillRecord(rec)
	if err != nil {
		return err
	}
	_, err = s.replayFill(&f)
	return err
}

// replayFill applies a journalled fill, reporting whether it took effect
// (false: a duplicate execId, or refused again by the engine).
func (s *EngineService) replayFill(f *sbe.Fill) (bool, error) {
	s.execMu.Lock()
	_, seen := s.execIDs[f.ExecID]
	s.execMu.Unlock()
	if seen {
		return false, nil
	}
	err := s.apply(f)
	s.remember(f.ExecID)
	if err != nil {
		if errors.Is(err, engine.ErrInvalidOrder) {
			return false, nil
		}
		// An account or instrument gone from the configuration: stop
		// rather than drop an acknowledged fill.
		return false, err
	}
	return true, nil
}

// Sweep implements Service.
func (s *EngineService) Sweep() []sbe.MarginNotice {
	ns := s.eng.Sweep()
	if len(ns) == 0 {
		return nil
	}
	out := make([]sbe.MarginNotice, len(ns))
	for i := range ns {
		out[i] = WireNotice(&ns[i])
	}
	return out
}

// WireNotice converts an engine state change to its MarginNotice message.
func WireNotice(n *engine.Notice) sbe.MarginNotice {
	return sbe.MarginNotice{Account: n.Account, State: sbe.State(n.To), Epoch: n.Epoch,
		Equity: WireMoney(n.Equity), InitialMargin: WireMoney(n.IM), MaintenanceMargin: WireMoney(n.MM)}
}
