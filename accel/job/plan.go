// Package job is the accelerator's job buffers in Go (docs/accel.md §7):
// a risk job converted to the kernel's fixed point (Plan), the encoders of
// the four operations' input buffers (SCENGEN, REVAL, AGGTAIL, GREEKS), the
// executors that run each operation over encoded buffers exactly as the
// device does (the accel/driver device model registers them, so the whole
// driver path runs the real kernel), and the decoder from the output
// buffers to an accel.RiskResult.
//
// A risk batch is the chain SCENGEN → REVAL → AGGTAIL over one scenario
// buffer, one loss buffer and one tail buffer, plus one GREEKS:
//
//	p, _ := job.NewPlan(j)
//	sz := p.Sizes()               // carve the buffers (e.g. DMA memory)
//	p.EncodeScenGen(scnSrc)       // device: ExecScenGen(scnSrc, scen)
//	p.FillScenarios(scen)         // the host's columns: historical, stress
//	p.EncodeReval(rvlSrc)         // device: ExecReval(rvlSrc, scen, loss)
//	p.EncodeAggTail(agtSrc)       // device: ExecAggTail(agtSrc, loss, tails)
//	p.EncodeGreeks(grkSrc)        // device: ExecGreeks(grkSrc, greeks)
//	p.Decode("fpga", loss, tails, greeks, &result)
//
// Plan.Execute runs that chain in process. The cpu backend (accel/cpu)
// computes the same integers without materialising the buffers.
package job

import (
	"errors"
	"fmt"
	"math"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
)

// ErrRange reports a job the fixed-point kernel cannot represent (a value,
// a rate, a quantity or a portfolio outside the ranges of
// docs/accel-numerics.md). Every *RangeError wraps it.
var ErrRange = errors.New("job: outside the fixed-point ranges")

// ErrShortBuffer reports a buffer smaller than Sizes says.
var ErrShortBuffer = errors.New("job: buffer too short")

// ErrStatus reports an operation that completed with a non-zero status.
var ErrStatus = errors.New("job: operation failed")

// ErrFractional reports a position quantity that is not a whole number of
// contracts (or beyond ±2^62).
var ErrFractional = errors.New("quantity is not a whole number of contracts")

// RangeError names the part of a job that is outside the fixed-point ranges.
// It wraps accel.ErrInvalidJob, ErrRange and the cause (an *fxp.RangeError
// naming the field inside it, or ErrFractional).
type RangeError struct {
	// Field is the job's field: "Scenarios", "Instruments[3]",
	// "Scenarios.Historical", "Stress", "Positions.Qty[7]", "Positions".
	Field string
	// Err is the cause.
	Err error
}

func (e *RangeError) Error() string { return fmt.Sprintf("job: %s: %v", e.Field, e.Err) }

// Unwrap returns accel.ErrInvalidJob, ErrRange and the cause.
func (e *RangeError) Unwrap() []error { return []error{accel.ErrInvalidJob, ErrRange, e.Err} }

// Plan is a risk job converted to the kernel's fixed point, with the
// geometry of its buffers. It is immutable after NewPlan and safe for
// concurrent use; its slices must not be modified.
type Plan struct {
	// Job is the job the plan was built from (not copied: it must not change
	// while the plan is used).
	Job *accel.RiskJob
	// U is the number of underlyings, I of instruments, A of accounts and
	// Positions of positions.
	U, I, A, Positions int
	// SMC is the number of Monte Carlo columns [0, SMC); S the tail columns
	// [0, S) (Monte Carlo then historical); Points the stress columns
	// [S, S+Points); Cols = S + Points; Sp the row stride (Cols rounded up to
	// ColumnAlign).
	SMC, S, Points, Cols, Sp int
	// KVaR and KES are the tail ranks.
	KVaR, KES int
	// DGV selects the delta-gamma-vega model for the tail columns (the
	// stress grid is always fully revalued, as engine/kernel does).
	DGV bool
	// HasM reports whether the scenario buffer carries the vol multiplier
	// matrix M (vol shocks, or a stress grid moving a vol); without it every
	// multiplier is fxp.MOne.
	HasM bool
	// Scen is the Monte Carlo configuration.
	Scen *fxp.ScenarioParams
	// Ins are the instruments' kernel constants, Under their underlyings.
	Ins   []*fxp.InstrumentParams
	Under []uint32
	// HistX holds the historical rows, (S−SMC)×U scenario-major as in the
	// job; StressX and StressM the stress points, U×Points.
	HistX   []int32
	StressX []int32
	StressM []uint32
	// Qty holds the positions' quantities as integers.
	Qty []int64
	// XAbsMax is the largest |x| of any column (the input of LossBound).
	XAbsMax int32
}

