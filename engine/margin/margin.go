// Package margin is Ballast's margin policy (DESIGN §4) as pure functions on
// numbers: the initial-margin combination rule with its add-ons, maintenance
// margin, weighted collateral, the health factor and the three states, and
// the pre-trade verdict rule. The engine feeds it risk measures computed from
// an epoch's loss vectors; this package holds no state.
//
// # The model
//
//	base  = max(ES_α, VaR_α', stress-grid loss, floor)   (the selected models)
//	IM    = base + credit add-on + concentration add-on
//	credit add-on        = PD × LGD × EAD, with EAD = base (the exposure the
//	                       exchange carries over the margin horizon)
//	concentration add-on = Σ_u rate × max(0, |Δ_u·S_u| − threshold)
//	MM    = MMFraction × IM
//	equity = Σ_tier weight_tier × balance_tier + unrealised P&L
//	HF    = equity / MM
//	HEALTHY: equity ≥ IM · MARGIN_CALL: MM ≤ equity < IM · LIQUIDATE: equity < MM
//
// ES and VaR come from the epoch's scenario losses: Monte Carlo and/or
// historical scenarios, each revalued in full or by the delta-gamma-vega
// approximation (the engine's configuration selects both). A model that is
// not selected contributes nothing to base; the floor applies only to an
// account that holds positions.
package margin

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// State is an account's margin state (DESIGN §5.2 numbering).
type State uint8

// Margin states.
const (
	// Healthy: equity ≥ IM.
	Healthy State = 0
	// MarginCall: MM ≤ equity < IM.
	MarginCall State = 1
	// Liquidate: equity < MM.
	Liquidate State = 2
)

var stateNames = [...]string{"HEALTHY", "MARGIN_CALL", "LIQUIDATE"}

// String returns the state's name as used in JSON ("HEALTHY", …).
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("STATE(%d)", uint8(s))
}

// Reason says why an order was rejected (DESIGN §5.2 numbering; 9 is
// Ballast's extension).
type Reason uint8

// Verdict reasons.
const (
	ReasonNone               Reason = 0
	ReasonInsufficientMargin Reason = 1
	ReasonUnknownAccount     Reason = 2
	ReasonUnknownInstrument  Reason = 3
	ReasonStaleMarketData    Reason = 4
	ReasonNoRiskEpoch        Reason = 5
	ReasonNotAuthorised      Reason = 6
	ReasonInvalidOrder       Reason = 7
	ReasonCreditLimit        Reason = 8
	// ReasonAttestationExpired extends DESIGN §5.2: the account's verified
	// collateral rests on an attestation that has expired.
	ReasonAttestationExpired Reason = 9
)

var reasonNames = [...]string{
	"none", "insufficient margin", "unknown account", "unknown instrument", "stale market data",
	"no risk epoch", "not authorised", "invalid order", "credit limit", "attestation expired",
}

// String returns the reason's text.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Models selects the margin models that contribute to the base requirement.
type Models struct {
	// Scenarios: ES and VaR of the epoch's scenario losses.
	Scenarios bool
	// Stress: the SPAN-like stress-grid loss.
	Stress bool
}

// Config is the margin policy's configuration.
type Config struct {
	// ESAlpha is the ES confidence (e.g. 0.975).
	ESAlpha float64
	// VaRAlpha is the VaR confidence (e.g. 0.99).
	VaRAlpha float64
	// Models selects the contributing models.
	Models Models
	// Floor is the minimum base requirement of an account with positions,
	// in currency units.
	Floor float64
	// MMFraction is MM / IM, in (0, 1].
	MMFraction float64
	// TierWeights weighs each collateral tier (cash, verified, credit line).
	TierWeights [3]float64
	// ConcentrationRate and ConcentrationThreshold define the concentration
	// add-on: rate × the delta notional per underlying above threshold.
	ConcentrationRate, ConcentrationThreshold float64
	// MarkAgeMax is the age after which an underlying's mark is stale.
	MarkAgeMax time.Duration
}

// DefaultConfig is the policy Ballast ships with.
func DefaultConfig() Config {
	return Config{
		ESAlpha:                0.975,
		VaRAlpha:               0.99,
		Models:                 Models{Scenarios: true, Stress: true},
		Floor:                  1000,
		MMFraction:             0.75,
		TierWeights:            [3]float64{1.00, 0.80, 0.30},
		ConcentrationRate:      0.02,
		ConcentrationThreshold: 5e6,
		MarkAgeMax:             5 * time.Second,
	}
}

// ErrConfig reports an invalid policy; the message names the field.
var ErrConfig = errors.New("margin: invalid configuration")

