package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReportMediansAndTargets(t *testing.T) {
	in := `goos: linux
BenchmarkDecode-2   	1000	10.2 ns/op	 90000000 msgs/s
BenchmarkDecode-2   	1000	10.2 ns/op	110000000 msgs/s
BenchmarkDecode-2   	1000	10.2 ns/op	105000000 msgs/s
BenchmarkHandoffLatency-2	10	1 ns/op	150 p50-ns	400 p99-ns
BenchmarkHandoffLatencyInPlace-2	10	1 ns/op	95.5 p50-ns	130 p99-ns
BenchmarkSPSC/copy/64-2	10	9 ns/op	99000000 ticks/s
PASS
`
	s, err := collect(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := s["BenchmarkDecode"]["msgs/s"]; len(got) != 3 {
		t.Fatalf("decode samples %v", got)
	}
	var out bytes.Buffer
	write(&out, "go test -bench x", s)
	text := out.String()
	for _, want := range []string{
		"| ITCH 5.0 decode from memory, per core (types drawn at random in TotalView-like proportions) | 105.0 M msgs/s | 3 | ≥ 100.0 M msgs/s | yes |",
		"| Ring hand-off between two cores, in place as the pipeline makes it (Claim/Publish → Poll), p50 (includes one clock read) | 96 ns (p50) | 1 | ≤ 100 ns (p50) | yes |",
		"| Ring hand-off between two cores, copying API (TryPush → TryPop), p50 (includes one clock read) | 150 ns (p50) | 1 | — |  |",
		"| Ring, two cores, batched copy of 64 | 99.0 M ticks/s | 1 | ≥ 100.0 M ticks/s | no |",
		"| ITCH decode + book update, realistic flow, 4M-order index (per core) | not run | 0 |",
		"command: `go test -bench x`",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatal(m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatal(m)
	}
}
