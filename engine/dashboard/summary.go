package dashboard

import (
	"errors"
	"math"
	"time"
)

// Bounds on a Summary.
const (
	// WorstMax bounds Accounts.Worst, the accounts listed by health factor.
	WorstMax = 100
	// EpochsMax bounds an EpochTimeline and so Summary.Epochs.
	EpochsMax = 1024
	// LatencyBucketsMax bounds Latency.BoundsNs.
	LatencyBucketsMax = 64
	// BackendBytesMax bounds a backend name kept by an EpochTimeline or
	// reported in Accelerator (longer names are cut).
	BackendBytesMax = 32
	// DetailBytesMax bounds Accelerator.Detail and Feed.StaleReason.
	DetailBytesMax = 256
)

// ErrInvalid reports an argument out of its documented range.
var ErrInvalid = errors.New("dashboard: invalid argument")

// Summary is the JSON body of GET /v1/dashboard: everything the live page
// shows except the margin notices, which it reads from GET /v1/stream.
// Money is in 1/10,000 currency units and health factors are ×10,000, as
// everywhere in the HTTP API (docs/http-api.md). A nil section is sent as
// null and shown as "not available".
type Summary struct {
	// Generated is when the summary was built (the account part may be up
	// to a cache TTL older: see Accounts.Generated).
	Generated time.Time `json:"generated"`
	// Accounts counts accounts by state and health factor and lists the
	// worst.
	Accounts Accounts `json:"accounts"`
	// Feed is the market-data feed's rate and gap counters (nil: no feed).
	Feed *Feed `json:"feed"`
	// Epochs are the most recent risk epochs, oldest first (at most
	// EpochsMax).
	Epochs []EpochPoint `json:"epochs"`
	// CheckLatency is the HTTP what-if check latency histogram: the
	// handling time of POST /v1/check (nil: not measured; the HTTP server
	// fills it in when left nil).
	CheckLatency *Latency `json:"check_latency"`
	// SBECheckLatency is the matching engines' check latency histogram:
	// the service time of each OrderCheck over the binary protocol (SBE
	// over TCP and shared memory), from the decoded request to the filled
	// verdict (nil: no SBE server). Its buckets differ from CheckLatency's
	// and it measures less of the path, so the two are kept apart.
	SBECheckLatency *Latency `json:"sbe_check_latency"`
	// Accelerator is the risk backend's state (nil: unknown).
	Accelerator *Accelerator `json:"accelerator"`
}

// StateCounts counts accounts per margin state (DESIGN §4).
type StateCounts struct {
	Healthy    int `json:"HEALTHY"`
	MarginCall int `json:"MARGIN_CALL"`
	Liquidate  int `json:"LIQUIDATE"`
}

// HealthBucket is one bar of the health-factor histogram.
type HealthBucket struct {
	// Label names the range, e.g. "1.1–1.25", "<1", "≥3", "no margin".
	Label string `json:"label"`
	// Lower and Upper bound the range ×10,000: Lower ≤ HF < Upper. Lower is
	// null for the first bucket, Upper null for "≥3"; both are null for
	// "no margin".
	Lower *int64 `json:"lower"`
	Upper *int64 `json:"upper"`
	// Count is the number of accounts in the range.
	Count int `json:"count"`
}

// AccountRow is one account of the worst-accounts table.
type AccountRow struct {
	// ID and Firm identify the account.
	ID   uint64 `json:"id"`
	Firm string `json:"firm"`
	// State is HEALTHY, MARGIN_CALL or LIQUIDATE.
	State string `json:"state"`
	// Epoch is the epoch the figures use (0: none yet).
	Epoch uint64 `json:"epoch"`
	// Equity, InitialMargin and MaintenanceMargin are in 1/10,000.
	Equity            int64 `json:"equity"`
	InitialMargin     int64 `json:"initial_margin"`
	MaintenanceMargin int64 `json:"maintenance_margin"`
	// HealthFactor is equity / MM ×10,000 (±HealthFactorMax×10,000 for an
	// account with no maintenance requirement).
	HealthFactor int64 `json:"health_factor"`
	// NoMargin says the account has no maintenance requirement.
	NoMargin bool `json:"no_margin"`
	// Stale says a mark the account depends on is stale.
	Stale bool `json:"stale"`
}

// Accounts is the account part of a Summary (AccountsSummary builds it).
type Accounts struct {
	// Generated is when the account part was computed.
	Generated time.Time `json:"generated"`
	// Total is the number of accounts summarised.
	Total int `json:"total"`
	// ByState counts accounts per state (a risk-unknown account counts
	// under the last state a sweep established).
	ByState StateCounts `json:"by_state"`
	// Stale counts accounts depending on a stale mark; RiskUnknown those
	// whose requirement is unknown until the next epoch;
	// AttestationExpired those with an expired attestation.
	Stale              int `json:"stale"`
	RiskUnknown        int `json:"risk_unknown"`
	AttestationExpired int `json:"attestation_expired"`
	// Health is the health-factor histogram: the buckets of
	// HealthBoundsX10k, then "≥3", then "no margin". Risk-unknown accounts
	// are not in it.
	Health []HealthBucket `json:"health"`
	// Worst lists up to the requested number of accounts, lowest health
	// factor first (ties by id); risk-unknown accounts are not ranked.
	Worst []AccountRow `json:"worst"`
}

