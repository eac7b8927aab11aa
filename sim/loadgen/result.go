package loadgen

import (
	"runtime"

	"github.com/klauspost/cpuid/v2"

	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// Latency is a latency distribution in nanoseconds (HDR histogram, 3
// significant digits; Max is exact).
type Latency struct {
	Count  int64   `json:"count"`
	P50    int64   `json:"p50_ns"`
	P90    int64   `json:"p90_ns"`
	P99    int64   `json:"p99_ns"`
	P999   int64   `json:"p99_9_ns"`
	P9999  int64   `json:"p99_99_ns"`
	Max    int64   `json:"max_ns"`
	MeanNs float64 `json:"mean_ns"`
	// Over counts samples beyond the histogram's 10 s range (recorded as
	// 10 s; Max stays exact).
	Over uint64 `json:"over_range,omitempty"`
}

func latencyOf(r *latency.Recorder, sumNs float64) Latency {
	l := Latency{Count: r.Count(), P50: r.Percentile(50), P90: r.Percentile(90), P99: r.Percentile(99),
		P999: r.Percentile(99.9), P9999: r.Percentile(99.99), Max: r.Max(), Over: r.Over()}
	if l.Count > 0 {
		l.MeanNs = sumNs / float64(l.Count)
	}
	return l
}

// Host describes the machine the load generator ran on.
type Host struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NumCPU     int    `json:"num_cpu"`
	CPU        string `json:"cpu"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	GoVersion  string `json:"go_version"`
}

// ThisHost describes the running machine (CPU model from cpuid).
func ThisHost() Host {
	return Host{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPU: cpuid.CPU.BrandName,
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GoVersion: runtime.Version()}
}

// Lag describes how far behind its schedule an open-loop sender ran:
// the time from a request's intended send to its actual send.
type Lag struct {
	// Late counts requests sent more than ThresholdNs after their intended
	// time.
	Late        uint64 `json:"late"`
	ThresholdNs int64  `json:"threshold_ns"`
	// MaxBehindNs is the largest lag.
	MaxBehindNs int64 `json:"max_behind_ns"`
	P50Ns       int64 `json:"p50_ns"`
	P99Ns       int64 `json:"p99_ns"`
	P999Ns      int64 `json:"p99_9_ns"`
}

// Result is one run's outcome. Sent, Received, Lost, Errors and Mismatches
// cover the whole run (warm-up included); Latency, the decision counts and
// the rates cover the measured window only.
type Result struct {
	Mode      string `json:"mode"`
	Transport string `json:"transport"`
	// Rate is the open-loop target arrival rate (requests/s).
	Rate        float64 `json:"rate,omitempty"`
	Poisson     bool    `json:"poisson,omitempty"`
	Seed        uint64  `json:"seed"`
	Conns       int     `json:"conns"`
	InflightMax int     `json:"inflight_max"`
	WarmupNs    int64   `json:"warmup_ns"`
	DurationNs  int64   `json:"duration_ns"`

	Sent     uint64 `json:"sent"`
	Received uint64 `json:"received"`
	// Lost counts requests never answered by the end of the drain.
	Lost   uint64 `json:"lost"`
	Errors uint64 `json:"errors"`
	// ErrorCodes counts error answers by code: "sbe:<ErrorCode>" or
	// "http:<status>" ("http:0" is a transport failure).
	ErrorCodes map[string]uint64 `json:"error_codes,omitempty"`
	// Mismatches counts answers for no outstanding request, of the wrong
	// kind, for another account, or unreadable.
	Mismatches uint64 `json:"mismatches"`

	// MeasuredSent counts requests whose send time (intended, in open
	// loop) fell in the measured window.
	MeasuredSent uint64 `json:"measured_sent"`
	// AchievedRate is the measured window's successful answers per second.
	AchievedRate float64 `json:"achieved_rate"`
	Accepts      uint64  `json:"accepts,omitempty"`
	Rejects      uint64  `json:"rejects,omitempty"`
	// Reasons counts the measured verdicts by reason.
	Reasons map[string]uint64 `json:"reasons,omitempty"`
	// Latency is from the intended send time (open loop) or the actual
	// send time (max and fills: closed loop) to the answer's arrival.
	Latency Latency `json:"latency"`
	// Lag is the open-loop sender's lateness (nil in closed loop).
	Lag *Lag `json:"sender_lag,omitempty"`
	// ExecIDBase is the first execId of a fills run.
	ExecIDBase uint64 `json:"exec_id_base,omitempty"`

	Host Host   `json:"host"`
	Note string `json:"note,omitempty"`
	// Aborted says why the run stopped early ("" when it did not).
	Aborted string `json:"aborted,omitempty"`
}
