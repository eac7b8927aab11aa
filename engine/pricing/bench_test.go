package pricing

import (
	"math"
	"math/rand/v2"
	"testing"
)

// benchMix is a realistic book: both models, calls and puts, strikes from
// 70 % to 130 % of the underlying, expiries from a day to five years,
// volatilities 8–80 %, with and without dividends.
func benchMix(n int) []Inputs {
	rng := rand.New(rand.NewPCG(11, 12))
	out := make([]Inputs, n)
	for i := range out {
		in := Inputs{Model: ModelBSM, Kind: Call, S: 100, R: 0.04}
		if i%4 == 3 {
			in.Model = ModelBlack76
		}
		if i%2 == 1 {
			in.Kind = Put
		}
		if i%3 == 0 {
			in.Q = 0.02
		}
		in.K = 100 * (0.7 + 0.6*rng.Float64())
		in.T = 1.0/365 + 5*rng.Float64()*rng.Float64()
		in.Sigma = 0.08 + 0.72*rng.Float64()
		out[i] = in
	}
	return out
}

var sinkG Greeks

func BenchmarkCompute(b *testing.B) {
	mix := benchMix(1024)
	b.ReportAllocs()
	b.ResetTimer()
	var acc Greeks
	for i := 0; i < b.N; i++ {
		g, err := Compute(mix[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		acc.Price += g.Price
		acc.Delta += g.Delta
		acc.Volga += g.Volga
	}
	sinkG = acc
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/option")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "options/s")
}

func BenchmarkPrice(b *testing.B) {
	mix := benchMix(1024)
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	for i := 0; i < b.N; i++ {
		v, err := Price(mix[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		s += v
	}
	sinkF = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "options/s")
}

func BenchmarkValueAfterShock(b *testing.B) {
	mix := benchMix(1024)
	ps := make([]Prepared, len(mix))
	for i, in := range mix {
		p, err := Prepare(in)
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = p
	}
	rng := rand.New(rand.NewPCG(13, 14))
	shocks := make([]float64, 4096)
	for i := range shocks {
		shocks[i] = 0.03 * rng.NormFloat64()
	}
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	for i := 0; i < b.N; i++ {
		s += ps[i&1023].ValueAfterShock(shocks[i&4095], 1)
	}
	sinkF = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "revaluations/s")
}

func BenchmarkImpliedVol(b *testing.B) {
	// The mix, less the deep in-the-money short-dated options whose time
	// value rounds away (ImpliedVol rightly refuses those).
	var mix []Inputs
	var prices []float64
	for _, in := range benchMix(2048) {
		v, err := Price(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ImpliedVol(in, v); err == nil && len(mix) < 1024 {
			mix, prices = append(mix, in), append(prices, v)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	for i := 0; i < b.N; i++ {
		v, err := ImpliedVol(mix[i&1023], prices[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		s += v
	}
	sinkF = s
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "solves/s")
}

// shockBook is benchMix prepared, with shocks of a 3 % daily volatility
// and their exponentials.
func shockBook(b *testing.B) (ps []Prepared, x, ex []float64) {
	mix := benchMix(1024)
	ps = make([]Prepared, len(mix))
	for i, in := range mix {
		p, err := Prepare(in)
		if err != nil {
			b.Fatal(err)
		}
		ps[i] = p
	}
	rng := rand.New(rand.NewPCG(13, 14))
	x = make([]float64, 4096)
	ex = make([]float64, len(x))
	for i := range x {
		x[i] = 0.03 * rng.NormFloat64()
		ex[i] = Exp(x[i])
	}
	return ps, x, ex
}

// BenchmarkValuesAfterShocks revalues each option of the book on a block
// of 32 shocks per call (the risk kernel's pattern): ns per revaluation.
func BenchmarkValuesAfterShocks(b *testing.B) {
	ps, x, ex := shockBook(b)
	const block = 32
	out := make([]float64, block)
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	revals := 0
	for i := 0; i < b.N; i++ {
		o := (i * block) & 4095
		ps[i&1023].ValuesAfterShocks(x[o:o+block], ex[o:o+block], nil, out)
		s += out[block-1]
		revals += block
	}
	sinkF = s
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(revals), "ns/reval")
	b.ReportMetric(float64(revals)/b.Elapsed().Seconds(), "revaluations/s")
}

// BenchmarkComputeBatch is BenchmarkCompute's book through ComputeBatch,
// 64 options per call: ns per option.
func BenchmarkComputeBatch(b *testing.B) {
	mix := benchMix(1024)
	const batch = 64
	out := make([]Greeks, batch)
	b.ReportAllocs()
	b.ResetTimer()
	var acc Greeks
	options := 0
	for i := 0; i < b.N; i++ {
		o := (i * batch) & 1023
		if err := ComputeBatch(mix[o:o+batch], out); err != nil {
			b.Fatal(err)
		}
		acc.Price += out[0].Price
		acc.Delta += out[batch/2].Delta
		acc.Volga += out[batch-1].Volga
		options += batch
	}
	sinkG = acc
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(options), "ns/option")
	b.ReportMetric(float64(options)/b.Elapsed().Seconds(), "options/s")
}

// BenchmarkValuesAfterShocksVolMul is BenchmarkValuesAfterShocks with a
// vol multiplier per shock (vol-of-vol scenarios).
func BenchmarkValuesAfterShocksVolMul(b *testing.B) {
	ps, x, ex := shockBook(b)
	rng := rand.New(rand.NewPCG(15, 16))
	vm := make([]float64, len(x))
	for i := range vm {
		vm[i] = math.Exp(0.1 * rng.NormFloat64())
	}
	const block = 32
	out := make([]float64, block)
	b.ReportAllocs()
	b.ResetTimer()
	s := 0.0
	revals := 0
	for i := 0; i < b.N; i++ {
		o := (i * block) & 4095
		ps[i&1023].ValuesAfterShocks(x[o:o+block], ex[o:o+block], vm[o:o+block], out)
		s += out[block-1]
		revals += block
	}
	sinkF = s
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(revals), "ns/reval")
	b.ReportMetric(float64(revals)/b.Elapsed().Seconds(), "revaluations/s")
}
