package pricing

import (
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
