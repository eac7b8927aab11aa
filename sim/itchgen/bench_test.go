package itchgen

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
)

func benchGenerator(b *testing.B, symbols int) *Generator {
	g, err := New(Config{SymbolCount: symbols, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var m itch.Message
	for i := 0; i < 100_000; i++ { // past the opening, books at depth
		g.Next(&m)
	}
	return g
}

// BenchmarkNext measures message generation in continuous trading.
func BenchmarkNext(b *testing.B) {
	for _, k := range []int{8, 1000} {
		b.Run(map[int]string{8: "symbols=8", 1000: "symbols=1000"}[k], func(b *testing.B) {
			g := benchGenerator(b, k)
			var m itch.Message
			b.ReportAllocs()
			for b.Loop() {
				g.Next(&m)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkNextAppend measures generation plus wire encoding.
func BenchmarkNextAppend(b *testing.B) {
	g := benchGenerator(b, 8)
	var m itch.Message
	buf := make([]byte, 0, 64)
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		g.Next(&m)
		buf = m.Append(buf[:0])
		bytes += int64(len(buf))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/msg")
}
