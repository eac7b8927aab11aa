package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/sim/loadgen/loadgentest"
)

// TestMeasure runs the benchmark matrix against in-process servers
// and logs one JSON result per line. It only runs with
// BALLAST_LOADGEN_MEASURE=1 (it takes about a minute and its figures
// depend on the machine); the load generator and the servers share the
// host's CPUs, which each result's note says.
//
//	BALLAST_LOADGEN_MEASURE=1 go test ./sim/loadgen -run TestMeasure -v
//
// BALLAST_LOADGEN_BUSY_POLL (a duration, e.g. 200us) turns on the TCP
// servers' busy polling (verdict.Config.BusyPoll, httpapi.Config.BusyPoll).
func TestMeasure(t *testing.T) {
	if os.Getenv("BALLAST_LOADGEN_MEASURE") != "1" {
		t.Skip("set BALLAST_LOADGEN_MEASURE=1 to measure")
	}
	sopts := loadgentest.Options{BusyPoll: busyPollFromEnv(t)}
	s := loadgentest.StartWith(t, sopts)
	note := "in-process servers: load generator and servers share this host's CPUs"
	if sopts.BusyPoll > 0 {
		note += fmt.Sprintf("; TCP servers busy-poll %v", sopts.BusyPoll)
	}
	fillMix, err := CrossMix(loadgentest.Accounts, loadgentest.Instruments, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		name string
		fn   func(context.Context, Target, Options) (Result, error)
		tr   string
		o    Options
	}
	open := func(rate float64, conns int) Options {
		return Options{Rate: rate, Conns: conns, Warmup: time.Second, Duration: 3 * time.Second, Mix: bookMix(), Seed: 1, Note: note}
	}
	openFills := func(rate float64) Options {
		return Options{Rate: rate, Conns: 1, Warmup: time.Second, Duration: 3 * time.Second, Mix: fillMix, Seed: 1, Note: note}
	}
	closed := func(conns, inflight int, mix Mix) Options {
		return Options{Conns: conns, InflightMax: inflight, Warmup: 500 * time.Millisecond, Duration: 3 * time.Second, Mix: mix, Seed: 1,
			Note: note}
	}
	runs := []run{
		{"tcp open 10k", Run, "tcp", open(10_000, 1)},
		{"tcp open 50k", Run, "tcp", open(50_000, 1)},
		{"tcp open 100k", Run, "tcp", open(100_000, 1)},
		{"tcp-direct open 10k", Run, "tcp-direct", open(10_000, 1)},
		{"tcp-direct open 100k", Run, "tcp-direct", open(100_000, 1)},
		{"shm open 10k", Run, "shm", open(10_000, 1)},
		{"shm open 100k", Run, "shm", open(100_000, 1)},
		{"shm-direct open 10k", Run, "shm-direct", open(10_000, 1)},
		{"shm-direct open 100k", Run, "shm-direct", open(100_000, 1)},
		{"shm-direct open 200k", Run, "shm-direct", open(200_000, 1)},
		{"http open 5k", Run, "http", open(5_000, 4)},
		{"http open 20k", Run, "http", open(20_000, 4)},
		{"http-direct open 5k", Run, "http-direct", open(5_000, 4)},
		{"http-direct open 20k", Run, "http-direct", open(20_000, 4)},
		{"tcp max 1x64", RunMax, "tcp", closed(1, 64, bookMix())},
		{"tcp max 2x256", RunMax, "tcp", closed(2, 256, bookMix())},
		{"shm max 1x64", RunMax, "shm", closed(1, 64, bookMix())},
		{"shm-direct max 1x64", RunMax, "shm-direct", closed(1, 64, bookMix())},
		{"tcp fills w1", RunFills, "tcp", closed(1, 1, fillMix)},
		{"tcp-direct open-fills 2k", RunOpenFills, "tcp-direct", openFills(2_000)},
		{"tcp fills w16", RunFills, "tcp", closed(16, 1, fillMix)},
		{"tcp fills w64", RunFills, "tcp", closed(64, 1, fillMix)},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			res, err := r.fn(context.Background(), target(t, s, r.tr), r.o)
			if err != nil {
				t.Errorf("%s: %v", r.name, err)
			}
			b, _ := json.Marshal(res)
			t.Logf("%s: %.0f/s p50 %d p99 %d p99.9 %d max %d ns; sent %d lost %d errors %d %v mismatches %d",
				r.name, res.AchievedRate, res.Latency.P50, res.Latency.P99, res.Latency.P999, res.Latency.Max,
				res.Sent, res.Lost, res.Errors, res.ErrorCodes, res.Mismatches)
			if res.Lag != nil {
				t.Logf("%s: sender lag: late %d, max behind %d ns, p50 %d ns, p99 %d ns, p99.9 %d ns", r.name, res.Lag.Late,
					res.Lag.MaxBehindNs, res.Lag.P50Ns, res.Lag.P99Ns, res.Lag.P999Ns)
			}
			t.Logf("%s", b)
		})
	}
}

// busyPollFromEnv returns BALLAST_LOADGEN_BUSY_POLL (a duration; unset: 0,
// no busy polling) for the in-process servers.
func busyPollFromEnv(tb testing.TB) time.Duration {
	tb.Helper()
	v := os.Getenv("BALLAST_LOADGEN_BUSY_POLL")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		tb.Fatalf("BALLAST_LOADGEN_BUSY_POLL: %v", err)
	}
	return d
}
