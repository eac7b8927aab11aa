package kernel

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/engine/tail"
)

// referenceShapedJob has the reference workload's shape (20 underlyings,
// 2,000 instruments: per underlying 1 spot, 3 futures, 96 options; 10,000
// accounts of 20 positions; 10,000 scenarios) with synthetic values. The
// engine's BenchmarkReferenceEpoch runs the committed workload itself.
func referenceShapedJob(scenarios, accounts int) *accel.RiskJob {
	rng := rand.New(rand.NewPCG(1, 2))
	const u = 20
	job := &accel.RiskJob{Underlyings: u}
	vols := make([]float64, u)
	for k := range u {
		vols[k] = 0.15 + 0.45*rng.Float64()
		spot := 20 + 480*rng.Float64()
		job.Instruments = append(job.Instruments, accel.Instrument{Kind: accel.Spot, Underlying: uint32(k), S: spot, Carry: 1, Multiplier: 1})
		for f := 1; f <= 3; f++ {
			t := 0.25 * float64(f)
			job.Instruments = append(job.Instruments, accel.Instrument{Kind: accel.Future, Underlying: uint32(k), S: spot, Carry: math.Exp(0.04 * t), T: t, R: 0.04, Multiplier: 50})
		}
		for o := 0; o < 96; o++ {
			t := []float64{1.0 / 12, 0.25, 0.5, 1}[o/24]
			kind := accel.Call
			if o%2 == 1 {
				kind = accel.Put
			}
			m := accel.BSM
			carry := 1.0
			if o/24 == 0 {
				m, carry = accel.Black76, math.Exp(0.04*t)
			}
			strike := spot * (0.7 + 0.6*float64((o%24)/2)/11)
			job.Instruments = append(job.Instruments, accel.Instrument{Kind: kind, Model: m, Underlying: uint32(k), S: spot, Carry: carry,
				K: strike, T: t, R: 0.04, Q: 0.01, Sigma: vols[k] * (1 + 0.2*math.Abs(math.Log(strike/spot))), Multiplier: 100})
		}
	}
	l := make([]float64, u*u)
	for i := range u {
		l[i*u] = 0.6
		l[i*u+i] = 0.8
	}
	l[0] = 1
	job.Scenarios = accel.Scenarios{Seed: 1, Count: scenarios, HorizonYears: 2.0 / 252, Vols: vols, Cholesky: l}
	job.Stress = accel.Stress{X: []float64{}, VolMul: []float64{}, Weight: []float64{}}
	p := &job.Positions
	p.Start = append(p.Start, 0)
	for range accounts {
		for range 20 {
			p.Instrument = append(p.Instrument, uint32(rng.IntN(len(job.Instruments))))
			p.Qty = append(p.Qty, float64(rng.IntN(201)-100))
		}
		p.Start = append(p.Start, uint32(len(p.Instrument)))
	}
	spec, _ := tail.NewSpec(scenarios, 0.975, 0.99)
	job.KVaR, job.KES = spec.KVaR, spec.KES
	return job
}

// BenchmarkRiskBatch is one risk batch of the reference workload's shape on
// every core: scenario generation, 20M revaluations, 2·10⁹ multiply-adds of
// aggregation and 10,000 tails.
func BenchmarkRiskBatch(b *testing.B) {
	job := referenceShapedJob(10000, 10000)
	r := &Reference{}
	var res accel.RiskResult
	if err := r.Risk(context.Background(), job, &res); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := r.Risk(context.Background(), job, &res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/batch")
}

// BenchmarkRevalue is the revaluation alone: ns per instrument-scenario.
func BenchmarkRevalue(b *testing.B) {
	job := referenceShapedJob(BlockScenarios, 1)
	calc := make([]instrumentCalc, len(job.Instruments))
	for i := range calc {
		c, err := prepare(&job.Instruments[i])
		if err != nil {
			b.Fatal(err)
		}
		calc[i] = c
	}
	set, err := scenarios(&job.Scenarios, job.Underlyings, 1)
	if err != nil {
		b.Fatal(err)
	}
	loss := make([]float64, len(calc)*BlockScenarios)
	for b.Loop() {
		revalue(job, calc, set, 0, BlockScenarios, BlockScenarios, loss)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(calc)*BlockScenarios), "ns/reval")
}

// BenchmarkAggregate is the aggregation alone: ns per position-scenario.
func BenchmarkAggregate(b *testing.B) {
	job := referenceShapedJob(BlockScenarios, 10000)
	loss := make([]float64, len(job.Instruments)*BlockScenarios)
	for i := range loss {
		loss[i] = float64(i%97) - 48
	}
	acct := make([]float64, job.Positions.Accounts()*BlockScenarios)
	for b.Loop() {
		aggregate(&job.Positions, loss, acct, 0, BlockScenarios, BlockScenarios)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(job.Positions.Qty)*BlockScenarios), "ns/madd")
}
