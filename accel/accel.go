// Package accel is the contract between Ballast's risk engine and the
// backends that run its batches (DESIGN §1, §3): the job descriptions the
// engine submits once per risk epoch, the results a backend returns, and the
// Backend interface that the float64 reference (engine/kernel), the CPU
// fixed-point kernel, the Verilator simulation and the FPGA all implement.
//
// A job is plain numbers — no engine types — so that it maps onto the
// accelerator's DMA buffers one to one. Every backend computes the same
// quantities from the same job:
//
//   - scenarios: Scenarios.Count Monte Carlo scenarios from Philox4x32-10
//     keyed by Scenarios.Seed (engine/scenario documents the counter layout
//     and formulas), followed by the Historical rows; each scenario is a
//     log-return and a vol multiplier per underlying;
//   - revaluation: every instrument in every scenario; the per-contract loss
//     is −(V(S·eˣ, σ·m) − V(S, σ))·multiplier, the shock instantaneous (time
//     to expiry unchanged) — or the delta-gamma-vega approximation of it when
//     the job's Model is DeltaGammaVega;
//   - aggregation: the loss vector of every account from its sparse positions;
//   - tails: VaR and ES per account with the exact definitions of DESIGN
//     §5.1 (engine/tail), and the mean loss;
//   - the stress grid: the loss per contract at every grid point;
//   - Greeks: price and Greeks per contract.
package accel

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Bounds on a job.
const (
	// ScenariosMax bounds the scenarios of one job (Monte Carlo plus
	// historical).
	ScenariosMax = 1 << 20
	// UnderlyingsMax bounds the underlyings of one job.
	UnderlyingsMax = 4096
	// InstrumentsMax bounds the instruments of one job.
	InstrumentsMax = 1 << 20
	// AccountsMax bounds the accounts of one job.
	AccountsMax = 1 << 20
	// PositionsMax bounds the positions of one job, over all accounts.
	PositionsMax = 1 << 26
	// StressPointsMax bounds the stress-grid points per underlying.
	StressPointsMax = 64
	// LossCellsMax bounds scenarios × accounts and scenarios × instruments:
	// the loss matrices a backend materialises (8 bytes each).
	LossCellsMax = 1 << 31
)

// ErrInvalidJob reports a job that breaks the contract; the message names the
// field.
var ErrInvalidJob = errors.New("accel: invalid job")

// ErrUnavailable reports a backend that cannot run here (no device, no
// simulator); the message says why.
var ErrUnavailable = errors.New("accel: backend unavailable")

// ErrExceedsLimits reports a job that this backend cannot take (a device's
// build limits, its memory) although another backend can; a failover
// backend sends such a job to its fallback without marking the primary
// degraded.
var ErrExceedsLimits = errors.New("accel: job exceeds the backend's limits")

// Kind is an instrument's payoff kind.
type Kind uint8

// Instrument kinds.
const (
	// Spot is linear: V = S.
	Spot Kind = iota + 1
	// Future is linear: V = S·Carry.
	Future
	// Call is a European call.
	Call
	// Put is a European put.
	Put
)

// Model is an option's pricing model.
type Model uint8

// Option models.
const (
	// BSM prices on spot with dividend yield Q.
	BSM Model = iota + 1
	// Black76 prices on the futures price F = S·Carry.
	Black76
)

// Instrument is one instrument's host-precomputed description.
type Instrument struct {
	// Kind is the payoff.
	Kind Kind
	// Model is the option model (0 for linear instruments).
	Model Model
	// Underlying indexes the job's underlyings (the scenario columns).
	Underlying uint32
	// S is the underlying's spot mark.
	S float64
	// Carry is the forward factor e^((r−q)·T_future): 1 for spot; for a
	// future and a Black-76 option, that of the futures contract.
	Carry float64
	// K is the strike (options).
	K float64
	// T is the option's time to expiry in years.
	T float64
	// R is the risk-free rate.
	R float64
	// Q is the dividend yield (BSM).
	Q float64
	// Sigma is the option's implied vol at its strike and expiry.
	Sigma float64
	// Multiplier scales one contract.
	Multiplier float64
}

