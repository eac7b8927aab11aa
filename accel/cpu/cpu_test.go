package cpu

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
	"github.com/ballast-risk/ballast/accel/job"
	"github.com/ballast-risk/ballast/accel/job/jobtest"
	"github.com/ballast-risk/ballast/engine/kernel"
)

// sameBits fails unless two results are equal bit for bit.
func sameBits(t *testing.T, what string, got, want *accel.RiskResult) {
	t.Helper()
	if got.Scenarios != want.Scenarios {
		t.Fatalf("%s: %d scenarios, want %d", what, got.Scenarios, want.Scenarios)
	}
	for _, f := range []struct {
		name string
		a, b []float64
	}{
		{"Value", got.Value, want.Value}, {"InstrumentLoss", got.InstrumentLoss, want.InstrumentLoss},
		{"InstrumentStress", got.InstrumentStress, want.InstrumentStress}, {"AccountLoss", got.AccountLoss, want.AccountLoss},
		{"VaR", got.VaR, want.VaR}, {"ES", got.ES, want.ES}, {"MeanLoss", got.MeanLoss, want.MeanLoss},
	} {
		if len(f.a) != len(f.b) {
			t.Fatalf("%s: %s has %d values, want %d", what, f.name, len(f.a), len(f.b))
		}
		for k := range f.a {
			if math.Float64bits(f.a[k]) != math.Float64bits(f.b[k]) {
				t.Fatalf("%s: %s[%d] = %v, want %v", what, f.name, k, f.a[k], f.b[k])
			}
		}
	}
	if len(got.Greeks) != len(want.Greeks) {
		t.Fatalf("%s: %d Greeks, want %d", what, len(got.Greeks), len(want.Greeks))
	}
	for i := range got.Greeks {
		if got.Greeks[i] != want.Greeks[i] {
			t.Fatalf("%s: Greeks[%d] = %+v, want %+v", what, i, got.Greeks[i], want.Greeks[i])
		}
	}
}

// The backend's results are those of the device's four operations over the
// encoded buffers (accel/job's executors), bit for bit, on every kind of
// job.
func TestBitExactAgainstExecutors(t *testing.T) {
	for name, o := range jobtest.Configs {
		t.Run(name, func(t *testing.T) {
			j := jobtest.Random(11, o)
			var got, want accel.RiskResult
			if err := (&Backend{Workers: 3}).Risk(context.Background(), j, &got); err != nil {
				t.Fatal(err)
			}
			p, err := job.NewPlan(j)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Execute(Name, nil, &want); err != nil {
				t.Fatal(err)
			}
			if got.Backend != Name {
				t.Fatalf("backend %q", got.Backend)
			}
			sameBits(t, name, &got, &want)
		})
	}
}

// Reusing a result's slices gives the same bits as fresh ones.
func TestReusedResult(t *testing.T) {
	j := jobtest.Random(12, jobtest.Configs["historical"])
	var fresh, reused accel.RiskResult
	be := &Backend{}
	if err := be.Risk(context.Background(), jobtest.Random(99, jobtest.Configs["everything"]), &reused); err != nil {
		t.Fatal(err)
	}
	if err := be.Risk(context.Background(), j, &reused); err != nil {
		t.Fatal(err)
	}
	if err := be.Risk(context.Background(), j, &fresh); err != nil {
		t.Fatal(err)
	}
	sameBits(t, "reused", &reused, &fresh)
}

func TestSameBitsForAnyWorkerCount(t *testing.T) {
	for _, name := range []string{"everything", "correlated"} {
		j := jobtest.Random(5, jobtest.Configs[name])
		var one accel.RiskResult
		if err := (&Backend{Workers: 1}).Risk(context.Background(), j, &one); err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{2, 3, 7} {
			var many accel.RiskResult
			if err := (&Backend{Workers: w}).Risk(context.Background(), j, &many); err != nil {
				t.Fatal(err)
			}
			sameBits(t, name, &many, &one)
		}
	}
}

