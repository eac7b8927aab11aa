package cpu

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/fxp"
	"github.com/ballast-risk/ballast/engine/kernel"
)

// jobOpts shapes a random job.
type jobOpts struct {
	u, instruments, accounts, scenarios, historical int
	studentT                                        int
	volOfVol                                        float64
	correlated, stress                              bool
	model                                           accel.LossModel
}

func randomJob(seed uint64, o jobOpts) *accel.RiskJob {
	r := rand.New(rand.NewPCG(seed, 7))
	job := &accel.RiskJob{Underlyings: o.u, Model: o.model}
	sc := &job.Scenarios
	sc.Seed, sc.Count, sc.HorizonYears = seed, o.scenarios, 2.0/252
	sc.StudentTDoF, sc.VolOfVol, sc.SpotVolCorr = o.studentT, o.volOfVol, -0.6
	spots := make([]float64, o.u)
	for k := range o.u {
		sc.Vols = append(sc.Vols, 0.1+0.5*r.Float64())
		spots[k] = 10 + 300*r.Float64()
	}
	if o.correlated {
		// Equicorrelation 0.5: L row u = ρ-mixture, built from the factor form.
		l := make([]float64, o.u*o.u)
		rho := 0.5
		l[0] = 1
		for i := 1; i < o.u; i++ {
			// Cholesky of an equicorrelation matrix, computed directly.
			var ss float64
			for j := 0; j < i; j++ {
				var dot float64
				for k := 0; k < j; k++ {
					dot += l[i*o.u+k] * l[j*o.u+k]
				}
				l[i*o.u+j] = (rho - dot) / l[j*o.u+j]
				ss += l[i*o.u+j] * l[i*o.u+j]
			}
			l[i*o.u+i] = math.Sqrt(1 - ss)
		}
		sc.Cholesky = l
	}
	for h := 0; h < o.historical*o.u; h++ {
		sc.Historical = append(sc.Historical, 0.05*r.NormFloat64())
	}
	for i := 0; i < o.instruments; i++ {
		u := uint32(r.IntN(o.u))
		in := accel.Instrument{Underlying: u, S: spots[u], Carry: 1, Multiplier: float64(1 + r.IntN(100))}
		switch r.IntN(4) {
		case 0:
			in.Kind = accel.Spot
		case 1:
			in.Kind, in.Carry = accel.Future, math.Exp(0.03*0.5)
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
	pos := &job.Positions
	pos.Start = []uint32{0}
	for a := 0; a < o.accounts; a++ {
		for j := r.IntN(6); j > 0; j-- {
			pos.Instrument = append(pos.Instrument, uint32(r.IntN(o.instruments)))
			pos.Qty = append(pos.Qty, float64(r.IntN(2001)-1000))
		}
		pos.Start = append(pos.Start, uint32(len(pos.Instrument)))
	}
	if o.stress {
		st := &job.Stress
		st.Points = 4
		for k := 0; k < o.u*st.Points; k++ {
			st.X = append(st.X, 0.1*float64(k%st.Points-2))
			st.VolMul = append(st.VolMul, 1+0.25*float64(k%2))
			st.Weight = append(st.Weight, 1-0.35*float64(k%2))
		}
	}
	s := sc.Total(o.u)
	job.KVaR, job.KES = max(1, int(math.Ceil(float64(s)*0.01))), max(1, int(math.Ceil(float64(s)*0.025)))
	return job
}

var configs = map[string]jobOpts{
	"gaussian":    {u: 3, instruments: 20, accounts: 30, scenarios: 500},
	"correlated":  {u: 5, instruments: 30, accounts: 40, scenarios: 700, correlated: true, stress: true},
	"student-t":   {u: 4, instruments: 25, accounts: 30, scenarios: 600, studentT: 5, correlated: true},
	"vol-shocks":  {u: 4, instruments: 25, accounts: 30, scenarios: 600, volOfVol: 0.8},
	"historical":  {u: 3, instruments: 20, accounts: 20, scenarios: 300, historical: 77, stress: true},
	"hist-only":   {u: 2, instruments: 10, accounts: 10, historical: 250},
	"delta-gamma": {u: 3, instruments: 20, accounts: 30, scenarios: 500, model: accel.DeltaGammaVega, stress: true},
}

// direct computes the integers of a job with the plainest loops over the
// fxp golden functions: one scenario, one instrument, one account at a time.
func direct(t *testing.T, job *accel.RiskJob) (loss [][]int64, acct [][]int64) {
	t.Helper()
	u := job.Underlyings
	sp, err := fxp.NewScenarioParams(&job.Scenarios, u)
	if err != nil {
		t.Fatal(err)
	}
	s := job.Scenarios.Total(u)
	x, m := make([]int32, u), make([]uint32, u)
	ins := make([]*fxp.InstrumentParams, len(job.Instruments))
	for i := range ins {
		if ins[i], err = fxp.NewInstrumentParams(&job.Instruments[i]); err != nil {
			t.Fatal(err)
		}
	}
	loss = make([][]int64, len(ins))
	for i := range loss {
		loss[i] = make([]int64, s)
	}
	for sc := 0; sc < s; sc++ {
		if sc < job.Scenarios.Count {
			sp.Row(uint64(sc), x, m)
		} else {
			h := job.Scenarios.Historical[(sc-job.Scenarios.Count)*u:][:u]
			if err := fxp.ConvertX(x, h); err != nil {
				t.Fatal(err)
			}
			for k := range m {
				m[k] = fxp.MOne
			}
		}
		for i, ip := range ins {
			ul := job.Instruments[i].Underlying
			v := ip.Value(x[ul], m[ul])
			if job.Model == accel.DeltaGammaVega {
				v = ip.ValueDGV(x[ul], m[ul])
			}
			loss[i][sc] = ip.Loss(v)
		}
	}
	pos := &job.Positions
	acct = make([][]int64, pos.Accounts())
	for a := range acct {
		acct[a] = make([]int64, s)
		for j := pos.Start[a]; j < pos.Start[a+1]; j++ {
			for sc := range s {
				acct[a][sc] += int64(pos.Qty[j]) * loss[pos.Instrument[j]][sc]
			}
		}
	}
	return loss, acct
}

func TestBitExactAgainstDirectComputation(t *testing.T) {
	for name, o := range configs {
		t.Run(name, func(t *testing.T) {
			job := randomJob(11, o)
			var out accel.RiskResult
			if err := (&Backend{Workers: 3}).Risk(context.Background(), job, &out); err != nil {
				t.Fatal(err)
			}
			loss, acct := direct(t, job)
			s := out.Scenarios
			for i := range loss {
				for sc, l := range loss[i] {
					if got := out.InstrumentLoss[i*s+sc]; got != float64(l)*moneyUnit {
						t.Fatalf("instrument %d scenario %d: %v, want %v", i, sc, got, float64(l)*moneyUnit)
					}
				}
			}
			scratch := make([]int64, s)
			for a := range acct {
				for sc, l := range acct[a] {
					if got := out.AccountLoss[a*s+sc]; got != float64(l)*moneyUnit {
						t.Fatalf("account %d scenario %d: %v, want %v", a, sc, got, float64(l)*moneyUnit)
					}
				}
				v, es, sum := fxp.TailSums(append([]int64(nil), acct[a]...), job.KVaR, job.KES, scratch)
				if out.VaR[a] != float64(v)*moneyUnit || out.ES[a] != float64(es)*moneyUnit/float64(job.KES) ||
					out.MeanLoss[a] != float64(sum)*moneyUnit/float64(s) {
					t.Fatalf("account %d tails: %v %v %v", a, out.VaR[a], out.ES[a], out.MeanLoss[a])
				}
			}
		})
	}
}

func TestSameBitsForAnyWorkerCount(t *testing.T) {
	job := randomJob(5, configs["correlated"])
	var one, many accel.RiskResult
	if err := (&Backend{Workers: 1}).Risk(context.Background(), job, &one); err != nil {
		t.Fatal(err)
	}
	if err := (&Backend{Workers: 7}).Risk(context.Background(), job, &many); err != nil {
		t.Fatal(err)
	}
	eq := func(name string, a, b []float64) {
		if len(a) != len(b) {
			t.Fatalf("%s: lengths %d, %d", name, len(a), len(b))
		}
		for k := range a {
			if math.Float64bits(a[k]) != math.Float64bits(b[k]) {
				t.Fatalf("%s[%d]: %v with 1 worker, %v with 7", name, k, a[k], b[k])
			}
		}
	}
	eq("InstrumentLoss", one.InstrumentLoss, many.InstrumentLoss)
	eq("AccountLoss", one.AccountLoss, many.AccountLoss)
	eq("VaR", one.VaR, many.VaR)
	eq("ES", one.ES, many.ES)
	eq("MeanLoss", one.MeanLoss, many.MeanLoss)
	eq("InstrumentStress", one.InstrumentStress, many.InstrumentStress)
}

// TestAccuracyAgainstReference compares with the float64 reference backend
// on the same job (the same Philox uniforms): VaR and ES within 0.1 %
// relative, option values within 2e-5 of spot.
func TestAccuracyAgainstReference(t *testing.T) {
	for _, name := range []string{"gaussian", "correlated", "vol-shocks", "historical", "delta-gamma"} {
		o := configs[name]
		o.scenarios *= 4
		t.Run(name, func(t *testing.T) {
			job := randomJob(23, o)
			var fx, ref accel.RiskResult
			if err := (&Backend{}).Risk(context.Background(), job, &fx); err != nil {
				t.Fatal(err)
			}
			if err := (&kernel.Reference{}).Risk(context.Background(), job, &ref); err != nil {
				t.Fatal(err)
			}
			var worstV, worstVaR, worstES float64
			for i, in := range job.Instruments {
				worstV = max(worstV, math.Abs(fx.Value[i]-ref.Value[i])/in.S)
			}
			for a := range fx.VaR {
				if ref.ES[a] > 1 {
					worstVaR = max(worstVaR, math.Abs(fx.VaR[a]-ref.VaR[a])/math.Abs(ref.VaR[a]))
					worstES = max(worstES, math.Abs(fx.ES[a]-ref.ES[a])/math.Abs(ref.ES[a]))
				}
			}
			t.Logf("max |ΔValue|/S %.2e, max relative ΔVaR %.2e, ΔES %.2e", worstV, worstVaR, worstES)
			if worstV > 2e-5 || worstVaR > 1e-3 || worstES > 1e-3 {
				t.Fatalf("outside the accuracy contract: value %.2e (2e-5), VaR %.2e, ES %.2e (1e-3)", worstV, worstVaR, worstES)
			}
			// Stress losses per contract: the price contract (2e-5 of spot) per
			// unit, times the multiplier.
			for k := range fx.InstrumentStress {
				in := &job.Instruments[k/job.Stress.Points]
				if d := math.Abs(fx.InstrumentStress[k] - ref.InstrumentStress[k]); d > 2e-5*in.S*in.Multiplier {
					t.Fatalf("stress cell %d: %v, reference %v", k, fx.InstrumentStress[k], ref.InstrumentStress[k])
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	job := randomJob(3, configs["gaussian"])
	job.Positions.Qty[0] = 1.5
	var out accel.RiskResult
	if err := (&Backend{}).Risk(context.Background(), job, &out); !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("fractional quantity: %v", err)
	}
	job = randomJob(3, configs["gaussian"])
	job.Positions.Qty[0] = 1e15 // the range rule: the account could overflow int64 money
	if err := (&Backend{}).Risk(context.Background(), job, &out); !errors.Is(err, ErrRange) || !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("huge position: %v", err)
	}
	job = randomJob(3, configs["gaussian"])
	job.KES = 0
	if err := (&Backend{}).Risk(context.Background(), job, &out); !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("invalid job: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&Backend{}).Risk(ctx, randomJob(3, configs["gaussian"]), &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func BenchmarkRisk(b *testing.B) {
	job := randomJob(1, jobOpts{u: 20, instruments: 2000, accounts: 2000, scenarios: 2000, correlated: true})
	be := &Backend{}
	var out accel.RiskResult
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := be.Risk(context.Background(), job, &out); err != nil {
			b.Fatal(err)
		}
	}
	revals := float64(len(job.Instruments)) * float64(out.Scenarios)
	b.ReportMetric(revals*float64(b.N)/b.Elapsed().Seconds()/float64(be.workers()), "revals/s/core")
}

func BenchmarkRevalueBlock(b *testing.B) {
	job := randomJob(1, jobOpts{u: 20, instruments: 2000, accounts: 1, scenarios: BlockScenarios})
	if err := job.Validate(); err != nil {
		b.Fatal(err)
	}
	p, err := newPlan(job)
	if err != nil {
		b.Fatal(err)
	}
	blk := newBlock(p, len(job.Instruments))
	il := make([]float64, len(job.Instruments)*p.s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		blk.revalue(p, 0, BlockScenarios, il)
	}
	b.ReportMetric(float64(len(job.Instruments)*BlockScenarios)*float64(b.N)/b.Elapsed().Seconds(), "revals/s")
}

func TestRevalueAllocatesNothing(t *testing.T) {
	job := randomJob(1, configs["gaussian"])
	if err := job.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(job)
	if err != nil {
		t.Fatal(err)
	}
	blk := newBlock(p, len(job.Instruments))
	il := make([]float64, len(job.Instruments)*p.s)
	al := make([]float64, job.Positions.Accounts()*p.s)
	if n := testing.AllocsPerRun(20, func() {
		blk.revalue(p, 0, BlockScenarios, il)
		blk.aggregate(p, &job.Positions, 0, BlockScenarios, al)
	}); n != 0 {
		t.Fatalf("%v allocations per block", n)
	}
}

// TestKernelsGiveTheSameBits runs every supported aggregation kernel on every
// configuration and compares the account losses bit for bit.
func TestKernelsGiveTheSameBits(t *testing.T) {
	if !Supported(KernelAVX512) {
		t.Logf("only the scalar kernel runs here (no AVX-512F/DQ); Best() = %s", Best())
	}
	for name, o := range configs {
		job := randomJob(17, o)
		var scalar accel.RiskResult
		if err := (&Backend{Kernel: KernelScalar}).Risk(context.Background(), job, &scalar); err != nil {
			t.Fatal(err)
		}
		for _, k := range []Kernel{KernelAVX512} {
			if !Supported(k) {
				var out accel.RiskResult
				if err := (&Backend{Kernel: k}).Risk(context.Background(), job, &out); !errors.Is(err, accel.ErrUnavailable) {
					t.Fatalf("unsupported kernel %s: %v", k, err)
				}
				continue
			}
			var out accel.RiskResult
			if err := (&Backend{Kernel: k}).Risk(context.Background(), job, &out); err != nil {
				t.Fatal(err)
			}
			for i := range scalar.AccountLoss {
				if math.Float64bits(out.AccountLoss[i]) != math.Float64bits(scalar.AccountLoss[i]) {
					t.Fatalf("%s, kernel %s: account loss %d = %v, scalar %v", name, k, i, out.AccountLoss[i], scalar.AccountLoss[i])
				}
			}
			for a := range scalar.ES {
				if out.ES[a] != scalar.ES[a] || out.VaR[a] != scalar.VaR[a] {
					t.Fatalf("%s, kernel %s: account %d tails differ", name, k, a)
				}
			}
		}
	}
}

// TestKernelWrapAround checks the kernels wrap like Go's int64 arithmetic.
func TestKernelWrapAround(t *testing.T) {
	loss := make([]int64, 3*BlockScenarios)
	r := rand.New(rand.NewPCG(1, 2))
	for k := range loss {
		loss[k] = int64(r.Uint64())
	}
	inst := []uint32{2, 0, 1, 2}
	qty := []int64{math.MaxInt64, -3, math.MinInt64, 12345}
	var want [BlockScenarios]int64
	aggregateScalar(&want, loss, inst, qty)
	if hasAVX512 {
		var got [BlockScenarios]int64
		aggregateAVX512(&got, loss, inst, qty)
		if got != want {
			t.Fatalf("avx512 %v\nscalar %v", got, want)
		}
	}
}

func BenchmarkAggregate(b *testing.B) {
	const instruments, positions = 2000, 200
	loss := make([]int64, instruments*BlockScenarios)
	r := rand.New(rand.NewPCG(1, 2))
	for k := range loss {
		loss[k] = r.Int64N(1 << 30)
	}
	inst := make([]uint32, positions)
	qty := make([]int64, positions)
	for j := range inst {
		inst[j] = uint32(r.IntN(instruments))
		qty[j] = r.Int64N(2000) - 1000
	}
	for _, k := range []Kernel{KernelScalar, KernelAVX512} {
		b.Run(string(k), func(b *testing.B) {
			if !Supported(k) {
				b.Skipf("kernel %s needs AVX-512F and AVX-512DQ, which this CPU lacks", k)
			}
			var acc [BlockScenarios]int64
			for b.Loop() {
				if k == KernelAVX512 {
					aggregateAVX512(&acc, loss, inst, qty)
				} else {
					aggregateScalar(&acc, loss, inst, qty)
				}
			}
			b.ReportMetric(float64(positions*BlockScenarios)*float64(b.N)/b.Elapsed().Seconds(), "madds/s")
		})
	}
}