// NewPlan validates job (accel.RiskJob.Validate), converts it to fixed
// point (fxp.NewScenarioParams, fxp.NewInstrumentParams, fxp.ConvertX and
// ConvertM for the historical rows and the stress grid), checks that every
// quantity is a whole number and checks the range rule
// (fxp.CheckLossRange), so that no integer sum of the batch can overflow.
// A job outside the fixed-point ranges is a *RangeError naming the field.
func NewPlan(job *accel.RiskJob) (*Plan, error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	u := job.Underlyings
	p := &Plan{
		Job: job, U: u, I: len(job.Instruments), A: job.Positions.Accounts(), Positions: len(job.Positions.Qty),
		SMC: job.Scenarios.Count, S: job.Scenarios.Total(u), Points: job.Stress.Points,
		KVaR: job.KVaR, KES: job.KES, DGV: job.Model == accel.DeltaGammaVega,
	}
	p.Cols = p.S + p.Points
	p.Sp = Stride(p.Cols)
	sc, err := fxp.NewScenarioParams(&job.Scenarios, u)
	if err != nil {
		return nil, &RangeError{"Scenarios", err}
	}
	p.Scen = sc
	p.HasM = sc.VolShocks()
	p.XAbsMax = sc.XAbsMax()
	if h := job.Scenarios.Historical; len(h) > 0 {
		p.HistX = make([]int32, len(h))
		if err := fxp.ConvertX(p.HistX, h); err != nil {
			return nil, &RangeError{"Scenarios.Historical", err}
		}
		p.XAbsMax = max(p.XAbsMax, absMax(p.HistX))
	}
	if p.Points > 0 {
		p.StressX = make([]int32, len(job.Stress.X))
		p.StressM = make([]uint32, len(job.Stress.VolMul))
		if err := fxp.ConvertX(p.StressX, job.Stress.X); err != nil {
			return nil, &RangeError{"Stress.X", err}
		}
		if err := fxp.ConvertM(p.StressM, job.Stress.VolMul); err != nil {
			return nil, &RangeError{"Stress.VolMul", err}
		}
		for _, m := range p.StressM {
			p.HasM = p.HasM || m != fxp.MOne
		}
		// docs/accel-numerics.md §8: the bound covers the stress |x| too.
		p.XAbsMax = max(p.XAbsMax, absMax(p.StressX))
	}
	p.Ins = make([]*fxp.InstrumentParams, p.I)
	p.Under = make([]uint32, p.I)
	bound := make([]int64, p.I)
	for i := range job.Instruments {
		ip, err := fxp.NewInstrumentParams(&job.Instruments[i])
		if err != nil {
			return nil, &RangeError{fmt.Sprintf("Instruments[%d]", i), err}
		}
		p.Ins[i] = ip
		p.Under[i] = job.Instruments[i].Underlying
		bound[i] = ip.LossBound(p.XAbsMax, job.Model)
	}
	p.Qty = make([]int64, p.Positions)
	for k, q := range job.Positions.Qty {
		if q != math.Trunc(q) || math.Abs(q) >= 1<<62 {
			return nil, &RangeError{fmt.Sprintf("Positions.Qty[%d]", k), fmt.Errorf("%w: %v", ErrFractional, q)}
		}
		p.Qty[k] = int64(q)
	}
	if err := fxp.CheckLossRange(bound, &job.Positions, p.S); err != nil {
		return nil, &RangeError{"Positions", err}
	}
	return p, nil
}

func absMax(v []int32) int32 {
	var m int32
	for _, x := range v {
		if x < 0 {
			x = -x
		}
		m = max(m, x)
	}
	return m
}

// Sizes are the byte sizes of a plan's buffers.
type Sizes struct {
	// ScenGenSrc is the SCENGEN input: header and scenario record.
	ScenGenSrc int
	// Scenarios is the scenario buffer: X (U × Sp int32), then M (U × Sp
	// uint32) when HasM. It is SCENGEN's dst and REVAL's arg0.
	Scenarios int
	// RevalSrc is the REVAL input: header and instrument records.
	RevalSrc int
	// Loss is REVAL's dst: the V0 array (padded to 64 bytes), then the loss
	// matrix I × Sp int64. It is AGGTAIL's arg0.
	Loss int
	// AggTailSrc is the AGGTAIL input: header, start[], instr[], qty[].
	AggTailSrc int
	// Tails is AGGTAIL's dst: A tail records (padded to 64 bytes), then the
	// account-loss matrix A × Sp int64.
	Tails int
	// GreeksSrc is the GREEKS input: header and instrument records.
	GreeksSrc int
	// Greeks is GREEKS' dst: I × 64 bytes.
	Greeks int
}

// Sizes returns the byte sizes of the plan's buffers.
func (p *Plan) Sizes() Sizes {
	mats := 1
	if p.HasM {
		mats = 2
	}
	_, _, _, agt := aggTailOffsets(p.A, p.Positions)
	return Sizes{
		ScenGenSrc: scenGenSrcBytes(p.U, p.Job.Scenarios.Cholesky != nil),
		Scenarios:  mats * 4 * p.U * p.Sp,
		RevalSrc:   RevalHeaderBytes + fxp.InstrumentRecordBytes*p.I,
		Loss:       v0Bytes(p.I) + 8*p.I*p.Sp,
		AggTailSrc: agt,
		Tails:      tailBytes(p.A) + 8*p.A*p.Sp,
		GreeksSrc:  GreeksHeaderBytes + fxp.InstrumentRecordBytes*p.I,
		Greeks:     GreeksRecordBytes * p.I,
	}
}
