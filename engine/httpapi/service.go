package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
	"github.com/ballast-risk/ballast/engine/instrument"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/vol"
)

// InstrumentInfo describes one tradable contract for GET /v1/instruments.
type InstrumentInfo struct {
	ID         uint32
	Symbol     string
	Kind       string
	Model      string
	Underlying string
	// Strike is in currency units (0 unless an option).
	Strike float64
	// Expiry is zero for spot.
	Expiry     time.Time
	Multiplier float64
}

// EpochInfo summarises the latest published risk epoch.
type EpochInfo struct {
	ID        uint64
	Seed      uint64
	Hash      [32]byte
	Backend   string
	Started   time.Time
	Finished  time.Time
	Duration  time.Duration
	Scenarios int
}

// Service is what the HTTP API serves. EngineService is the production
// implementation; tests use fakes. Every method is called concurrently. A
// Service may also implement VolSetter (PUT /v1/underlyings/{symbol}/vol).
type Service interface {
	// Accounts lists every account and its firm, in id order.
	Accounts() []engine.AccountInfo
	// FirmOf returns the firm owning account, false for an unknown account.
	FirmOf(account uint64) (string, bool)
	// Check answers a what-if order.
	Check(o engine.Order) engine.Verdict
	// Status returns an account's margin status (engine.ErrUnknownAccount
	// for an unknown one).
	Status(account uint64) (engine.Status, error)
	// Fill books an execution and returns only once it is durable
	// (sbe.ErrorCodeNone) or refused.
	Fill(ctx context.Context, f *sbe.Fill) sbe.ErrorCode
	// SetCollateral sets an account's cash or credit-line balance in
	// currency units, returning once the change is durable.
	SetCollateral(ctx context.Context, account uint64, tier account.Tier, amount float64) error
	// Attest verifies and applies a signed attestation, returning once it
	// is durable; a refusal is an *attest.Rejection.
	Attest(ctx context.Context, s attest.Signed) (attest.Statement, error)
	// Instruments lists the instrument master (with the instruments
	// listed at run time).
	Instruments() []InstrumentInfo
	// LatestEpoch returns the current epoch, false when there is none yet.
	LatestEpoch() (EpochInfo, bool)
}

// EngineService is the production Service: queries and checks go to an
// *engine.Engine; fills, collateral changes and attestations go through a
// *verdict.EngineService, which journals (fsyncs) each change before
// applying it and refuses duplicate execIds, so HTTP and SBE share one
// durability path and one duplicate window.
type EngineService struct {
	eng      *engine.Engine
	fills    *verdict.EngineService
	insts    atomic.Pointer[instrumentList] // of the engine's latest master seen
	baseVols []*vol.Surface                 // the master's surfaces, by underlying (SetVol)
}

// ErrConfig reports an invalid Config or constructor argument.
var ErrConfig = errors.New("httpapi: invalid configuration")

// NewEngineService returns the Service over eng, booking fills through fills.
func NewEngineService(eng *engine.Engine, fills *verdict.EngineService) (*EngineService, error) {
	if eng == nil || fills == nil {
		return nil, fmt.Errorf("%w: nil engine or fill service", ErrConfig)
	}
	m := eng.Master()
	s := &EngineService{eng: eng, fills: fills, baseVols: baseSurfaces(m)}
	s.insts.Store(&instrumentList{m: m, infos: instrumentInfos(m, 0)})
	return s, nil
}

// instrumentList is the instrument listing of one master.
type instrumentList struct {
	m     *instrument.Master
	infos []InstrumentInfo
}

// instrumentInfos describes m's instruments from index from on.
func instrumentInfos(m *instrument.Master, from int) []InstrumentInfo {
	insts := make([]InstrumentInfo, 0, len(m.Instruments)-from)
	for _, in := range m.Instruments[from:] {
		ii := InstrumentInfo{ID: uint32(in.ID), Symbol: in.Symbol, Kind: in.Kind.String(),
			Strike: in.Strike, Expiry: in.Expiry, Multiplier: in.Multiplier}
		if in.Kind.IsOption() {
			ii.Model = in.Model.String()
		}
		if in.Underlying >= 0 && in.Underlying < len(m.Underlyings) {
			ii.Underlying = m.Underlyings[in.Underlying].Symbol
		}
		insts = append(insts, ii)
	}
	return insts
}

// Accounts implements Service.
func (s *EngineService) Accounts() []engine.AccountInfo { return s.eng.Accounts() }

// FirmOf implements Service.
func (s *EngineService) FirmOf(account uint64) (string, bool) { return s.fills.FirmOf(account) }

// Check implements Service.
func (s *EngineService) Check(o engine.Order) engine.Verdict { return s.eng.Check(o) }

// Status implements Service.
func (s *EngineService) Status(account uint64) (engine.Status, error) { return s.eng.Status(account) }

// Fill implements Service.
func (s *EngineService) Fill(ctx context.Context, f *sbe.Fill) sbe.ErrorCode {
	return s.fills.Fill(ctx, f)
}

// SetCollateral implements Service: journalled before it is applied.
func (s *EngineService) SetCollateral(ctx context.Context, account uint64, tier account.Tier, amount float64) error {
	return s.fills.SetCollateral(ctx, account, tier, amount)
}

// Attest implements Service: journalled before it is applied.
func (s *EngineService) Attest(ctx context.Context, sg attest.Signed) (attest.Statement, error) {
	return s.fills.Attest(ctx, sg)
}

// Instruments implements Service: the engine's current master, including
// the instruments listed at run time.
func (s *EngineService) Instruments() []InstrumentInfo {
	l := s.insts.Load()
	if m := s.eng.Master(); m != l.m {
		// Listed since: describe the new instruments only (indices are
		// stable, the master only grows).
		infos := append(l.infos[:len(l.infos):len(l.infos)], instrumentInfos(m, len(l.infos))...)
		l = &instrumentList{m: m, infos: infos}
		s.insts.Store(l)
	}
	return l.infos
}

// ListInstruments implements InstrumentLister: the extension document is
// journalled and then applied (verdict.EngineService.ListInstruments).
func (s *EngineService) ListInstruments(ctx context.Context, doc []byte) ([]InstrumentInfo, error) {
	m, from, err := s.fills.ListInstruments(ctx, doc)
	if err != nil {
		return nil, err
	}
	return instrumentInfos(m, from), nil
}

// LatestEpoch implements Service.
func (s *EngineService) LatestEpoch() (EpochInfo, bool) {
	e := s.eng.Epochs().Acquire()
	if e == nil {
		return EpochInfo{}, false
	}
	defer e.Release()
	return EpochInfo{ID: e.ID, Seed: e.Seed, Hash: e.Hash, Backend: e.Backend, Started: e.Started,
		Finished: e.Finished, Duration: e.Duration, Scenarios: e.Scenarios}, true
}

func hexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }
