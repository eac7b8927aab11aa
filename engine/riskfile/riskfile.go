// Package riskfile reads the market-and-portfolio file of `ballastctl risk`
// (DESIGN §5.1) and turns it into one risk batch (accel.RiskJob) for a single
// portfolio:
//
//	{
//	  "rate": 0.03,
//	  "horizon_days": 1,
//	  "underlyings": [{"symbol": "AAA", "spot": 100, "vol": 0.2, "div": 0.01}],
//	  "correlation": [[1]],
//	  "positions": [{"underlying": "AAA", "kind": "call", "strike": 105,
//	                 "expiry_years": 0.5, "qty": -10, "multiplier": 100}]
//	}
//
// Scenarios are correlated log-returns over h = horizon_days/252 years,
// x ~ N(−σ²h/2, σ²h), applied instantaneously. Values: spot = S; a future =
// S·e^((rate−div)·expiry_years); calls and puts = Black–Scholes–Merton on
// spot with the underlying's dividend yield. "multiplier" defaults to 1;
// "correlation" may be omitted (independent underlyings).
package riskfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
)

// Bounds.
const (
	// FileBytesMax bounds a risk file.
	FileBytesMax = 64 << 20
	// UnderlyingsMax bounds the underlyings of a file.
	UnderlyingsMax = 512
	// PositionsMax bounds the positions of a file.
	PositionsMax = 100000
	// HorizonDaysMax bounds horizon_days.
	HorizonDaysMax = 252
	// VolMax bounds an underlying's vol.
	VolMax = 10.0
	// ExpiryYearsMax bounds expiry_years.
	ExpiryYearsMax = 50.0
)

// ErrInvalid reports a file that breaks the format; the message names the
// field.
var ErrInvalid = errors.New("riskfile: invalid")

// File is a parsed risk file.
type File struct {
	Rate        float64      `json:"rate"`
	HorizonDays float64      `json:"horizon_days"`
	Underlyings []Underlying `json:"underlyings"`
	Correlation [][]float64  `json:"correlation"`
	Positions   []Position   `json:"positions"`
}

// Underlying is one risk factor.
type Underlying struct {
	Symbol string  `json:"symbol"`
	Spot   float64 `json:"spot"`
	Vol    float64 `json:"vol"`
	Div    float64 `json:"div"`
}

// Position is one holding.
type Position struct {
	Underlying  string   `json:"underlying"`
	Kind        string   `json:"kind"`
	Strike      float64  `json:"strike"`
	ExpiryYears float64  `json:"expiry_years"`
	Qty         float64  `json:"qty"`
	Multiplier  *float64 `json:"multiplier"`
}

