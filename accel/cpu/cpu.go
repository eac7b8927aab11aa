// Package cpu is the `cpu` accelerator backend (DESIGN §3, issue 4): the
// fixed-point risk kernel of accel/fxp run on every core. Its results are
// bit for bit those of the device's four operations (accel/job's executors:
// SCENGEN → REVAL → AGGTAIL, and GREEKS) decoded by accel/job, so it is both
// the backend of machines without a card and the fallback that
// accel/failover re-runs a failed device job on without changing a verdict.
//
// A batch runs in three steps:
//
//  1. host conversion: job.NewPlan converts the job to fixed point and
//     checks the range rule, so no integer sum below can overflow;
//  2. scenario blocks of BlockScenarios, claimed from a shared counter by the
//     workers: each worker generates the block's scenarios
//     (fxp.ScenarioParams.Row, or the plan's historical rows) into an
//     underlying-major tile, revalues every instrument on them (the
//     instrument losses of the block stay in its cache, as int64 money) and
//     aggregates every account's loss on the block in int64 with the
//     multiply-accumulate kernel chosen for the CPU (Best: AVX-512, AVX2 or
//     scalar Go);
//  3. tails per account in parallel: VaR, the ES numerator and the mean
//     numerator from fxp.TailSums on the account's int64 losses.
//
// It does not materialise the device buffers: every integer is computed by
// the same kernel function on the same inputs as the executors, and
// converted with accel/job's conversions, so the result is the same bit for
// bit — and the same for any number of workers.
package cpu

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/accel/job"
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

// accountsChunk is the number of accounts a tail worker claims at a time.
const accountsChunk = 64

// ErrRange reports a job the fixed-point kernel cannot represent; it is
// job.ErrRange (the error is a *job.RangeError naming the field).
var ErrRange = job.ErrRange

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

// Risk runs job into out: job.NewPlan, then RunPlan.
func (b *Backend) Risk(ctx context.Context, j *accel.RiskJob, out *accel.RiskResult) error {
	if k := b.KernelName(); !Supported(k) {
		return fmt.Errorf("%w: cpu kernel %q is not supported by this CPU", accel.ErrUnavailable, k)
	}
	p, err := job.NewPlan(j)
	if err != nil {
		return err
	}
	return b.RunPlan(ctx, p, out)
}

