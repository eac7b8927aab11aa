package attest

import (
	"testing"
	"time"
)

// BenchmarkVerify: a fresh statement per call (signature check, clock,
// nonce table insert); the verifier is renewed, off the clock, every
// 4096 statements so the table stays bounded.
func BenchmarkVerify(b *testing.B) {
	const ring = 4096
	clk := newClock(t0.Add(time.Hour))
	signed := make([]Signed, ring)
	for i := range signed {
		signed[i] = Sign(key("custodian-a"), statement(uint64(i)))
	}
	v := verifier(b, clk, ring)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%ring == 0 && i > 0 {
			b.StopTimer()
			v = verifier(b, clk, ring)
			b.StartTimer()
		}
		if _, err := v.Verify(signed[i%ring]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}

// BenchmarkParseJSON: decoding one wire-form attestation.
func BenchmarkParseJSON(b *testing.B) {
	data, _ := Sign(key("custodian-a"), statement(7)).MarshalJSON()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
