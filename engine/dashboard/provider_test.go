package dashboard

import (
	"errors"
	"github.com/ballast-risk/ballast/engine"
	"sync/atomic"
	"testing"
	"time"
)

func TestProvider(t *testing.T) {
	if _, err := NewProvider(ProviderConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil accounts: %v", err)
	}
	f := &fakeSource{}
	f.add(status(1, 500, 1000))
	f.add(status(2, 5000, 1000))
	if _, err := NewProvider(ProviderConfig{Accounts: f, Worst: WorstMax + 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("worst beyond WorstMax: %v", err)
	}
	if _, err := NewProvider(ProviderConfig{Accounts: f, AccountsTTL: -time.Second}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative TTL: %v", err)
	}

	// Only the account source: the other sections are null, epochs [].
	p, err := NewProvider(ProviderConfig{Accounts: f})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if s.Accounts.Total != 2 || s.Feed != nil || s.CheckLatency != nil || s.SBECheckLatency != nil || s.Accelerator != nil || s.Epochs == nil ||
		len(s.Accounts.Worst) != 2 {
		t.Errorf("minimal summary: %+v", s)
	}

	var clk fakeClock
	clk.ns.Store(1e18)
	var packets atomic.Uint64
	tl, _ := NewEpochTimeline(8)
	tl.Record(5, "vsim", clk.now(), 40*time.Millisecond, 20_000)
	var statusCalls atomic.Int64
	counted := &countingSource{fakeSource: f, calls: &statusCalls}
	p, err = NewProvider(ProviderConfig{Accounts: counted, Worst: 1, Epochs: tl, Now: clk.now,
		Feed: func() (Feed, bool) {
			return Feed{Packets: packets.Load(), Messages: 10 * packets.Load(), GapsLost: 2, StaleReason: string(make([]byte, 999))}, true
		},
		CheckLatency:    func() ([]int64, []uint64) { return []int64{1000, 2000}, []uint64{3, 1, 0} },
		SBECheckLatency: func() ([]int64, []uint64) { return []int64{250, 500, 1000}, []uint64{0, 7, 2, 1} },
		Accelerator:     func() (Accelerator, bool) { return Accelerator{Backend: "fpga", Degraded: true}, true },
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err = p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if s.Feed == nil || s.Feed.RatesKnown || s.Feed.GapsLost != 2 || len(s.Feed.StaleReason) != DetailBytesMax {
		t.Errorf("first feed: %+v", s.Feed)
	}
	if s.CheckLatency == nil || s.CheckLatency.Count != 4 || s.Accelerator == nil || s.Accelerator.Backend != "fpga" ||
		len(s.Epochs) != 1 || s.Epochs[0].ID != 5 || len(s.Accounts.Worst) != 1 || s.Accounts.Worst[0].ID != 1 {
		t.Errorf("summary: %+v", s)
	}
	// The transports' histograms stay apart: their buckets differ.
	if l := s.SBECheckLatency; l == nil || l.Count != 10 || len(l.BoundsNs) != 3 || l.BoundsNs[0] != 250 || l.Counts[1] != 7 ||
		l.P50Ns != 429 /* 250 + 250·5/7 */ || l.P99Ns != 1000 {
		t.Errorf("SBE check latency: %+v", l)
	}
	if !s.Generated.Equal(clk.now()) {
		t.Errorf("generated %v, want the injected clock", s.Generated)
	}
	// Within the TTL the account part is reused; the feed is fresh.
	clk.advance(400 * time.Millisecond)
	packets.Store(4000)
	_, _ = p.Summary()
	clk.advance(600 * time.Millisecond)
	s, _ = p.Summary()
	if got := statusCalls.Load(); got != 4 {
		t.Errorf("%d Status calls for 3 summaries over 1 s with a 500 ms TTL, want 4 (2 passes of 2 accounts)", got)
	}
	if !s.Feed.RatesKnown || s.Feed.PacketsPerSec != 4000 || s.Feed.MessagesPerSec != 40_000 {
		t.Errorf("feed rates: %+v", s.Feed)
	}

	// A bad histogram is an error, not a panic.
	p, _ = NewProvider(ProviderConfig{Accounts: f, CheckLatency: func() ([]int64, []uint64) { return nil, nil }})
	if _, err := p.Summary(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad latency: %v", err)
	}
	p, _ = NewProvider(ProviderConfig{Accounts: f, SBECheckLatency: func() ([]int64, []uint64) { return []int64{2, 1}, []uint64{0, 0, 0} }})
	if _, err := p.Summary(); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad SBE latency: %v", err)
	}
}

type countingSource struct {
	*fakeSource
	calls *atomic.Int64
}

func (c *countingSource) Status(id uint64) (engine.Status, error) {
	c.calls.Add(1)
	return c.fakeSource.Status(id)
}
