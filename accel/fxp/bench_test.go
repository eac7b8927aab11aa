package fxp

import (
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/accel"
)

var (
	sinkI32 int32
	sinkI64 int64
	sinkG   GreeksQ
)

func benchScenario(b testing.TB, u, nu int, eta float64) *ScenarioParams {
	vols := make([]float64, u)
	chol := make([]float64, u*u)
	for i := range vols {
		vols[i] = 0.1 + 0.02*float64(i)
		chol[i*u] = 0.5
		chol[i*u+i] = 0.8660254037844386
	}
	chol[0] = 1
	sc := accel.Scenarios{Seed: 42, HorizonYears: 1.0 / 252, Vols: vols, Cholesky: chol, StudentTDoF: nu, VolOfVol: eta, SpotVolCorr: -0.5}
	p, err := NewScenarioParams(&sc, u)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchOption(b testing.TB) *InstrumentParams {
	in := accel.Instrument{Kind: accel.Call, Model: accel.BSM, S: 100, K: 105, T: 0.5, R: 0.03, Q: 0.01, Sigma: 0.25, Carry: 1, Multiplier: 100}
	p, err := NewInstrumentParams(&in)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkInvNorm(b *testing.B) {
	w := uint32(0x12345678)
	var s int32
	for i := 0; i < b.N; i++ {
		s += InvNorm(w)
		w = w*1664525 + 1013904223
	}
	sinkI32 = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "normals/s")
}

func BenchmarkExp(b *testing.B) {
	x := int32(0)
	var s int64
	for i := 0; i < b.N; i++ {
		s += int64(Exp(x).M)
		x = x*1664525 + 1013904223
	}
	sinkI64 = s
}

func BenchmarkRow20(b *testing.B) {
	p := benchScenario(b, 20, 0, 0)
	x, m := make([]int32, 20), make([]uint32, 20)
	for i := 0; i < b.N; i++ {
		p.Row(uint64(i), x, m)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkRow20StudentTVolShocks(b *testing.B) {
	p := benchScenario(b, 20, 5, 1.0)
	x, m := make([]int32, 20), make([]uint32, 20)
	for i := 0; i < b.N; i++ {
		p.Row(uint64(i), x, m)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkValueOption(b *testing.B) {
	p := benchOption(b)
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]int32, 1024)
	for i := range xs {
		xs[i], _ = XFromFloat(r.NormFloat64() * 0.02)
	}
	var s int64
	for i := 0; i < b.N; i++ {
		s += p.Value(xs[i&1023], MOne)
	}
	sinkI64 = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
}

func BenchmarkValueDGV(b *testing.B) {
	p := benchOption(b)
	var s int64
	for i := 0; i < b.N; i++ {
		s += p.ValueDGV(int32(i&0xffff)<<8, MOne)
	}
	sinkI64 = s
}

func BenchmarkGreeks(b *testing.B) {
	p := benchOption(b)
	for i := 0; i < b.N; i++ {
		sinkG = p.Greeks()
	}
}

func BenchmarkTailSums10000(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	l := make([]int64, 10000)
	for i := range l {
		l[i] = int64(r.NormFloat64() * 1e9)
	}
	scratch := make([]int64, len(l))
	for i := 0; i < b.N; i++ {
		v, e, s := TailSums(l, 100, 250, scratch)
		sinkI64 = v + e + s
	}
	b.ReportMetric(float64(b.N)*1e4/b.Elapsed().Seconds(), "losses/s")
}

// The hot paths allocate nothing.
func TestZeroAllocs(t *testing.T) {
	sc := scenarioConfigs(t)["everything"]
	sp, _ := NewScenarioParams(&sc, len(sc.Vols))
	x, m := make([]int32, len(sc.Vols)), make([]uint32, len(sc.Vols))
	p := benchOption(t)
	l := make([]int64, 10000)
	for i := range l {
		l[i] = int64(i*7919%10007) - 5000
	}
	scratch := make([]int64, len(l))
	for name, f := range map[string]func(){
		"InvNorm":  func() { sinkI32 = InvNorm(12345) },
		"Exp":      func() { sinkI64 = int64(Exp(1 << 26).M) },
		"Row":      func() { sp.Row(7, x, m) },
		"Value":    func() { sinkI64 = p.Value(1<<24, MOne+1<<20) },
		"ValueDGV": func() { sinkI64 = p.ValueDGV(1<<24, MOne+1<<20) },
		"Loss":     func() { sinkI64 = p.Loss(12345) },
		"Greeks":   func() { sinkG = p.Greeks() },
		"TailSums": func() { v, e, s := TailSums(l, 100, 250, scratch); sinkI64 = v + e + s },
	} {
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s allocates %v times", name, n)
		}
	}
}
