package dashboard

import (
	"fmt"
	"time"
)

// Provider defaults.
const (
	// DefaultWorst is the worst-accounts list length when
	// ProviderConfig.Worst is 0.
	DefaultWorst = 25
	// DefaultAccountsTTL is how long the account part is cached when
	// ProviderConfig.AccountsTTL is 0.
	DefaultAccountsTTL = 500 * time.Millisecond
	// FeedRateWindow is the window of the feed rates a Provider computes.
	FeedRateWindow = time.Second
)

// ProviderConfig says where a Provider reads each part of the Summary.
// Only Accounts is required; a nil function leaves its section null.
type ProviderConfig struct {
	// Accounts is the account source (an *engine.Engine).
	Accounts AccountSource
	// Worst is the worst-accounts list length (1 to WorstMax; 0:
	// DefaultWorst).
	Worst int
	// AccountsTTL is how long the account part is reused (0:
	// DefaultAccountsTTL; at most CacheTTLMax).
	AccountsTTL time.Duration
	// Epochs is the epoch timeline the caller records each published
	// epoch into (nil: no timeline).
	Epochs *EpochTimeline
	// Feed returns the feed's counters (false: no feed). The Provider
	// fills the rates in from the running totals Packets and Messages.
	Feed func() (Feed, bool)
	// CheckLatency returns the check latency histogram, as
	// httpapi.Server.CheckLatency does (nil: left for the HTTP server,
	// which fills in its own).
	CheckLatency func() (boundsNs []int64, counts []uint64)
	// SBECheckLatency returns the SBE check service-time histogram in the
	// same form (verdict.CheckBucketsNs and verdict.Stats.CheckCounts; nil:
	// Summary.SBECheckLatency stays nil).
	SBECheckLatency func() (boundsNs []int64, counts []uint64)
	// Accelerator returns the accelerator's state (false: unknown).
	Accelerator func() (Accelerator, bool)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Provider builds Summaries for GET /v1/dashboard: its Summary method is
// the value of httpapi.Config.Dashboard. It is safe for concurrent use.
type Provider struct {
	cfg      ProviderConfig
	accounts *Cache[Accounts]
	rates    *RateMeter
}

// NewProvider validates cfg and returns a Provider.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	if cfg.Accounts == nil {
		return nil, fmt.Errorf("%w: nil account source", ErrInvalid)
	}
	if cfg.Worst == 0 {
		cfg.Worst = DefaultWorst
	}
	if cfg.Worst < 1 || cfg.Worst > WorstMax {
		return nil, fmt.Errorf("%w: worst %d not in [1, %d]", ErrInvalid, cfg.Worst, WorstMax)
	}
	if cfg.AccountsTTL == 0 {
		cfg.AccountsTTL = DefaultAccountsTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	src, worst := cfg.Accounts, cfg.Worst
	c, err := NewCache(cfg.AccountsTTL, func() (Accounts, error) { return AccountsSummary(src, worst) }, cfg.Now)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: cfg, accounts: c, rates: NewRateMeter(FeedRateWindow)}, nil
}

// Summary builds the current Summary (the account part from a cache at
// most AccountsTTL old). The returned value is the caller's.
func (p *Provider) Summary() (*Summary, error) {
	a, err := p.accounts.Get()
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	s := &Summary{Generated: now, Accounts: a, Epochs: []EpochPoint{}}
	if p.cfg.Epochs != nil {
		s.Epochs = p.cfg.Epochs.Snapshot()
	}
	if p.cfg.Feed != nil {
		if f, ok := p.cfg.Feed(); ok {
			f.PacketsPerSec, f.MessagesPerSec, f.RatesKnown = p.rates.Observe(now, f.Packets, f.Messages)
			f.StaleReason = truncate(f.StaleReason, DetailBytesMax)
			s.Feed = &f
		}
	}
	if p.cfg.CheckLatency != nil {
		l, err := NewLatency(p.cfg.CheckLatency())
		if err != nil {
			return nil, fmt.Errorf("dashboard: check latency: %w", err)
		}
		s.CheckLatency = &l
	}
	if p.cfg.SBECheckLatency != nil {
		l, err := NewLatency(p.cfg.SBECheckLatency())
		if err != nil {
			return nil, fmt.Errorf("dashboard: SBE check latency: %w", err)
		}
		s.SBECheckLatency = &l
	}
	if p.cfg.Accelerator != nil {
		if a, ok := p.cfg.Accelerator(); ok {
			s.Accelerator = NewAccelerator(a.Backend, a.Degraded, a.Healthy, a.Detail)
		}
	}
	return s, nil
}
