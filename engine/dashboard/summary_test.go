package dashboard

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNewLatency(t *testing.T) {
	bounds := []int64{1000, 2000, 4000}
	for _, tc := range []struct {
		counts   []uint64
		p50, p99 int64
	}{
		{[]uint64{0, 0, 0, 0}, 0, 0},
		{[]uint64{100, 0, 0, 0}, 500, 990},   // inside the first bucket, from 0
		{[]uint64{50, 50, 0, 0}, 1000, 1980}, // median on a bound
		{[]uint64{0, 0, 10, 0}, 3000, 3980},  // interpolated 2000..4000
		{[]uint64{10, 0, 0, 90}, 4000, 4000}, // overflow: the last bound
		{[]uint64{98, 1, 1, 0}, 510, 2000},
	} {
		l, err := NewLatency(bounds, tc.counts)
		if err != nil {
			t.Fatal(err)
		}
		if l.P50Ns != tc.p50 || l.P99Ns != tc.p99 {
			t.Errorf("counts %v: p50 %d p99 %d, want %d %d", tc.counts, l.P50Ns, l.P99Ns, tc.p50, tc.p99)
		}
		var n uint64
		for _, c := range tc.counts {
			n += c
		}
		if l.Count != n {
			t.Errorf("count %d, want %d", l.Count, n)
		}
	}
	// Copies, not aliases.
	counts := []uint64{1, 2, 3, 4}
	l, _ := NewLatency(bounds, counts)
	counts[0], bounds[0] = 99, 1
	if l.Counts[0] != 1 || l.BoundsNs[0] != 1000 {
		t.Errorf("NewLatency aliases its arguments")
	}
	bounds[0] = 1000
	for _, bad := range []struct {
		b []int64
		c []uint64
	}{
		{nil, []uint64{1}},
		{[]int64{1, 2}, []uint64{1, 2}},
		{[]int64{2, 1}, []uint64{1, 2, 3}},
		{[]int64{0, 1}, []uint64{1, 2, 3}},
		{make([]int64, LatencyBucketsMax+1), make([]uint64, LatencyBucketsMax+2)},
		{[]int64{1}, []uint64{1 << 63, 1 << 63}},
	} {
		if _, err := NewLatency(bad.b, bad.c); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewLatency(%v, %v): %v", bad.b, bad.c, err)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"cpu", 32, "cpu"}, {"abcdef", 3, "abc"}, {"héllo", 2, "h"}, {"héllo", 3, "hé"}, {"", 0, ""},
	} {
		got := truncate(tc.s, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	a := NewAccelerator(string(make([]byte, 100)), true, false, string(make([]byte, 1000)))
	if len(a.Backend) != BackendBytesMax || len(a.Detail) != DetailBytesMax || !a.Degraded || a.Healthy {
		t.Errorf("NewAccelerator: %+v", a)
	}
}

// keys returns the sorted JSON object keys of v.
func keys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSummaryJSON pins the wire names the page reads (dashboard.js).
func TestSummaryJSON(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{Summary{}, []string{"accelerator", "accounts", "check_latency", "epochs", "feed", "generated", "sbe_check_latency"}},
		{Accounts{}, []string{"attestation_expired", "by_state", "generated", "health", "risk_unknown", "stale", "total", "worst"}},
		{StateCounts{}, []string{"HEALTHY", "LIQUIDATE", "MARGIN_CALL"}},
		{HealthBucket{}, []string{"count", "label", "lower", "upper"}},
		{AccountRow{}, []string{"epoch", "equity", "firm", "health_factor", "id", "initial_margin", "maintenance_margin", "no_margin", "stale", "state"}},
		{Feed{}, []string{"gaps_lost", "gaps_opened", "gaps_recovered", "last_tick_age_ns", "messages", "messages_per_sec",
			"packets", "packets_per_sec", "rates_known", "ring_capacity", "ring_depth", "stale"}},
		{EpochPoint{}, []string{"backend", "duration_ns", "id", "scenarios", "started"}},
		{Latency{}, []string{"bounds_ns", "count", "counts", "p50_ns", "p99_ns"}},
		{Accelerator{}, []string{"backend", "degraded", "healthy"}},
	} {
		if got := keys(t, tc.v); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%T keys %v, want %v", tc.v, got, tc.want)
		}
	}
	// A round trip keeps every figure.
	lo, hi := int64(10_000), int64(11_000)
	s := Summary{Generated: time.Date(2026, 11, 21, 22, 0, 0, 0, time.UTC),
		Accounts: Accounts{Total: 2, ByState: StateCounts{1, 1, 0}, Health: []HealthBucket{{Label: "1–1.1", Lower: &lo, Upper: &hi, Count: 2}},
			Worst: []AccountRow{{ID: 7, Firm: "acme", State: "MARGIN_CALL", Equity: 5, HealthFactor: 10_500}}},
		Feed:   &Feed{MessagesPerSec: 1.5, RatesKnown: true, LastTickAgeNs: -1},
		Epochs: []EpochPoint{{ID: 3, Backend: "cpu", DurationNs: 9}}}
	b, _ := json.Marshal(s)
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, s)
	}
}