// TestAccuracyAgainstReference compares with the float64 reference backend
// on the same job (the same Philox uniforms): VaR and ES within 0.1 %
// relative per account, option values within 2e-5 of spot, instrument
// losses within the price contract per contract.
func TestAccuracyAgainstReference(t *testing.T) {
	for _, name := range []string{"gaussian", "correlated", "student-t", "vol-shocks", "historical", "delta-gamma"} {
		o := jobtest.Configs[name]
		o.Scenarios *= 4
		t.Run(name, func(t *testing.T) {
			j := jobtest.Random(23, o)
			var fx, ref accel.RiskResult
			if err := (&Backend{}).Risk(context.Background(), j, &fx); err != nil {
				t.Fatal(err)
			}
			if err := (&kernel.Reference{}).Risk(context.Background(), j, &ref); err != nil {
				t.Fatal(err)
			}
			var worstV, worstVaR, worstES, worstLoss float64
			for i, in := range j.Instruments {
				worstV = max(worstV, math.Abs(fx.Value[i]-ref.Value[i])/in.S)
				for c := range fx.Scenarios {
					k := i*fx.Scenarios + c
					worstLoss = max(worstLoss, math.Abs(fx.InstrumentLoss[k]-ref.InstrumentLoss[k])/(in.S*in.Multiplier))
				}
			}
			for a := range fx.VaR {
				if ref.ES[a] > 1 {
					worstVaR = max(worstVaR, math.Abs(fx.VaR[a]-ref.VaR[a])/math.Abs(ref.VaR[a]))
					worstES = max(worstES, math.Abs(fx.ES[a]-ref.ES[a])/math.Abs(ref.ES[a]))
				}
			}
			t.Logf("max |ΔValue|/S %.2e, |ΔInstrumentLoss|/(S·mult) %.2e, relative ΔVaR %.2e, ΔES %.2e", worstV, worstLoss, worstVaR, worstES)
			// Instrument losses per contract: the price contract (2e-5 of
			// spot per unit), which also covers the scenarios' x differing
			// from the float64 ones by up to 2e-7.
			if worstV > 2e-5 || worstLoss > 2e-5 || worstVaR > 1e-3 || worstES > 1e-3 {
				t.Fatalf("outside the accuracy contract: value %.2e (2e-5), loss %.2e (2e-5), VaR %.2e, ES %.2e (1e-3)", worstV, worstLoss, worstVaR, worstES)
			}
			for k := range fx.InstrumentStress {
				in := &j.Instruments[k/j.Stress.Points]
				if d := math.Abs(fx.InstrumentStress[k] - ref.InstrumentStress[k]); d > 2e-5*in.S*in.Multiplier {
					t.Fatalf("stress cell %d: %v, reference %v", k, fx.InstrumentStress[k], ref.InstrumentStress[k])
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	base := func() *accel.RiskJob { return jobtest.Random(3, jobtest.Configs["gaussian"]) }
	var out accel.RiskResult
	j := base()
	j.Positions.Qty[0] = 1.5
	var re *job.RangeError
	if err := (&Backend{}).Risk(context.Background(), j, &out); !errors.As(err, &re) || !errors.Is(err, accel.ErrInvalidJob) || !errors.Is(err, job.ErrFractional) {
		t.Fatalf("fractional quantity: %v", err)
	}
	j = base()
	j.Positions.Qty[0] = 1e15 // the range rule: the account could overflow int64 money
	if err := (&Backend{}).Risk(context.Background(), j, &out); !errors.Is(err, ErrRange) || !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("huge position: %v", err)
	}
	j = base()
	j.KES = 0
	if err := (&Backend{}).Risk(context.Background(), j, &out); !errors.Is(err, accel.ErrInvalidJob) {
		t.Fatalf("invalid job: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&Backend{}).Risk(ctx, base(), &out); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Every supported kernel gives the same bits on every configuration; an
// unsupported one is refused.
func TestKernelsGiveTheSameBits(t *testing.T) {
	t.Logf("Best() = %s", Best())
	for name, o := range jobtest.Configs {
		j := jobtest.Random(17, o)
		var scalar accel.RiskResult
		if err := (&Backend{Kernel: KernelScalar}).Risk(context.Background(), j, &scalar); err != nil {
			t.Fatal(err)
		}
		for _, k := range Kernels {
			var out accel.RiskResult
			err := (&Backend{Kernel: k}).Risk(context.Background(), j, &out)
			if !Supported(k) {
				if !errors.Is(err, accel.ErrUnavailable) {
					t.Fatalf("unsupported kernel %s: %v", k, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, name+"/"+string(k), &out, &scalar)
		}
	}
	var out accel.RiskResult
	if err := (&Backend{Kernel: "sse9"}).Risk(context.Background(), jobtest.Random(1, jobtest.Configs["gaussian"]), &out); !errors.Is(err, accel.ErrUnavailable) {
		t.Fatalf("unknown kernel: %v", err)
	}
}

// Every kernel wraps like Go's int64 arithmetic and accumulates into acc.
func TestKernelsAgreeAndWrap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const rows = 97
	loss := make([]int64, rows*BlockScenarios)
	for k := range loss {
		if k%5 == 0 {
			loss[k] = int64(r.Uint64()) // wraps when multiplied
		} else {
			loss[k] = r.Int64N(1<<40) - 1<<39
		}
	}
	for _, n := range []int{0, 1, 2, 3, 17, 200} {
		inst := make([]uint32, n)
		qty := make([]int64, n)
		for j := range inst {
			inst[j] = uint32(r.IntN(rows))
			qty[j] = r.Int64N(1<<33) - 1<<32
			switch j % 7 {
			case 3:
				qty[j] = int64(r.Uint64())
			case 5:
				qty[j] = math.MinInt64
			}
		}
		init := [BlockScenarios]int64{1, -2, 3, math.MaxInt64}
		want := init
		aggregateScalar(&want, loss, inst, qty)
		for _, k := range Kernels {
			if !Supported(k) {
				continue
			}
			got := init
			aggregator(k)(&got, loss, inst, qty)
			if got != want {
				t.Fatalf("%s with %d positions: %v, want %v", k, n, got, want)
			}
		}
	}
}

// The block loop allocates nothing.
func TestBlockAllocatesNothing(t *testing.T) {
	p, err := job.NewPlan(jobtest.Random(1, jobtest.Configs["everything"]))
	if err != nil {
		t.Fatal(err)
	}
	blk := newBlock(p)
	il := make([]float64, p.I*p.S)
	al := make([]float64, p.A*p.S)
	losses, scratch := make([]int64, p.S), make([]int64, p.S)
	var out accel.RiskResult
	p.Resize(Name, &out)
	if n := testing.AllocsPerRun(20, func() {
		blk.scenarios(p, 0, BlockScenarios)
		blk.revalue(p, 0, BlockScenarios, il)
		blk.aggregate(p, Best(), 0, BlockScenarios, al)
		tails(p, &out, 0, losses, scratch)
	}); n != 0 {
		t.Fatalf("%v allocations per block", n)
	}
}

// midJob is the benchmarks' mid-size job: 20 correlated underlyings, 2,000
// instruments, 2,000 accounts of up to 20 positions, 2,000 scenarios.
func midJob() *accel.RiskJob {
	return jobtest.Random(1, jobtest.Options{U: 20, Instruments: 2000, Accounts: 2000, PositionsMax: 20, Scenarios: 2000, Correlated: true})
}

func BenchmarkRisk(b *testing.B) {
	j := midJob()
	be := &Backend{}
	var out accel.RiskResult
	for b.Loop() {
		if err := be.Risk(context.Background(), j, &out); err != nil {
			b.Fatal(err)
		}
	}
	revals := float64(len(j.Instruments)) * float64(out.Scenarios)
	b.ReportMetric(revals*float64(b.N)/b.Elapsed().Seconds(), "revals/s")
	b.ReportMetric(float64(be.workers()), "workers")
}

// BenchmarkRevalue is one core's revaluation rate: scenario generation and
// revaluation of 2,000 instruments (half options) on a block.
func BenchmarkRevalue(b *testing.B) {
	for _, model := range []accel.LossModel{accel.FullRevaluation, accel.DeltaGammaVega} {
		name := map[accel.LossModel]string{accel.FullRevaluation: "full", accel.DeltaGammaVega: "dgv"}[model]
		b.Run(name, func(b *testing.B) {
			j := jobtest.Random(1, jobtest.Options{U: 20, Instruments: 2000, Accounts: 1, Scenarios: BlockScenarios, Correlated: true, Model: model})
			p, err := job.NewPlan(j)
			if err != nil {
				b.Fatal(err)
			}
			blk := newBlock(p)
			il := make([]float64, p.I*p.S)
			blk.scenarios(p, 0, BlockScenarios)
			for b.Loop() {
				blk.revalue(p, 0, BlockScenarios, il)
			}
			b.ReportMetric(float64(p.I*BlockScenarios)*float64(b.N)/b.Elapsed().Seconds(), "revals/s")
		})
	}
}

// BenchmarkScenarios is one core's scenario generation (20 correlated
// underlyings).
func BenchmarkScenarios(b *testing.B) {
	p, err := job.NewPlan(jobtest.Random(1, jobtest.Options{U: 20, Instruments: 1, Accounts: 1, Scenarios: BlockScenarios, Correlated: true}))
	if err != nil {
		b.Fatal(err)
	}
	blk := newBlock(p)
	for b.Loop() {
		blk.scenarios(p, 0, BlockScenarios)
	}
	b.ReportMetric(float64(BlockScenarios)*float64(b.N)/b.Elapsed().Seconds(), "scenarios/s")
}

// BenchmarkAggregate is one core's account aggregation on a block with
// each kernel: 2,000 instruments, 10,000 accounts of 20 positions (the
// reference workload's shape).
func BenchmarkAggregate(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const instruments, accounts, per = 2000, 10000, 20
	loss := make([]int64, instruments*BlockScenarios)
	for k := range loss {
		loss[k] = r.Int64N(1<<40) - 1<<39
	}
	inst := make([]uint32, accounts*per)
	qty := make([]int64, accounts*per)
	for j := range inst {
		inst[j], qty[j] = uint32(r.IntN(instruments)), r.Int64N(2001)-1000
	}
	for _, k := range Kernels {
		b.Run(string(k), func(b *testing.B) {
			if !Supported(k) {
				b.Skipf("kernel %s is not supported by this CPU", k)
			}
			f := aggregator(k)
			var acc [BlockScenarios]int64
			for b.Loop() {
				for a := range accounts {
					acc = [BlockScenarios]int64{}
					f(&acc, loss, inst[a*per:(a+1)*per], qty[a*per:(a+1)*per])
				}
			}
			b.ReportMetric(float64(accounts*per*BlockScenarios)*float64(b.N)/b.Elapsed().Seconds(), "madds/s")
		})
	}
}
