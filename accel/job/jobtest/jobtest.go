// Package jobtest builds random, valid risk jobs for the tests and
// benchmarks of the fixed-point backends (accel/job, accel/cpu): Gaussian,
// correlated, Student-t, vol-shocked, historical, stress-grid and
// delta-gamma-vega batches, reproducible from a seed.
package jobtest

import (
	"math"
	"math/rand/v2"

	"github.com/ballast-risk/ballast/accel"
)

// Options shape a random job.
type Options struct {
	// U, Instruments, Accounts, Scenarios (Monte Carlo) and Historical
	// (rows) size the job.
	U, Instruments, Accounts, Scenarios, Historical int
	// PositionsMax bounds the positions per account (0: 5).
	PositionsMax int
	// StudentT is ν (0: Gaussian); VolOfVol > 0 adds vol shocks.
	StudentT int
	VolOfVol float64
	// Correlated adds an equicorrelation (ρ = 0.5) Cholesky factor; Stress
	// adds a four-point stress grid per underlying.
	Correlated, Stress bool
	// Model is the loss model.
	Model accel.LossModel
}

// Configs are the job shapes the backends are tested on.
var Configs = map[string]Options{
	"gaussian":    {U: 3, Instruments: 20, Accounts: 30, Scenarios: 500},
	"correlated":  {U: 5, Instruments: 30, Accounts: 40, Scenarios: 700, Correlated: true, Stress: true},
	"student-t":   {U: 4, Instruments: 25, Accounts: 30, Scenarios: 600, StudentT: 5, Correlated: true},
	"vol-shocks":  {U: 4, Instruments: 25, Accounts: 30, Scenarios: 600, VolOfVol: 0.8, Stress: true},
	"historical":  {U: 3, Instruments: 20, Accounts: 20, Scenarios: 300, Historical: 77, Stress: true},
	"hist-only":   {U: 2, Instruments: 10, Accounts: 10, Historical: 250},
	"delta-gamma": {U: 3, Instruments: 20, Accounts: 30, Scenarios: 500, Model: accel.DeltaGammaVega, Stress: true},
	"everything": {U: 6, Instruments: 40, Accounts: 25, Scenarios: 333, Historical: 21, StudentT: 4, VolOfVol: 0.6,
		Correlated: true, Stress: true, Model: accel.DeltaGammaVega},
}

// Random returns a valid job drawn from seed: spots 10–310, vols 10–60 %,
// a quarter each spot, future, and BSM or Black-76 calls and puts
// (strikes 70–130 % of spot, expiries 0.02–1.02 years), multipliers
// 1–100, whole quantities in [−1000, 1000], VaR 99 % and ES 97.5 %.
func Random(seed uint64, o Options) *accel.RiskJob {
	r := rand.New(rand.NewPCG(seed, 7))
	job := &accel.RiskJob{Underlyings: o.U, Model: o.Model}
	sc := &job.Scenarios
	sc.Seed, sc.Count, sc.HorizonYears = seed, o.Scenarios, 2.0/252
	sc.StudentTDoF, sc.VolOfVol = o.StudentT, o.VolOfVol
	if o.VolOfVol > 0 {
		sc.SpotVolCorr = -0.6
	}
	spots := make([]float64, o.U)
	for k := range o.U {
		sc.Vols = append(sc.Vols, 0.1+0.5*r.Float64())
		spots[k] = 10 + 300*r.Float64()
	}
	if o.Correlated {
		sc.Cholesky = equicorrelation(o.U, 0.5)
	}
	for range o.Historical * o.U {
		sc.Historical = append(sc.Historical, 0.05*r.NormFloat64())
	}
	for range o.Instruments {
		u := uint32(r.IntN(o.U))
		in := accel.Instrument{Underlying: u, S: spots[u], Carry: 1, Multiplier: float64(1 + r.IntN(100))}
		switch r.IntN(4) {
		case 0:
			in.Kind = accel.Spot
		case 1:
			in.Kind, in.Carry = accel.Future, math.Exp(0.03*0.5)
			in.T, in.R, in.Q = 0.5, 0.03, 0
		default:
			in.Kind = accel.Call + accel.Kind(r.IntN(2))
			in.Model = accel.BSM + accel.Model(r.IntN(2))
			in.K = spots[u] * (0.7 + 0.6*r.Float64())
			in.T = 0.02 + r.Float64()
			in.R, in.Q = 0.03, 0.01
			in.Sigma = 0.15 + 0.4*r.Float64()
			if in.Model == accel.Black76 {
				in.Carry = math.Exp(0.02 * in.T)
			}
		}
		job.Instruments = append(job.Instruments, in)
	}
	pmax := o.PositionsMax
	if pmax <= 0 {
		pmax = 5
	}
	pos := &job.Positions
	pos.Start = []uint32{0}
	for range o.Accounts {
		for j := r.IntN(pmax + 1); j > 0; j-- {
			pos.Instrument = append(pos.Instrument, uint32(r.IntN(o.Instruments)))
			pos.Qty = append(pos.Qty, float64(r.IntN(2001)-1000))
		}
		pos.Start = append(pos.Start, uint32(len(pos.Instrument)))
	}
	if o.Stress {
		st := &job.Stress
		st.Points = 4
		for k := range o.U * st.Points {
			st.X = append(st.X, 0.1*float64(k%st.Points-2))
			st.VolMul = append(st.VolMul, 1+0.25*float64(k%2))
			st.Weight = append(st.Weight, 1-0.35*float64(k%2))
		}
	}
	s := sc.Total(o.U)
	job.KVaR, job.KES = max(1, int(math.Ceil(float64(s)*0.01))), max(1, int(math.Ceil(float64(s)*0.025)))
	return job
}

// equicorrelation returns the Cholesky factor of the u×u correlation matrix
// with every off-diagonal entry rho.
func equicorrelation(u int, rho float64) []float64 {
	l := make([]float64, u*u)
	l[0] = 1
	for i := 1; i < u; i++ {
		var ss float64
		for j := range i {
			var dot float64
			for k := range j {
				dot += l[i*u+k] * l[j*u+k]
			}
			l[i*u+j] = (rho - dot) / l[j*u+j]
			ss += l[i*u+j] * l[i*u+j]
		}
		l[i*u+i] = math.Sqrt(1 - ss)
	}
	return l
}
