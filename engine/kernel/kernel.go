// Package kernel is the float64 reference implementation of the accelerator's
// risk batch (accel.RiskJob): the readable specification that the fixed-point
// CPU kernel, the Verilator simulation and the FPGA are measured against, and
// the engine's backend until those exist ("reference").
//
// The batch runs in scenario blocks of BlockScenarios: a worker prices every
// instrument on its block (the block's slice of the instrument loss matrix
// stays in its core's cache) and immediately aggregates every account's loss
// on the same block. Blocks are claimed from a shared counter, so the work
// splits evenly over the workers; every number is computed by the same
// expression in the same order whatever the split, so the result is bit for
// bit independent of the worker count.
package kernel

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/internal/hugemem"
	"github.com/ballast-risk/ballast/engine/internal/vec"
	"github.com/ballast-risk/ballast/engine/pricing"
	"github.com/ballast-risk/ballast/engine/scenario"
	"github.com/ballast-risk/ballast/engine/tail"
)

// BlockScenarios is the number of scenarios a worker prices and aggregates at
// a time: 2,000 instruments × 32 scenarios × 8 bytes = 512 KiB of instrument
// losses, which stays in a core's L2 while every account reads it.
const BlockScenarios = vec.Block

// Name is the backend name the reference kernel reports.
const Name = "reference"

// Reference is the float64 reference backend. The zero value uses every
// core; it is safe for concurrent use.
type Reference struct {
	// Workers bounds the goroutines a batch uses (0: GOMAXPROCS).
	Workers int
}

var _ accel.Backend = (*Reference)(nil)

// Name returns "reference".
func (r *Reference) Name() string { return Name }

func (r *Reference) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// instrumentCalc is one instrument's precomputed revaluation state.
type instrumentCalc struct {
	kind   accel.Kind
	u      int
	mult   float64
	value  float64 // per unit, unshocked
	linear float64 // S·Carry for linear kinds
	prep   pricing.Prepared
	greeks accel.Greeks // per contract
	spot   float64      // S, the underlying's spot
	sigma  float64
}

