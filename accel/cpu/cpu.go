// Package cpu is the `cpu` accelerator backend (DESIGN §3, issue 4): the
// fixed-point risk kernel of accel/fxp run on every core. It computes the
// same integers as the RTL (the Verilator simulation and the FPGA), so it is
// both the backend of machines without a card and the fallback that
// accel/failover re-runs a failed device job on without changing a verdict.
//
// A batch runs in three steps:
//
//  1. host conversion: the job's scenario constants and every instrument
//     are converted to fixed point (fxp.NewScenarioParams,
//     fxp.NewInstrumentParams), historical rows and stress points with
//     fxp.ConvertX/ConvertM, and the range rule (fxp.CheckLossRange) is
//     checked, so no integer sum below can overflow;
//  2. scenario blocks of BlockScenarios, claimed from a shared counter by the
//     workers: each worker generates the block's scenarios
//     (ScenarioParams.Row), revalues every instrument on them (the
//     instrument losses of the block stay in its cache, as int64 money) and
//     aggregates every account's loss on the block in int64;
//  3. tails per account in parallel: VaR, the ES numerator and the mean
//     numerator from fxp.TailSums on the account's int64 losses.
//
// Every integer is computed by the same expression whatever the split, so
// the result is the same bit for bit for any number of workers. Results are
// converted to float64 at the end: money × 2^-12 (exact below 2^53 units).
package cpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
)

// Name is the backend's name.
const Name = "cpu"

// BlockScenarios is the number of scenarios a worker revalues and
// aggregates at a time: 2,000 instruments × 32 scenarios × 8 bytes = 512
// KiB of instrument losses, which stays in a core's L2 while every account
// reads it.
const BlockScenarios = 32

// WorkersMax bounds the goroutines of one batch.
const WorkersMax = 256

// moneyUnit converts money units to currency.
const moneyUnit = 1.0 / (1 << fxp.MoneyFrac)

// ErrRange reports a job the fixed-point kernel cannot represent (a value,
// a rate or a portfolio outside the ranges of docs/accel-numerics.md); it
// wraps accel.ErrInvalidJob and the fxp range error naming the field.
var ErrRange = errors.New("cpu: job outside the fixed-point ranges")

// Backend is the cpu backend. The zero value uses every core; it is safe
// for concurrent use.
type Backend struct {
	// Workers bounds the goroutines a batch uses (0: GOMAXPROCS).
	Workers int
	// Kernel forces an aggregation kernel ("": Best()); every kernel gives
	// the same bits.
	Kernel Kernel
}

// KernelName reports the aggregation kernel a batch uses.
func (b *Backend) KernelName() Kernel {
	if b.Kernel != "" {
		return b.Kernel
	}
	return Best()
}

var _ accel.Backend = (*Backend)(nil)

// Name returns "cpu".
func (b *Backend) Name() string { return Name }

func (b *Backend) workers() int {
	w := b.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return min(w, WorkersMax)
}

// plan is a job converted to fixed point.
type plan struct {
	u, sMC, s, points int
	scen              *fxp.ScenarioParams
	ins               []*fxp.InstrumentParams
	under             []int32 // underlying per instrument
	hx                []int32 // historical rows, (s−sMC)×u
	sx                []int32 // stress points, u×points
	sm                []uint32
	qty               []int64
	dgv               bool
	avx512            bool // aggregation kernel
}

func rangeErr(what string, err error) error {
	return fmt.Errorf("%w: %w: %s: %w", accel.ErrInvalidJob, ErrRange, what, err)
}

