package main

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/sim/loadgen"
)

func testMeta() Meta {
	return Meta{Command: "ballast-bench --quick", Commit: "abc1234+dirty", Date: time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC),
		Machine: Machine{Hostname: "h", Uname: "Linux 6.1 x86_64", OS: "linux", Arch: "amd64", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26.8",
			CPU: CPU{Model: "Test CPU 9000", Vendor: "AMD", Family: 25, LogicalCores: 2, Features: []string{"AVX2", "AVX512F", "BMI2"}}}}
}

// testReport has every kind of figure data.
func testReport() *Report {
	meta := testMeta()
	h := Histogram{BoundsNs: []int64{1000, 2000, 4000, math.MaxInt64}, Counts: []uint64{5, 80, 14, 1}}
	res := loadgen.Result{Mode: "open", Transport: "tcp", Rate: 1000, Sent: 3000, Received: 3000, AchievedRate: 999.5,
		Latency: loadgen.Latency{Count: 2000, P50: 20_000, P90: 30_000, P99: 50_000, P999: 90_000, P9999: 120_000, Max: 130_000, MeanNs: 22_000}}
	r := &Report{Schema: SchemaVersion, Stamp: "2026-11-21T230000Z", Quick: true, Meta: meta, WallSeconds: 12.5}
	r.Figures = []Figure{
		{ID: FigEpoch, Title: "Epoch time per backend", Meta: meta, Method: "m1", Plot: "epoch.png",
			Epoch: []EpochRun{
				{Backend: "reference", Workload: "reference", Scenarios: 10000, Instruments: 2000, Accounts: 10000,
					Seconds: []float64{0.9, 1.1, 1.0}, BatchSeconds: []float64{0.8, 1.0, 0.9}, Min: 0.9, Median: 1.0, Max: 1.1},
				{Backend: "cpu", Workload: "reference", Scenarios: 10000, Instruments: 2000, Accounts: 10000,
					Seconds: []float64{0.7}, BatchSeconds: []float64{0.6}, Min: 0.7, Median: 0.7, Max: 0.7},
				{Backend: "vsim", Workload: "demo", Scenarios: 1000, Instruments: 100, Accounts: 100,
					Seconds: []float64{6.5}, BatchSeconds: []float64{6.4}, Min: 6.5, Median: 6.5, Max: 6.5},
			},
			Skipped: []Skip{{What: "vsim on reference", Reason: "too slow"}}},
		{ID: FigFeed, Title: "Feed handler throughput", Meta: meta, Method: "m2", Plot: "feed-throughput.png",
			Feed: &FeedRun{Symbols: 50, SessionMessages: 200000, CaptureBytes: 6_000_000, Passes: 3, Messages: 600000, Packets: 14000,
				Seconds: 0.1, MsgsPerSec: 6e6, PacketsPerSec: 1.4e5},
			Throughput: []Series{{Name: "messages/s", Unit: "messages/s", Points: []Point{{0.25, 6e6}, {0.5, 6.2e6}}},
				{Name: "packets/s", Unit: "packets/s", Points: []Point{{0.25, 1.4e5}, {0.5, 1.5e5}}}}},
		{ID: FigT2V, Title: "Tick-to-verdict latency", Meta: meta, Method: "m3", Plot: "tick-to-verdict.png",
			Latency: []LatencyRun{latencyFromHistogram("in-process", h)}},
		{ID: FigCheck, Title: "Check latency per transport", Meta: meta, Method: "m4", Plot: "check-latency.png",
			Latency: []LatencyRun{{Name: "tcp 1k/s", Transport: "tcp", Rate: 1000, Achieved: 999.5, Count: 2000, MeanNs: 22_000, MaxNs: 130_000,
				Percentiles: []Percentile{{50, 20_000}, {90, 30_000}, {99, 50_000}, {99.9, 90_000}, {99.99, 120_000}}, Load: &res}}},
		{ID: FigLoadTput, Title: "Appliance verdict throughput over time", Meta: meta, Method: "m5", Plot: "load-throughput.png",
			Throughput: []Series{{Name: "tcp 1k/s", Unit: "verdicts/s", Points: []Point{{1, 1000}, {2, 1001}}}}},
	}
	return r
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := testReport()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReport(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, r)
	}
	// Other schemas and unknown fields are refused.
	bad := strings.Replace(buf.String(), `"schema": 1`, `"schema": 2`, 1)
	if _, err := ReadReport(strings.NewReader(bad)); !errors.Is(err, ErrReport) {
		t.Fatalf("schema 2: %v", err)
	}
	bad = strings.Replace(buf.String(), `"quick": true`, `"quick": true, "surprise": 1`, 1)
	if _, err := ReadReport(strings.NewReader(bad)); !errors.Is(err, ErrReport) {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestMarkdownHasEveryFigureWithProvenance(t *testing.T) {
	r := testReport()
	var buf bytes.Buffer
	if err := r.WriteMarkdown(&buf); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	sections := strings.Split(md, "\n## ")[1:]
	if len(sections) != len(r.Figures) {
		t.Fatalf("%d sections for %d figures:\n%s", len(sections), len(r.Figures), md)
	}
	for i, f := range r.Figures {
		s := sections[i]
		for _, want := range []string{f.Title + "\n", "](" + f.Plot + ")", "command `" + f.Meta.Command + "`",
			"commit `" + f.Meta.Commit + "`", f.Meta.Machine.Summary(), "CPU features: AVX2 AVX512F BMI2", f.Method} {
			if !strings.Contains(s, want) {
				t.Errorf("figure %s: missing %q in\n%s", f.ID, want, s)
			}
		}
	}
	for _, want := range []string{"| reference | cpu | 10000 | 1 |", "**1.000 s**", "**6.00 M**", "| tcp 1k/s | 2000 |",
		"20.0 µs", "skipped vsim on reference: too slow"} {
		if !strings.Contains(md, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestPlotsArePNGsWithProvenance(t *testing.T) {
	r := testReport()
	dir := t.TempDir()
	for i := range r.Figures {
		r.Figures[i].Plot = ""
	}
	if err := plotFigures(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Figures {
		if f.Plot != f.ID+".png" {
			t.Fatalf("figure %s: plot %q", f.ID, f.Plot)
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Plot))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", f.Plot, err)
		}
		if b := img.Bounds(); b.Dx() != plotWidthPx || b.Dy() != plotHeightPx {
			t.Fatalf("%s: %v, want %d×%d", f.Plot, b, plotWidthPx, plotHeightPx)
		}
		for _, want := range []string{"tEXtTitle\x00", "tEXtComment\x00", `"commit":"abc1234+dirty"`, `"AVX512F"`, `ballast-bench --quick`} {
			if !bytes.Contains(data, []byte(want)) {
				t.Errorf("%s: no %q in its PNG chunks", f.Plot, want)
			}
		}
	}
	// A figure without data gets no plot.
	empty := &Report{Figures: []Figure{{ID: FigCheck, Meta: testMeta()}}}
	if err := plotFigures(t.TempDir(), empty); err != nil || empty.Figures[0].Plot != "" {
		t.Fatalf("empty figure: plot %q, %v", empty.Figures[0].Plot, err)
	}
}

func TestPercentilesOfHistogram(t *testing.T) {
	h := Histogram{BoundsNs: []int64{1000, 2000, 4000, math.MaxInt64}, Counts: []uint64{5, 80, 14, 1}}
	got := percentilesOf(h, []float64{0, 5, 5.1, 50, 99, 99.5, 100})
	want := []Percentile{{0, 1000}, {5, 1000}, {5.1, 2000}, {50, 2000}, {99, 4000}, {99.5, 4000}, {100, 4000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if percentilesOf(Histogram{BoundsNs: []int64{1}, Counts: []uint64{0}}, []float64{50}) != nil {
		t.Fatal("percentiles of an empty histogram")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP ballast_sbe_verdicts_total x
# TYPE ballast_sbe_verdicts_total counter
ballast_sbe_verdicts_total{reason="none"} 10
ballast_sbe_verdicts_total{reason="margin"} 5
ballast_http_verdicts_total{decision="accept",reason="none"} 7
ballast_tick_to_verdict_seconds_bucket{le="1e-06"} 2
ballast_tick_to_verdict_seconds_bucket{le="2e-06"} 5
ballast_tick_to_verdict_seconds_bucket{le="+Inf"} 6
ballast_tick_to_verdict_seconds_count 6
garbage line
ballast_epochs_total 3 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictsTotal(m); v != 22 {
		t.Fatalf("verdicts %v", v)
	}
	if m["ballast_epochs_total"] != 3 {
		t.Fatalf("sample with a timestamp: %v", m["ballast_epochs_total"])
	}
	h, ok := histogramFromMetrics(m, "ballast_tick_to_verdict_seconds")
	want := Histogram{BoundsNs: []int64{1000, 2000, math.MaxInt64}, Counts: []uint64{2, 3, 1}}
	if !ok || !reflect.DeepEqual(h, want) {
		t.Fatalf("histogram %+v, %v", h, ok)
	}
	if _, ok := histogramFromMetrics(m, "ballast_absent_seconds"); ok {
		t.Fatal("absent family found")
	}
}

func TestSI(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 12.5: "12.5", 1500: "1.5k", 2e6: "2M", 8.25e6: "8.25M", 3e9: "3G"} {
		if got := si(v); got != want {
			t.Errorf("si(%v) = %q, want %q", v, got, want)
		}
	}
}