// Scenarios describes the scenario set of a job.
type Scenarios struct {
	// Seed keys the Philox4x32-10 generator (the epoch seed).
	Seed uint64
	// Count is the number of Monte Carlo scenarios (may be 0 when
	// Historical is given).
	Count int
	// HorizonYears is h.
	HorizonYears float64
	// Vols is the diffusion vol per underlying.
	Vols []float64
	// Cholesky is the lower-triangular factor of the correlation matrix,
	// row-major U×U (nil: independent underlyings).
	Cholesky []float64
	// StudentTDoF selects multivariate Student-t shocks (0: Gaussian).
	StudentTDoF int
	// VolOfVol and SpotVolCorr parameterise the vol shocks (0: none).
	VolOfVol, SpotVolCorr float64
	// Historical holds extra scenarios after the Monte Carlo ones, row-major
	// rows×U log-returns (vol unchanged).
	Historical []float64
}

// Total is the number of scenarios the job evaluates.
func (s *Scenarios) Total(underlyings int) int {
	if underlyings == 0 {
		return s.Count
	}
	return s.Count + len(s.Historical)/underlyings
}

// Stress is the stress grid of a job: Points moves per underlying.
type Stress struct {
	// Points is the number of grid points per underlying (0: no grid).
	Points int
	// X, VolMul and Weight are row-major U×Points: the log-return, the vol
	// multiplier and the weight of each point.
	X, VolMul, Weight []float64
}

// Positions is the accounts' sparse holdings in compressed-row form: account
// a holds Qty[j] contracts of Instrument[j] for j in [Start[a], Start[a+1]).
type Positions struct {
	// Start has one entry per account plus one.
	Start []uint32
	// Instrument indexes the job's instruments.
	Instrument []uint32
	// Qty is the signed contract count.
	Qty []float64
}

// Accounts is the number of accounts.
func (p *Positions) Accounts() int {
	if len(p.Start) == 0 {
		return 0
	}
	return len(p.Start) - 1
}

// LossModel selects how scenario losses are computed.
type LossModel uint8

// Loss models.
const (
	// FullRevaluation reprices every instrument in every scenario.
	FullRevaluation LossModel = iota
	// DeltaGammaVega approximates the scenario P&L from the Greeks:
	// Δ·dS + ½Γ·dS² + vega·dσ.
	DeltaGammaVega
)

// RiskJob is one risk batch.
type RiskJob struct {
	// Underlyings is the number of underlyings U.
	Underlyings int
	// Instruments are the instruments I.
	Instruments []Instrument
	// Scenarios is the scenario set S.
	Scenarios Scenarios
	// Stress is the stress grid.
	Stress Stress
	// Positions are the accounts A.
	Positions Positions
	// Model is the loss model.
	Model LossModel
	// KVaR and KES are the tail sizes k = ceil(S·(1−α)) for VaR and ES.
	KVaR, KES int
}

// RiskResult is what a risk batch returns. Slices are reused when large
// enough; the backend sizes them.
type RiskResult struct {
	// Backend names the backend that ran the job.
	Backend string
	// Scenarios is S.
	Scenarios int
	// Value is each instrument's value per unit (I).
	Value []float64
	// InstrumentLoss is row-major I×S: the loss per contract in each
	// scenario.
	InstrumentLoss []float64
	// InstrumentStress is row-major I×Points: the weighted loss per contract
	// at each stress point of the instrument's underlying.
	InstrumentStress []float64
	// AccountLoss is row-major A×S: each account's scenario loss vector.
	AccountLoss []float64
	// VaR, ES and MeanLoss are per account (A).
	VaR, ES, MeanLoss []float64
	// Greeks are per contract (I).
	Greeks []Greeks
}

// Greeks are an instrument's price and sensitivities per contract, in the
// units of DESIGN §5.1 (vega per 1.00 of vol, theta per year, rho per 1.00 of
// rate; delta with respect to the underlying's spot).
type Greeks struct {
	Price, Delta, Gamma, Vega, Theta, Rho, Vanna, Volga float64
}

// Backend runs risk batches.
type Backend interface {
	// Name identifies the backend ("reference", "cpu", "vsim", "fpga").
	Name() string
	// Risk runs one risk batch into out.
	Risk(ctx context.Context, job *RiskJob, out *RiskResult) error
}