// RunPlan runs a planned batch into out, under the backend name "cpu". A
// Kernel this CPU does not support is accel.ErrUnavailable.
func (b *Backend) RunPlan(ctx context.Context, p *job.Plan, out *accel.RiskResult) error {
	kern := b.KernelName()
	if !Supported(kern) {
		return fmt.Errorf("%w: cpu kernel %q is not supported by this CPU", accel.ErrUnavailable, kern)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.Resize(Name, out)
	for i, ip := range p.Ins {
		out.Value[i] = p.ValueFloat(i, ip.Value0())
		out.Greeks[i] = ip.AccelGreeks(ip.Greeks())
		u := int(p.Under[i]) * p.Points
		row := out.InstrumentStress[i*p.Points : (i+1)*p.Points]
		for k := range row {
			// REVAL's stress columns lie beyond C_dgv: always Value.
			row[k] = p.StressFloat(i, k, ip.Loss(ip.Value(p.StressX[u+k], p.StressM[u+k])))
		}
	}

	// Step 2: scenario blocks. Account losses are stored as the bits of
	// their int64 money values in out.AccountLoss until step 3 converts them.
	blocks := (p.S + BlockScenarios - 1) / BlockScenarios
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(b.workers(), blocks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			blk := newBlock(p)
			for {
				k := int(next.Add(1) - 1)
				if k >= blocks || ctx.Err() != nil {
					return
				}
				s0 := k * BlockScenarios
				s1 := min(s0+BlockScenarios, p.S)
				blk.scenarios(p, s0, s1)
				blk.revalue(p, s0, s1, out.InstrumentLoss)
				blk.aggregate(p, kern, s0, s1, out.AccountLoss)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	// Step 3: tails per account.
	var nextA atomic.Int64
	for range min(b.workers(), max(1, (p.A+accountsChunk-1)/accountsChunk)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			losses := make([]int64, p.S)
			scratch := make([]int64, p.S)
			for {
				a0 := int(nextA.Add(accountsChunk) - accountsChunk)
				if a0 >= p.A || ctx.Err() != nil {
					return
				}
				for a := a0; a < min(a0+accountsChunk, p.A); a++ {
					tails(p, out, a, losses, scratch)
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// tails converts account a's loss row (int64 bits in out.AccountLoss) and
// computes its VaR, ES and mean.
func tails(p *job.Plan, out *accel.RiskResult, a int, losses, scratch []int64) {
	row := out.AccountLoss[a*p.S : (a+1)*p.S]
	for k, f := range row {
		losses[k] = int64(math.Float64bits(f))
	}
	out.VaR[a], out.ES[a], out.MeanLoss[a] = p.TailFloat(fxp.TailSums(losses, p.KVaR, p.KES, scratch))
	for k, l := range losses {
		row[k] = job.LossFloat(l)
	}
}

// block is one worker's scratch for a scenario block.
type block struct {
	x    []int32  // U × BlockScenarios log-returns, underlying-major
	m    []uint32 // U × BlockScenarios vol multipliers
	rx   []int32  // one scenario row
	rm   []uint32 // its multipliers (nil without vol shocks)
	loss []int64  // I × BlockScenarios instrument losses
	acc  [BlockScenarios]int64
}

func newBlock(p *job.Plan) *block {
	b := &block{
		x:    make([]int32, BlockScenarios*p.U),
		m:    make([]uint32, BlockScenarios*p.U),
		rx:   make([]int32, p.U),
		loss: make([]int64, p.I*BlockScenarios),
	}
	if p.Scen.VolShocks() {
		b.rm = make([]uint32, p.U)
	}
	return b
}

// scenarios fills the tile with the columns [s0, s1): Monte Carlo rows from
// the scenario parameters, then the historical rows; multipliers are
// fxp.MOne where the scenarios have no vol shocks.
func (b *block) scenarios(p *job.Plan, s0, s1 int) {
	for c := s0; c < s1; c++ {
		k := c - s0
		var rx []int32
		var rm []uint32
		if c < p.SMC {
			p.Scen.Row(uint64(c), b.rx, b.rm)
			rx, rm = b.rx, b.rm
		} else {
			rx = p.HistX[(c-p.SMC)*p.U : (c-p.SMC+1)*p.U]
		}
		for u, v := range rx {
			b.x[u*BlockScenarios+k] = v
		}
		if rm != nil {
			for u, v := range rm {
				b.m[u*BlockScenarios+k] = v
			}
		} else {
			for u := range p.U {
				b.m[u*BlockScenarios+k] = fxp.MOne
			}
		}
	}
}

// revalue revalues every instrument on the tile's columns [s0, s1) into
// b.loss and the float64 instrument loss matrix il (I × S).
func (b *block) revalue(p *job.Plan, s0, s1 int, il []float64) {
	n := s1 - s0
	for i, ip := range p.Ins {
		t := int(p.Under[i]) * BlockScenarios
		lr := b.loss[i*BlockScenarios : i*BlockScenarios+n]
		revalScalar(ip, p.DGV, b.x[t:t+n], b.m[t:t+n], lr)
		dst := il[i*p.S+s0 : i*p.S+s1]
		for k, l := range lr {
			dst[k] = job.LossFloat(l)
		}
	}
}

// aggregate sums every account's losses on the block's columns [s0, s1) in
// int64 and stores them as bits in al (A × S). On a full block the
// AVX-512 kernel streams the sums straight into al.
func (b *block) aggregate(p *job.Plan, kern Kernel, s0, s1 int, al []float64) {
	pos := &p.Job.Positions
	n := s1 - s0
	if kern == KernelAVX512 && n == BlockScenarios {
		for a := range p.A {
			j0, j1 := pos.Start[a], pos.Start[a+1]
			storeAVX512(al[a*p.S+s0:a*p.S+s1], b.loss, pos.Instrument[j0:j1], p.Qty[j0:j1])
		}
		fenceStores()
		return
	}
	agg := aggregator(kern)
	acc := &b.acc
	for a := range p.A {
		j0, j1 := pos.Start[a], pos.Start[a+1]
		// Whole rows of BlockScenarios: a short last block also adds the
		// stale lanes beyond s1 − s0, which are never read.
		*acc = [BlockScenarios]int64{}
		agg(acc, b.loss, pos.Instrument[j0:j1], p.Qty[j0:j1])
		dst := al[a*p.S+s0 : a*p.S+s1]
		for k := range dst[:n] {
			dst[k] = math.Float64frombits(uint64(acc[k]))
		}
	}
}