// Parse reads and validates a risk file.
func Parse(data []byte) (*File, error) {
	if len(data) > FileBytesMax {
		return nil, fmt.Errorf("%w: %d bytes over the %d-byte bound", ErrInvalid, len(data), FileBytesMax)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the object", ErrInvalid)
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (f *File) validate() error {
	if !finite(f.Rate) || math.Abs(f.Rate) > 1 {
		return bad("rate %v outside [-1, 1]", f.Rate)
	}
	if !(f.HorizonDays > 0 && f.HorizonDays <= HorizonDaysMax) {
		return bad("horizon_days %v outside (0, %d]", f.HorizonDays, HorizonDaysMax)
	}
	n := len(f.Underlyings)
	if n == 0 || n > UnderlyingsMax {
		return bad("%d underlyings (want 1..%d)", n, UnderlyingsMax)
	}
	seen := make(map[string]bool, n)
	for i, u := range f.Underlyings {
		switch {
		case u.Symbol == "" || len(u.Symbol) > 64:
			return bad("underlyings[%d].symbol %q: want 1..64 bytes", i, u.Symbol)
		case seen[u.Symbol]:
			return bad("underlyings[%d].symbol %q listed twice", i, u.Symbol)
		case !(u.Spot > 0 && u.Spot < 1e12):
			return bad("underlyings[%d].spot %v: want a positive price", i, u.Spot)
		case !(u.Vol >= 0 && u.Vol <= VolMax):
			return bad("underlyings[%d].vol %v outside [0, %v]", i, u.Vol, VolMax)
		case !finite(u.Div) || math.Abs(u.Div) > 1:
			return bad("underlyings[%d].div %v outside [-1, 1]", i, u.Div)
		}
		seen[u.Symbol] = true
	}
	if f.Correlation != nil {
		if len(f.Correlation) != n {
			return bad("correlation has %d rows for %d underlyings", len(f.Correlation), n)
		}
		for i, row := range f.Correlation {
			if len(row) != n {
				return bad("correlation row %d has %d entries, want %d", i, len(row), n)
			}
		}
	}
	if len(f.Positions) == 0 || len(f.Positions) > PositionsMax {
		return bad("%d positions (want 1..%d)", len(f.Positions), PositionsMax)
	}
	for i, p := range f.Positions {
		if !seen[p.Underlying] {
			return bad("positions[%d].underlying %q is not an underlying", i, p.Underlying)
		}
		switch p.Kind {
		case "spot":
			if p.Strike != 0 || p.ExpiryYears != 0 {
				return bad("positions[%d]: spot takes no strike or expiry_years", i)
			}
		case "future":
			if p.Strike != 0 {
				return bad("positions[%d]: a future takes no strike", i)
			}
		case "call", "put":
			if !(p.Strike > 0 && p.Strike < 1e12) {
				return bad("positions[%d].strike %v: want a positive price", i, p.Strike)
			}
		default:
			return bad("positions[%d].kind %q (want spot, future, call or put)", i, p.Kind)
		}
		if !(p.ExpiryYears >= 0 && p.ExpiryYears <= ExpiryYearsMax) {
			return bad("positions[%d].expiry_years %v outside [0, %v]", i, p.ExpiryYears, ExpiryYearsMax)
		}
		if !finite(p.Qty) || math.Abs(p.Qty) > 1e12 {
			return bad("positions[%d].qty %v", i, p.Qty)
		}
		if p.Multiplier != nil && !(*p.Multiplier > 0 && *p.Multiplier <= 1e9) {
			return bad("positions[%d].multiplier %v: want (0, 1e9]", i, *p.Multiplier)
		}
	}
	return nil
}

// Job builds the risk batch for n scenarios, seed and confidence alpha (VaR
// and ES at the same α). A correlation matrix that is not positive
// semi-definite is refused unless repair is set; the scenario.Report says
// what was done.
func (f *File) Job(n int, seed uint64, alpha float64, repair bool) (*accel.RiskJob, scenario.Report, error) {
	u := len(f.Underlyings)
	index := make(map[string]int, u)
	vols := make([]float64, u)
	for i, x := range f.Underlyings {
		index[x.Symbol] = i
		vols[i] = x.Vol
	}
	corr := make([]float64, u*u)
	for i := range u {
		for j := range u {
			switch {
			case f.Correlation != nil:
				corr[i*u+j] = f.Correlation[i][j]
			case i == j:
				corr[i*u+j] = 1
			}
		}
	}
	policy := scenario.Reject
	if repair {
		policy = scenario.Repair
	}
	c, rep, err := scenario.NewCorrelation(u, corr, policy)
	if err != nil {
		return nil, rep, fmt.Errorf("%w: correlation: %w", ErrInvalid, err)
	}
	k, err := tail.K(n, alpha)
	if err != nil {
		return nil, rep, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	job := &accel.RiskJob{
		Underlyings: u,
		Instruments: make([]accel.Instrument, len(f.Positions)),
		Scenarios: accel.Scenarios{
			Seed: seed, Count: n, HorizonYears: f.HorizonDays / 252, Vols: vols, Cholesky: c.L(),
		},
		Stress: accel.Stress{X: []float64{}, VolMul: []float64{}, Weight: []float64{}},
		Positions: accel.Positions{
			Start:      []uint32{0, uint32(len(f.Positions))},
			Instrument: make([]uint32, len(f.Positions)),
			Qty:        make([]float64, len(f.Positions)),
		},
		KVaR: k, KES: k,
	}
	for i, p := range f.Positions {
		ui := index[p.Underlying]
		ul := &f.Underlyings[ui]
		mult := 1.0
		if p.Multiplier != nil {
			mult = *p.Multiplier
		}
		in := accel.Instrument{Underlying: uint32(ui), S: ul.Spot, Carry: 1, R: f.Rate, Q: ul.Div, T: p.ExpiryYears, Sigma: ul.Vol, Multiplier: mult}
		switch p.Kind {
		case "spot":
			in.Kind = accel.Spot
		case "future":
			in.Kind = accel.Future
			in.Carry = math.Exp((f.Rate - ul.Div) * p.ExpiryYears)
		case "call", "put":
			in.Kind, in.Model, in.K = accel.Call, accel.BSM, p.Strike
			if p.Kind == "put" {
				in.Kind = accel.Put
			}
		}
		job.Instruments[i] = in
		job.Positions.Instrument[i] = uint32(i)
		job.Positions.Qty[i] = p.Qty
	}
	return job, rep, job.Validate()
}