// newPlan converts job (already validated).
func newPlan(job *accel.RiskJob) (*plan, error) {
	u := job.Underlyings
	p := &plan{u: u, sMC: job.Scenarios.Count, s: job.Scenarios.Total(u), points: job.Stress.Points,
		dgv: job.Model == accel.DeltaGammaVega}
	sc, err := fxp.NewScenarioParams(&job.Scenarios, u)
	if err != nil {
		return nil, rangeErr("scenarios", err)
	}
	p.scen = sc
	xAbs := sc.XAbsMax()
	if len(job.Scenarios.Historical) > 0 {
		p.hx = make([]int32, len(job.Scenarios.Historical))
		if err := fxp.ConvertX(p.hx, job.Scenarios.Historical); err != nil {
			return nil, rangeErr("historical scenarios", err)
		}
		for _, x := range p.hx {
			xAbs = max(xAbs, abs32(x))
		}
	}
	if p.points > 0 {
		p.sx = make([]int32, len(job.Stress.X))
		p.sm = make([]uint32, len(job.Stress.VolMul))
		if err := fxp.ConvertX(p.sx, job.Stress.X); err != nil {
			return nil, rangeErr("stress grid", err)
		}
		if err := fxp.ConvertM(p.sm, job.Stress.VolMul); err != nil {
			return nil, rangeErr("stress grid", err)
		}
	}
	p.ins = make([]*fxp.InstrumentParams, len(job.Instruments))
	p.under = make([]int32, len(job.Instruments))
	bound := make([]int64, len(job.Instruments))
	for i := range job.Instruments {
		ip, err := fxp.NewInstrumentParams(&job.Instruments[i])
		if err != nil {
			return nil, rangeErr(fmt.Sprintf("instrument %d", i), err)
		}
		p.ins[i] = ip
		p.under[i] = int32(job.Instruments[i].Underlying)
		bound[i] = ip.LossBound(xAbs, job.Model)
	}
	p.qty = make([]int64, len(job.Positions.Qty))
	for k, q := range job.Positions.Qty {
		if q != math.Trunc(q) || math.Abs(q) >= 1<<62 {
			return nil, fmt.Errorf("%w: position %d: quantity %v is not a whole number of contracts", accel.ErrInvalidJob, k, q)
		}
		p.qty[k] = int64(q)
	}
	if err := fxp.CheckLossRange(bound, &job.Positions, p.s); err != nil {
		return nil, rangeErr("portfolio", err)
	}
	return p, nil
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// Risk runs job into out.
func (b *Backend) Risk(ctx context.Context, job *accel.RiskJob, out *accel.RiskResult) error {
	if err := job.Validate(); err != nil {
		return err
	}
	kern := b.KernelName()
	if !Supported(kern) {
		return fmt.Errorf("%w: cpu kernel %q is not supported by this CPU", accel.ErrUnavailable, kern)
	}
	p, err := newPlan(job)
	if err != nil {
		return err
	}
	p.avx512 = kern == KernelAVX512
	if err := ctx.Err(); err != nil {
		return err
	}
	nI, nA, s := len(job.Instruments), job.Positions.Accounts(), p.s
	out.Backend = Name
	out.Scenarios = s
	out.Value = resize(out.Value, nI)
	out.InstrumentLoss = resize(out.InstrumentLoss, nI*s)
	out.InstrumentStress = resize(out.InstrumentStress, nI*p.points)
	out.AccountLoss = resize(out.AccountLoss, nA*s)
	out.VaR = resize(out.VaR, nA)
	out.ES = resize(out.ES, nA)
	out.MeanLoss = resize(out.MeanLoss, nA)
	if cap(out.Greeks) < nI {
		out.Greeks = make([]accel.Greeks, nI)
	}
	out.Greeks = out.Greeks[:nI]
	for i, ip := range p.ins {
		in := &job.Instruments[i]
		out.Value[i] = float64(ip.Value0()) * 0x1p-32 * in.S
		out.Greeks[i] = ip.AccelGreeks(ip.Greeks())
		base := int(p.under[i]) * p.points
		row := out.InstrumentStress[i*p.points : (i+1)*p.points]
		for k := range row {
			// The stress grid is always fully revalued (engine/kernel).
			l := ip.Loss(ip.Value(p.sx[base+k], p.sm[base+k]))
			row[k] = float64(l) * moneyUnit * job.Stress.Weight[base+k]
		}
	}

	// Step 2: scenario blocks. Account losses are stored as the bits of
	// their int64 money values in out.AccountLoss until step 3 converts them.
	blocks := (s + BlockScenarios - 1) / BlockScenarios
	w := min(b.workers(), blocks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blk := newBlock(p, nI)
			for {
				k := int(next.Add(1) - 1)
				if k >= blocks || ctx.Err() != nil {
					return
				}
				s0 := k * BlockScenarios
				s1 := min(s0+BlockScenarios, s)
				blk.revalue(p, s0, s1, out.InstrumentLoss)
				blk.aggregate(p, &job.Positions, s0, s1, out.AccountLoss)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	// Step 3: tails per account.
	const accountsChunk = 64
	var nextA atomic.Int64
	for range min(b.workers(), max(1, (nA+accountsChunk-1)/accountsChunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			losses := make([]int64, s)
			scratch := make([]int64, s)
			for {
				a0 := int(nextA.Add(accountsChunk) - accountsChunk)
				if a0 >= nA || ctx.Err() != nil {
					return
				}
				for a := a0; a < min(a0+accountsChunk, nA); a++ {
					row := out.AccountLoss[a*s : (a+1)*s]
					for k, f := range row {
						losses[k] = int64(math.Float64bits(f))
					}
					v, es, sum := fxp.TailSums(losses, job.KVaR, job.KES, scratch)
					out.VaR[a] = float64(v) * moneyUnit
					out.ES[a] = float64(es) * moneyUnit / float64(job.KES)
					out.MeanLoss[a] = float64(sum) * moneyUnit / float64(s)
					for k, l := range losses {
						row[k] = float64(l) * moneyUnit
					}
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// block is one worker's scratch for a scenario block.
type block struct {
	x    []int32  // BlockScenarios × U log-returns
	m    []uint32 // BlockScenarios × U vol multipliers
	loss []int64  // I × BlockScenarios instrument losses
}

func newBlock(p *plan, nI int) *block {
	return &block{
		x:    make([]int32, BlockScenarios*p.u),
		m:    make([]uint32, BlockScenarios*p.u),
		loss: make([]int64, nI*BlockScenarios),
	}
}

// revalue generates scenarios [s0, s1) and revalues every instrument on
// them into b.loss and the float64 instrument loss matrix il (I × S).
func (b *block) revalue(p *plan, s0, s1 int, il []float64) {
	u, n := p.u, s1-s0
	for k := 0; k < n; k++ {
		sc := s0 + k
		x, m := b.x[k*u:(k+1)*u], b.m[k*u:(k+1)*u]
		if sc < p.sMC {
			p.scen.Row(uint64(sc), x, m)
			continue
		}
		copy(x, p.hx[(sc-p.sMC)*u:(sc-p.sMC+1)*u])
		for j := range m {
			m[j] = fxp.MOne
		}
	}
	for i, ip := range p.ins {
		ul := int(p.under[i])
		lr := b.loss[i*BlockScenarios : i*BlockScenarios+n]
		dst := il[i*p.s+s0 : i*p.s+s1]
		if p.dgv {
			for k := range lr {
				lr[k] = ip.Loss(ip.ValueDGV(b.x[k*u+ul], b.m[k*u+ul]))
				dst[k] = float64(lr[k]) * moneyUnit
			}
			continue
		}
		for k := range lr {
			lr[k] = ip.Loss(ip.Value(b.x[k*u+ul], b.m[k*u+ul]))
			dst[k] = float64(lr[k]) * moneyUnit
		}
	}
}

// aggregate sums every account's losses on scenarios [s0, s1) in int64 and
// stores them as bits in al (A × S).
func (b *block) aggregate(p *plan, pos *accel.Positions, s0, s1 int, al []float64) {
	var acc [BlockScenarios]int64
	for a := 0; a < pos.Accounts(); a++ {
		clear(acc[:])
		j0, j1 := pos.Start[a], pos.Start[a+1]
		// Whole rows of BlockScenarios: a short last block also adds the
		// stale columns beyond s1 − s0, which are never read.
		if p.avx512 {
			aggregateAVX512(&acc, b.loss, pos.Instrument[j0:j1], p.qty[j0:j1])
		} else {
			aggregateScalar(&acc, b.loss, pos.Instrument[j0:j1], p.qty[j0:j1])
		}
		dst := al[a*p.s+s0 : a*p.s+s1]
		for k := range dst {
			dst[k] = math.Float64frombits(uint64(acc[k]))
		}
	}
}

func resize(v []float64, n int) []float64 {
	if cap(v) < n {
		return make([]float64, n)
	}
	return v[:n]
}