// Risk runs job into out.
func (r *Reference) Risk(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	if err := job.Validate(); err != nil {
		return err
	}
	u := job.Underlyings
	nI := len(job.Instruments)
	nA := job.Positions.Accounts()
	s := job.Scenarios.Total(u)
	calc := make([]instrumentCalc, nI)
	for i := range job.Instruments {
		c, err := prepare(&job.Instruments[i])
		if err != nil {
			return fmt.Errorf("%w: instrument %d: %v", accel.ErrInvalidJob, i, err)
		}
		calc[i] = c
	}
	set, err := scenarios(&job.Scenarios, u, r.workers())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out.Backend = Name
	out.Scenarios = s
	out.Value = resize(out.Value, nI)
	out.InstrumentLoss = resize(out.InstrumentLoss, nI*s)
	out.InstrumentStress = resize(out.InstrumentStress, nI*job.Stress.Points)
	out.AccountLoss = resize(out.AccountLoss, nA*s)
	out.VaR = resize(out.VaR, nA)
	out.ES = resize(out.ES, nA)
	out.MeanLoss = resize(out.MeanLoss, nA)
	if cap(out.Greeks) < nI {
		out.Greeks = make([]accel.Greeks, nI)
	}
	out.Greeks = out.Greeks[:nI]
	for i := range calc {
		out.Value[i] = calc[i].value
		out.Greeks[i] = calc[i].greeks
		stressRow(job, &calc[i], out.InstrumentStress[i*job.Stress.Points:(i+1)*job.Stress.Points])
	}

	blocks := (s + BlockScenarios - 1) / BlockScenarios
	var next atomic.Int64
	var wg sync.WaitGroup
	w := min(r.workers(), blocks)
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks || ctx.Err() != nil {
					return
				}
				s0 := b * BlockScenarios
				s1 := min(s0+BlockScenarios, s)
				revalue(job, calc, set, s0, s1, s, out.InstrumentLoss)
				aggregate(&job.Positions, out.InstrumentLoss, out.AccountLoss, s0, s1, s)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	spec := tail.Spec{KVaR: job.KVaR, KES: job.KES}
	var nextA atomic.Int64
	const accountsChunk = 64
	for range min(r.workers(), max(1, (nA+accountsChunk-1)/accountsChunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc tail.Scratch
			for {
				a0 := int(nextA.Add(accountsChunk) - accountsChunk)
				if a0 >= nA || ctx.Err() != nil {
					return
				}
				for a := a0; a < min(a0+accountsChunk, nA); a++ {
					row := out.AccountLoss[a*s : (a+1)*s]
					res := tail.Compute(row, spec, &sc)
					out.VaR[a], out.ES[a] = res.VaR, res.ES
					out.MeanLoss[a] = tail.Mean(row)
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// scenarioSet is the job's scenarios materialised: S×U log-returns and vol
// multipliers (nil when every multiplier is 1).
type scenarioSet struct {
	x, volMul []float64
}

func scenarios(sc *accel.Scenarios, u, workers int) (scenarioSet, error) {
	total := sc.Total(u)
	set := scenarioSet{x: make([]float64, total*u)}
	if sc.VolOfVol != 0 {
		set.volMul = make([]float64, total*u)
		for i := range set.volMul {
			set.volMul[i] = 1
		}
	}
	if sc.Count > 0 {
		var corr *scenario.Correlation
		if sc.Cholesky != nil {
			c, err := scenario.CorrelationFromFactor(u, sc.Cholesky)
			if err != nil {
				return set, fmt.Errorf("%w: scenarios: %v", accel.ErrInvalidJob, err)
			}
			corr = c
		}
		g, err := scenario.NewMonteCarlo(scenario.Config{
			Seed:         sc.Seed,
			Scenarios:    sc.Count,
			HorizonYears: sc.HorizonYears,
			Vols:         sc.Vols,
			Correlation:  corr,
			StudentTDoF:  sc.StudentTDoF,
			VolOfVol:     sc.VolOfVol,
			SpotVolCorr:  sc.SpotVolCorr,
		})
		if err != nil {
			return set, fmt.Errorf("%w: scenarios: %v", accel.ErrInvalidJob, err)
		}
		mc := &scenario.Set{Scenarios: sc.Count, Underlyings: u, X: set.x[:sc.Count*u]}
		if set.volMul != nil {
			mc.VolMul = set.volMul[:sc.Count*u]
		}
		g.Fill(mc, workers)
	}
	copy(set.x[sc.Count*u:], sc.Historical)
	return set, nil
}

func prepare(in *accel.Instrument) (instrumentCalc, error) {
	c := instrumentCalc{kind: in.Kind, u: int(in.Underlying), mult: in.Multiplier, spot: in.S, sigma: in.Sigma}
	m := in.Multiplier
	switch in.Kind {
	case accel.Spot, accel.Future:
		c.linear = in.S * in.Carry
		c.value = c.linear
		g := accel.Greeks{Price: c.linear * m, Delta: in.Carry * m}
		if in.Kind == accel.Future {
			// V = S·e^((r−q)T): time passing shrinks T.
			g.Theta = -(in.R - in.Q) * c.linear * m
			g.Rho = in.T * c.linear * m
		}
		c.greeks = g
		return c, nil
	}
	pin := pricing.Inputs{K: in.K, T: in.T, R: in.R, Q: in.Q, Sigma: in.Sigma, S: in.S, Model: pricing.ModelBSM, Kind: pricing.Call}
	if in.Kind == accel.Put {
		pin.Kind = pricing.Put
	}
	carry := 1.0
	if in.Model == accel.Black76 {
		pin.Model = pricing.ModelBlack76
		pin.S = in.S * in.Carry
		pin.Q = 0
		carry = in.Carry
	}
	p, err := pricing.Prepare(pin)
	if err != nil {
		return c, err
	}
	g, err := pricing.Compute(pin)
	if err != nil {
		return c, err
	}
	c.prep = p
	c.value = p.Value()
	// Per contract, delta-type Greeks with respect to spot: ∂F/∂S = carry.
	c.greeks = accel.Greeks{
		Price: g.Price * m, Delta: g.Delta * carry * m, Gamma: g.Gamma * carry * carry * m,
		Vega: g.Vega * m, Theta: g.Theta * m, Rho: g.Rho * m, Vanna: g.Vanna * carry * m, Volga: g.Volga * m,
	}
	return c, nil
}

// lossAt is the per-contract loss of c when its underlying moves by log-return
// x and its vol by multiplier vm.
func lossAt(c *instrumentCalc, model accel.LossModel, x, vm float64) float64 {
	if c.kind == accel.Spot || c.kind == accel.Future {
		return -(c.linear * math.Expm1(x)) * c.mult
	}
	if model == accel.DeltaGammaVega {
		ds := c.spot * math.Expm1(x)
		dv := c.sigma * (vm - 1)
		g := &c.greeks
		return -(g.Delta*ds + 0.5*g.Gamma*ds*ds + g.Vega*dv)
	}
	return -(c.prep.ValueAfterShock(x, vm) - c.value) * c.mult
}

// revalue writes the losses of every instrument on scenarios [s0, s1) (at
// most BlockScenarios of them). Under full revaluation it gathers each
// underlying's log-returns on the block (x is row-major, scenarios ×
// underlyings) with their exponentials, once, and revalues each option on
// the whole block with one pricing.Prepared.ValuesAfterShocks call, which
// is bit for bit lossAt's ValueAfterShock per scenario.
func revalue(job *accel.RiskJob, calc []instrumentCalc, set scenarioSet, s0, s1, s int, loss []float64) {
	u := job.Underlyings
	n := s1 - s0
	// Gathered shocks: underlying k's at [k·n, (k+1)·n). Jobs with up to
	// underlyingsOnStack underlyings keep them on the stack.
	const underlyingsOnStack = 64
	var xBuf, exBuf, vmBuf [underlyingsOnStack * BlockScenarios]float64
	xs, exs, vms := xBuf[:], exBuf[:], vmBuf[:]
	full := job.Model == accel.FullRevaluation && n <= BlockScenarios
	if full {
		if u > underlyingsOnStack {
			xs, exs = make([]float64, u*n), make([]float64, u*n)
			vms = make([]float64, u*n)
		}
		xs, exs, vms = xs[:u*n], exs[:u*n], vms[:u*n]
		for k := range n {
			row := set.x[(s0+k)*u : (s0+k+1)*u]
			for j, x := range row {
				xs[j*n+k] = x
			}
			if set.volMul != nil {
				for j, v := range set.volMul[(s0+k)*u : (s0+k+1)*u] {
					vms[j*n+k] = v
				}
			}
		}
		for i, x := range xs {
			exs[i] = pricing.Exp(x)
		}
	}
	var vals [BlockScenarios]float64
	for i := range calc {
		c := &calc[i]
		row := loss[i*s+s0 : i*s+s1]
		if full && c.kind != accel.Spot && c.kind != accel.Future {
			g := c.u * n
			var vm []float64
			if set.volMul != nil {
				vm = vms[g : g+n]
			}
			v := vals[:n]
			c.prep.ValuesAfterShocks(xs[g:g+n], exs[g:g+n], vm, v)
			for k, vk := range v {
				row[k] = -(vk - c.value) * c.mult // lossAt's expression
			}
			continue
		}
		for k := range row {
			sc := (s0 + k) * u
			vm := 1.0
			if set.volMul != nil {
				vm = set.volMul[sc+c.u]
			}
			row[k] = lossAt(c, job.Model, set.x[sc+c.u], vm)
		}
	}
}

// aggregate writes every account's loss on scenarios [s0, s1): the sum over
// its positions, in position order, of float64(qty·loss), from +0. Full
// blocks go through vec.Accumulate (AVX where the CPU has it; the same
// roundings in the same order as the Go loop, so bit for bit equal).
func aggregate(p *accel.Positions, instLoss, acctLoss []float64, s0, s1, s int) {
	n := s1 - s0
	for a := 0; a < p.Accounts(); a++ {
		j0, j1 := p.Start[a], p.Start[a+1]
		row := acctLoss[a*s+s0 : a*s+s1 : a*s+s1]
		if n == vec.Block {
			vec.Accumulate(row, instLoss, s, s0, p.Instrument[j0:j1], p.Qty[j0:j1])
			continue
		}
		clear(row)
		for j := j0; j < j1; j++ {
			base := int(p.Instrument[j]) * s
			AddScaled(row, p.Qty[j], instLoss[base+s0:base+s0+n:base+s0+n])
		}
	}
}

// AddScaled sets dst[k] += float64(q·src[k]) for every k: the one expression
// the engine uses to add a position to a loss vector, so an incremental check
// (engine/tail) reproduces the batch bit for bit. The explicit conversion
// forbids fusing into an FMA.
func AddScaled(dst []float64, q float64, src []float64) { vec.AddScaled(dst, q, src) }

// stressRow writes the weighted per-contract loss of c at every stress point
// of its underlying.
func stressRow(job *accel.RiskJob, c *instrumentCalc, row []float64) {
	st := &job.Stress
	base := c.u * st.Points
	for p := range row {
		row[p] = lossAt(c, accel.FullRevaluation, st.X[base+p], st.VolMul[base+p]) * st.Weight[base+p]
	}
}

func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return hugemem.Float64s(n)
	}
	return v[:n]
}