// Feed is the market-data feed's state.
type Feed struct {
	// PacketsPerSec and MessagesPerSec are recent rates (RateMeter);
	// RatesKnown is false until a first rate window has completed (the
	// rates are then 0).
	PacketsPerSec  float64 `json:"packets_per_sec"`
	MessagesPerSec float64 `json:"messages_per_sec"`
	RatesKnown     bool    `json:"rates_known"`
	// Packets and Messages are the running totals.
	Packets  uint64 `json:"packets"`
	Messages uint64 `json:"messages"`
	// GapsOpened counts sequence gaps detected, GapsRecovered those filled
	// by retransmission, GapsLost those given up on.
	GapsOpened    uint64 `json:"gaps_opened"`
	GapsRecovered uint64 `json:"gaps_recovered"`
	GapsLost      uint64 `json:"gaps_lost"`
	// Stale says marks are stale (no update within the configured age, or
	// an unrecovered gap); StaleReason says why.
	Stale       bool   `json:"stale"`
	StaleReason string `json:"stale_reason,omitempty"`
	// RingDepth is the ticks queued between the feed handler and the
	// engine; RingCapacity the ring's size.
	RingDepth    int `json:"ring_depth"`
	RingCapacity int `json:"ring_capacity"`
	// LastTickAgeNs is the age of the newest tick applied (-1: none yet).
	LastTickAgeNs int64 `json:"last_tick_age_ns"`
}

// EpochPoint is one risk epoch on the timeline.
type EpochPoint struct {
	ID         uint64    `json:"id"`
	Backend    string    `json:"backend"`
	Started    time.Time `json:"started"`
	DurationNs int64     `json:"duration_ns"`
	Scenarios  int       `json:"scenarios"`
}

// Latency is a latency histogram with estimated quantiles.
type Latency struct {
	// BoundsNs are the buckets' inclusive upper bounds, ascending; Counts
	// has one more entry than BoundsNs, the last counting samples above the
	// last bound.
	BoundsNs []int64  `json:"bounds_ns"`
	Counts   []uint64 `json:"counts"`
	// Count is the number of samples.
	Count uint64 `json:"count"`
	// P50Ns and P99Ns estimate the median and 99th percentile by linear
	// interpolation inside the bucket holding them (0 when there are no
	// samples; the last bound when the quantile is in the overflow bucket).
	P50Ns int64 `json:"p50_ns"`
	P99Ns int64 `json:"p99_ns"`
}

// Accelerator is the risk backend's state.
type Accelerator struct {
	// Backend is the backend serving epochs ("cpu", "vsim", "fpga").
	Backend string `json:"backend"`
	// Degraded says the configured backend failed and the CPU fallback is
	// serving; Healthy says the serving backend answers.
	Degraded bool `json:"degraded"`
	Healthy  bool `json:"healthy"`
	// Detail is a short human-readable note (may be empty).
	Detail string `json:"detail,omitempty"`
}

// NewLatency builds a Latency from a histogram: boundsNs ascending (at most
// LatencyBucketsMax), counts with len(boundsNs)+1 entries (the last one the
// overflow). It copies both. httpapi.Server.CheckLatency returns exactly
// these two values.
func NewLatency(boundsNs []int64, counts []uint64) (Latency, error) {
	if len(boundsNs) == 0 || len(boundsNs) > LatencyBucketsMax || len(counts) != len(boundsNs)+1 {
		return Latency{}, ErrInvalid
	}
	for i, b := range boundsNs {
		if b <= 0 || i > 0 && b <= boundsNs[i-1] {
			return Latency{}, ErrInvalid
		}
	}
	l := Latency{BoundsNs: append([]int64(nil), boundsNs...), Counts: append([]uint64(nil), counts...)}
	for _, c := range counts {
		if l.Count+c < l.Count {
			return Latency{}, ErrInvalid
		}
		l.Count += c
	}
	l.P50Ns = l.quantile(0.50)
	l.P99Ns = l.quantile(0.99)
	return l, nil
}

// quantile estimates the q-quantile by linear interpolation inside its
// bucket (the first bucket starts at 0).
func (l *Latency) quantile(q float64) int64 {
	if l.Count == 0 {
		return 0
	}
	rank := q * float64(l.Count)
	var cum float64
	for i, c := range l.Counts {
		if c == 0 {
			continue
		}
		next := cum + float64(c)
		if next >= rank {
			if i == len(l.BoundsNs) {
				return l.BoundsNs[i-1]
			}
			lo := 0.0
			if i > 0 {
				lo = float64(l.BoundsNs[i-1])
			}
			hi := float64(l.BoundsNs[i])
			frac := (rank - cum) / float64(c)
			return int64(math.Round(lo + float64(frac*(hi-lo))))
		}
		cum = next
	}
	return l.BoundsNs[len(l.BoundsNs)-1]
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// NewAccelerator returns an Accelerator with its strings bounded.
func NewAccelerator(backend string, degraded, healthy bool, detail string) *Accelerator {
	return &Accelerator{Backend: truncate(backend, BackendBytesMax), Degraded: degraded, Healthy: healthy,
		Detail: truncate(detail, DetailBytesMax)}
}
