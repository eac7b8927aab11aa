package httpapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/engine/account"
	"github.com/ballast-risk/ballast/engine/attest"
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
	// Instruments lists the instrument master.
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
	insts    []InstrumentInfo
	baseVols []*vol.Surface // the master's surfaces, by underlying (SetVol)
}

// ErrConfig reports an invalid Config or constructor argument.
var ErrConfig = errors.New("httpapi: invalid configuration")

// NewEngineService returns the Service over eng, booking fills through fills.
func NewEngineService(eng *engine.Engine, fills *verdict.EngineService) (*EngineService, error) {
	if eng == nil || fills == nil {
		return nil, fmt.Errorf("%w: nil engine or fill service", ErrConfig)
	}
	m := eng.Master()
	insts := make([]InstrumentInfo, len(m.Instruments))
	for i, in := range m.Instruments {
		ii := InstrumentInfo{ID: uint32(in.ID), Symbol: in.Symbol, Kind: in.Kind.String(),
			Strike: in.Strike, Expiry: in.Expiry, Multiplier: in.Multiplier}
		if in.Kind.IsOption() {
			ii.Model = in.Model.String()
		}
		if in.Underlying >= 0 && in.Underlying < len(m.Underlyings) {
			ii.Underlying = m.Underlyings[in.Underlying].Symbol
		}
		insts[i] = ii
	}
	return &EngineService{eng: eng, fills: fills, insts: insts, baseVols: baseSurfaces(m)}, nil
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

// Instruments implements Service.
func (s *EngineService) Instruments() []InstrumentInfo { return s.insts }

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
