package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestReport renders runs of every kind with their targets judged.
func TestReport(t *testing.T) {
	in := `{"command":["ballast-sim","load","--transport","tcp","--rate","100000"],"result":{"mode":"open","transport":"tcp","rate":100000,"conns":1,"inflight_max":1024,"achieved_rate":100000,"latency":{"p50_ns":9000,"p99_ns":24000,"p99_9_ns":40000,"max_ns":2000000},"sender_lag":{"late":3,"max_behind_ns":1500},"host":{"cpu":"X","num_cpu":2,"gomaxprocs":2,"go_version":"go1.26"}}}
{"command":["ballast-sim","load","--transport","shm"],"result":{"mode":"open","transport":"shm","rate":10000,"achieved_rate":10000,"latency":{"p99_ns":3500},"lost":1}}

{"command":["ballast-sim","load","--mode","max"],"result":{"mode":"max","transport":"tcp","conns":2,"inflight_max":256,"achieved_rate":310000,"latency":{"p99_ns":900000}}}
`
	runs, err := read(strings.NewReader(in))
	if err != nil || len(runs) != 3 {
		t.Fatalf("read: %d runs, %v", len(runs), err)
	}
	var b bytes.Buffer
	write(&b, "T", "note", runs)
	out := b.String()
	for _, want := range []string{
		"| tcp | open | 100000/s | 100000 | 9.00 µs | 24.0 µs | 40.0 µs | 2.00 ms | 3 (max 1.50 µs) | 0 | p99 ≤ 25 µs | met |",
		"| shm | open | 10000/s | 10000 |", "| 1 | p99 ≤ 3 µs | **missed** |",
		"| tcp | max | 2 conns × 256 | 310000 |", "| ≥ 300k/s | met |",
		"X, 2 CPUs, GOMAXPROCS 2", "    ballast-sim load --mode max",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if _, err := read(strings.NewReader("{not json\n")); err == nil {
		t.Error("bad line accepted")
	}
}