// Validate checks c.
func (c *Config) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v (want %s)", ErrConfig, field, v, want)
	}
	if !(c.ESAlpha > 0.5 && c.ESAlpha < 1) {
		return bad("es_alpha", c.ESAlpha, "(0.5, 1)")
	}
	if !(c.VaRAlpha > 0.5 && c.VaRAlpha < 1) {
		return bad("var_alpha", c.VaRAlpha, "(0.5, 1)")
	}
	if !c.Models.Scenarios && !c.Models.Stress {
		return fmt.Errorf("%w: models: select scenarios, stress or both", ErrConfig)
	}
	if !(c.Floor >= 0 && c.Floor < 1e14) {
		return bad("floor", c.Floor, "[0, 1e14)")
	}
	if !(c.MMFraction > 0 && c.MMFraction <= 1) {
		return bad("mm_fraction", c.MMFraction, "(0, 1]")
	}
	lo := [3]float64{1, 0.70, 0.20}
	hi := [3]float64{1, 0.90, 0.50}
	names := [3]string{"tier_weights.cash", "tier_weights.verified", "tier_weights.credit_line"}
	for i, w := range c.TierWeights {
		if !(w >= lo[i] && w <= hi[i]) {
			return bad(names[i], w, fmt.Sprintf("[%v, %v] (DESIGN §4)", lo[i], hi[i]))
		}
	}
	if !(c.ConcentrationRate >= 0 && c.ConcentrationRate <= 1) {
		return bad("concentration_rate", c.ConcentrationRate, "[0, 1]")
	}
	if !(c.ConcentrationThreshold >= 0 && c.ConcentrationThreshold < 1e15) {
		return bad("concentration_threshold", c.ConcentrationThreshold, "[0, 1e15)")
	}
	if c.MarkAgeMax <= 0 {
		return bad("mark_age_max", c.MarkAgeMax, "> 0")
	}
	return nil
}

// Measures are an account's risk measures, in currency units (losses
// positive).
type Measures struct {
	// VaR and ES of the scenario losses.
	VaR, ES float64
	// Stress is the stress-grid loss.
	Stress float64
	// DeltaNotional is |Δ_u·S_u| per underlying the account holds.
	DeltaNotional []float64
	// HasPositions says whether the floor applies.
	HasPositions bool
	// PD and LGD are the account's credit profile.
	PD, LGD float64
}

// Requirement is an account's margin requirement and how it was built.
type Requirement struct {
	// Base is the combined model requirement (before add-ons).
	Base float64
	// Driver names the model that set Base ("es", "var", "stress",
	// "floor" or "none").
	Driver string
	// Credit is the credit add-on PD × LGD × EAD.
	Credit float64
	// Concentration is the concentration add-on.
	Concentration float64
	// IM and MM are the initial and maintenance margins.
	IM, MM float64
}

// Require combines m into the account's requirement under c.
func (c *Config) Require(m *Measures) Requirement {
	r := Requirement{Driver: "none"}
	take := func(v float64, name string) {
		if v > r.Base {
			r.Base, r.Driver = v, name
		}
	}
	if c.Models.Scenarios {
		take(m.ES, "es")
		take(m.VaR, "var")
	}
	if c.Models.Stress {
		take(m.Stress, "stress")
	}
	if m.HasPositions {
		take(c.Floor, "floor")
	}
	// A measure that could not be computed (NaN) makes the requirement
	// unknown, never smaller: NaN fails every comparison in Decide, so the
	// verdict fails closed.
	unknown := c.Models.Scenarios && (m.ES != m.ES || m.VaR != m.VaR) || c.Models.Stress && m.Stress != m.Stress
	if unknown {
		nan := math.NaN()
		return Requirement{Base: nan, Driver: "unknown", Credit: nan, Concentration: nan, IM: nan, MM: nan}
	}
	r.Credit = m.PD * m.LGD * r.Base
	for _, n := range m.DeltaNotional {
		if over := n - c.ConcentrationThreshold; over > 0 {
			r.Concentration += c.ConcentrationRate * over
		}
	}
	r.IM = r.Base + r.Credit + r.Concentration
	r.MM = c.MMFraction * r.IM
	return r
}

// WeightedCollateral is Σ weight × balance over the tiers.
func (c *Config) WeightedCollateral(balances [3]float64) float64 {
	var sum float64
	for i, b := range balances {
		sum += c.TierWeights[i] * b
	}
	return sum
}

// StateOf classifies an account by its equity against IM and MM.
func StateOf(equity, im, mm float64) State {
	switch {
	case equity >= im:
		return Healthy
	case equity >= mm:
		return MarginCall
	default:
		return Liquidate
	}
}

// HealthFactorMax caps the health factor reported for an account with no
// maintenance requirement.
const HealthFactorMax = 1e6

// HealthFactor is equity / MM, capped at ±HealthFactorMax (an account with
// no requirement reports the cap).
func HealthFactor(equity, mm float64) float64 {
	if mm <= 0 {
		if equity < 0 {
			return -HealthFactorMax
		}
		return HealthFactorMax
	}
	return math.Max(-HealthFactorMax, math.Min(HealthFactorMax, equity/mm))
}

// Check is what the verdict rule needs to know about one order.
type Check struct {
	// PreIM and PostIM are the requirement before and after the order.
	PreIM, PostIM float64
	// PostEquity is the equity after the order (its price against the mark).
	PostEquity float64
	// CreditLimit caps IM (0: none).
	CreditLimit float64
	// Stale: a mark the account or order depends on is stale.
	Stale bool
	// AttestationExpired: the account's verified collateral rests on an
	// expired attestation.
	AttestationExpired bool
}

// Decide applies DESIGN §4's verdict rule: accept when the order reduces risk
// (post-trade IM ≤ pre-trade IM) or when post-trade equity covers post-trade
// IM; refuse risk-increasing orders on stale marks or an expired
// attestation (fail closed) and beyond the credit limit.
func Decide(c Check) (accept bool, reason Reason) {
	if c.PostIM <= c.PreIM {
		return true, ReasonNone
	}
	switch {
	case c.Stale:
		return false, ReasonStaleMarketData
	case c.AttestationExpired:
		return false, ReasonAttestationExpired
	case c.CreditLimit > 0 && c.PostIM > c.CreditLimit:
		return false, ReasonCreditLimit
	case c.PostEquity >= c.PostIM:
		return true, ReasonNone
	default:
		return false, ReasonInsufficientMargin
	}
}
