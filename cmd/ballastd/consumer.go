package main

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/ballast-risk/ballast/engine"
	"github.com/ballast-risk/ballast/feedhandler/ring"
)

// consumerBatchMax bounds the ticks taken from the ring per batch.
const consumerBatchMax = 256

// mark is the latest top of book of one instrument as the ticks carried it.
// Prices are ITCH price units (1/10,000); 0 means none.
type mark struct {
	bid, ask         int64
	bidSize, askSize int64
	last             int64
	flags            uint32 // ring.Flag* of the latest tick
	exchangeNs       uint64 // ITCH timestamp of the latest update
	recvNs           int64  // local receive time of the latest update
	ticks            uint64 // ticks applied to this instrument
}

func (m *mark) stale() bool  { return m.flags&ring.FlagStale != 0 }
func (m *mark) halted() bool { return m.flags&ring.FlagHalted != 0 }

// consumer drains the feed handler's tick ring into a marks table indexed by
// instrument (the feed's stock locate) and measures how long each tick took
// from the packet's arrival to here. It stands where the risk engine takes
// its marks.
//
// Run is the ring's only consumer. The table and the histograms are guarded
// by mu, taken once per batch of ticks, so that the stats reporter can read
// them; the batch size bounds how long the reporter can be kept waiting.
type consumer struct {
	ticks *ring.Ring[ring.Tick]
	now   func() int64 // the clock of ring.Tick.RecvNs (source.Now)

	mu       sync.Mutex
	marks    []mark // index: instrument; bounded by the universe size
	count    uint64 // ticks consumed
	unknown  uint64 // ticks for instruments outside the universe
	interval latencyHist
	total    latencyHist

	// eng, when set, takes every tick as a mark (engine.ApplyTick).
	eng *engine.Engine
	// lastNs is the consumer clock at the latest tick (0: none yet).
	lastNs atomic.Int64
}

// newConsumer returns a consumer of ticks for instruments 0..instruments-1.
func newConsumer(ticks *ring.Ring[ring.Tick], instruments int, now func() int64) *consumer {
	return &consumer{ticks: ticks, now: now, marks: make([]mark, instruments)}
}

// Run consumes ticks until the ring is closed and drained.
func (c *consumer) Run() {
	buf := make([]ring.Tick, consumerBatchMax)
	for {
		n, err := c.ticks.PollWait(buf)
		if n > 0 {
			c.apply(buf[:n], c.now())
		}
		if errors.Is(err, ring.ErrClosed) {
			return
		}
	}
}

// apply folds a batch of ticks, dequeued at now, into the table.
func (c *consumer) apply(batch []ring.Tick, now int64) {
	c.mu.Lock()
	for i := range batch {
		t := &batch[i]
		lat := now - t.RecvNs
		c.interval.Record(lat)
		c.total.Record(lat)
		c.count++
		if uint64(t.Instrument) >= uint64(len(c.marks)) {
			c.unknown++
			continue
		}
		m := &c.marks[t.Instrument]
		m.bid, m.ask = t.Bid, t.Ask
		m.bidSize, m.askSize = int64(t.BidSize), int64(t.AskSize)
		m.last = t.Last
		m.flags = t.Flags
		m.exchangeNs = t.ExchangeNs
		m.recvNs = t.RecvNs
		m.ticks++
	}
	c.mu.Unlock()
	if c.eng != nil {
		for i := range batch {
			c.eng.ApplyTick(&batch[i])
		}
	}
	if len(batch) > 0 {
		c.lastNs.Store(now)
	}
}

// consumerStats is what the reporter reads from a consumer.
type consumerStats struct {
	ticks, unknown uint64
	marked         int // instruments with at least one tick
	staleMarks     int // marked instruments whose latest tick is stale
	haltedMarks    int // marked instruments whose latest tick is halted
	// p50, p99 and max are tick latencies in nanoseconds, over the
	// interval (interval) or since start (totals).
	p50, p99, max int64
	samples       uint64
	shown         []shownMark // the first marked instruments, in order
}

// shownMark is one mark selected for display.
type shownMark struct {
	instrument uint32
	mark
}

// stats returns the counters, the latency quantiles since the last
// interval stats call (or since start with totals) and up to shownMax marks;
// without totals it starts a new interval.
func (c *consumer) stats(shownMax int, totals bool) consumerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := consumerStats{ticks: c.count, unknown: c.unknown}
	for i := range c.marks {
		m := &c.marks[i]
		if m.ticks == 0 {
			continue
		}
		s.marked++
		if m.stale() {
			s.staleMarks++
		}
		if m.halted() {
			s.haltedMarks++
		}
		if len(s.shown) < shownMax {
			s.shown = append(s.shown, shownMark{instrument: uint32(i), mark: *m})
		}
	}
	h := &c.interval
	if totals {
		h = &c.total
	}
	s.p50, s.p99, s.max, s.samples = h.Quantile(0.50), h.Quantile(0.99), h.Max(), h.Count()
	if !totals {
		c.interval.Reset()
	}
	return s
}

// markOf returns the mark of instrument i and whether any tick reached it.
func (c *consumer) markOf(i uint16) (mark, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(i) >= len(c.marks) || c.marks[i].ticks == 0 {
		return mark{}, false
	}
	return c.marks[i], true
}