// Validate checks a job against the contract and its bounds.
func (j *RiskJob) Validate() error {
	u := j.Underlyings
	if u <= 0 || u > UnderlyingsMax {
		return fmt.Errorf("%w: %d underlyings (want 1..%d)", ErrInvalidJob, u, UnderlyingsMax)
	}
	if len(j.Instruments) == 0 || len(j.Instruments) > InstrumentsMax {
		return fmt.Errorf("%w: %d instruments (want 1..%d)", ErrInvalidJob, len(j.Instruments), InstrumentsMax)
	}
	sc := &j.Scenarios
	if sc.Count < 0 || len(sc.Historical)%u != 0 {
		return fmt.Errorf("%w: scenario count %d, %d historical cells for %d underlyings", ErrInvalidJob, sc.Count, len(sc.Historical), u)
	}
	s := sc.Total(u)
	if s <= 0 || s > ScenariosMax {
		return fmt.Errorf("%w: %d scenarios (want 1..%d)", ErrInvalidJob, s, ScenariosMax)
	}
	if len(sc.Vols) != u {
		return fmt.Errorf("%w: %d vols for %d underlyings", ErrInvalidJob, len(sc.Vols), u)
	}
	if sc.Cholesky != nil && len(sc.Cholesky) != u*u {
		return fmt.Errorf("%w: Cholesky factor has %d cells, want %d", ErrInvalidJob, len(sc.Cholesky), u*u)
	}
	if !finite(sc.HorizonYears) || sc.HorizonYears <= 0 || sc.HorizonYears > 1 {
		return fmt.Errorf("%w: horizon %v years (want (0, 1])", ErrInvalidJob, sc.HorizonYears)
	}
	for _, x := range sc.Historical {
		if !finite(x) || math.Abs(x) > 10 {
			return fmt.Errorf("%w: historical log-return %v", ErrInvalidJob, x)
		}
	}
	for i := range j.Instruments {
		in := &j.Instruments[i]
		if int(in.Underlying) >= u {
			return fmt.Errorf("%w: instrument %d: underlying %d of %d", ErrInvalidJob, i, in.Underlying, u)
		}
		if in.Kind < Spot || in.Kind > Put {
			return fmt.Errorf("%w: instrument %d: kind %d", ErrInvalidJob, i, in.Kind)
		}
		if !finite(in.Multiplier) || in.Multiplier <= 0 || !finite(in.S) || in.S <= 0 || !finite(in.Carry) || in.Carry <= 0 {
			return fmt.Errorf("%w: instrument %d: spot %v, carry %v, multiplier %v", ErrInvalidJob, i, in.S, in.Carry, in.Multiplier)
		}
	}
	st := &j.Stress
	if st.Points < 0 || st.Points > StressPointsMax {
		return fmt.Errorf("%w: %d stress points (want 0..%d)", ErrInvalidJob, st.Points, StressPointsMax)
	}
	if n := u * st.Points; len(st.X) != n || len(st.VolMul) != n || len(st.Weight) != n {
		return fmt.Errorf("%w: stress grid arrays must hold %d cells", ErrInvalidJob, n)
	}
	p := &j.Positions
	a := p.Accounts()
	if a > AccountsMax {
		return fmt.Errorf("%w: %d accounts (want ≤ %d)", ErrInvalidJob, a, AccountsMax)
	}
	if len(p.Instrument) != len(p.Qty) || len(p.Instrument) > PositionsMax {
		return fmt.Errorf("%w: %d position instruments, %d quantities (bound %d)", ErrInvalidJob, len(p.Instrument), len(p.Qty), PositionsMax)
	}
	if a > 0 && (p.Start[0] != 0 || int(p.Start[a]) != len(p.Instrument)) {
		return fmt.Errorf("%w: position offsets must run from 0 to %d", ErrInvalidJob, len(p.Instrument))
	}
	for k := 0; k < a; k++ {
		if p.Start[k+1] < p.Start[k] {
			return fmt.Errorf("%w: position offsets decrease at account %d", ErrInvalidJob, k)
		}
	}
	for k, in := range p.Instrument {
		if int(in) >= len(j.Instruments) || !finite(p.Qty[k]) {
			return fmt.Errorf("%w: position %d: instrument %d, qty %v", ErrInvalidJob, k, in, p.Qty[k])
		}
	}
	if uint64(s)*uint64(max(a, len(j.Instruments))) > LossCellsMax {
		return fmt.Errorf("%w: %d scenarios × %d rows exceed %d loss cells", ErrInvalidJob, s, max(a, len(j.Instruments)), uint64(LossCellsMax))
	}
	if j.KVaR < 1 || j.KVaR > s || j.KES < 1 || j.KES > s {
		return fmt.Errorf("%w: tail sizes VaR %d, ES %d for %d scenarios", ErrInvalidJob, j.KVaR, j.KES, s)
	}
	if j.Model > DeltaGammaVega {
		return fmt.Errorf("%w: loss model %d", ErrInvalidJob, j.Model)
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
