package srcbench

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/latency"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// Pipeline bounds and defaults.
const (
	// RingSlotsDefault is the tick ring's size when RingSlots is 0.
	RingSlotsDefault = 1024
	// RingSlotsMin is the smallest ring: one full batch of packets
	// (feedhandler.BatchMax), each yielding one tick, must fit, or ticks
	// would be conflated and their latency lost.
	RingSlotsMin = feedhandler.BatchMax
	// RingSlotsMax bounds RingSlots.
	RingSlotsMax = 1 << 16
	// StallTimeoutDefault is StallTimeout when 0.
	StallTimeoutDefault = 5 * time.Second
	// StallTimeoutMax bounds StallTimeout.
	StallTimeoutMax = time.Minute
)

// Errors reported by a Pipeline.
var (
	// ErrConfig reports an invalid PipelineConfig or Options.
	ErrConfig = errors.New("srcbench: invalid configuration")
	// ErrStalled reports that no tick arrived within StallTimeout.
	ErrStalled = errors.New("srcbench: no tick within the stall timeout")
	// ErrEnded reports that the source ended before Target ticks arrived.
	ErrEnded = errors.New("srcbench: source ended before the target")
	// ErrRan reports a second Run of a Pipeline.
	ErrRan = errors.New("srcbench: pipeline already ran")
)

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	// Target is the number of ticks Run consumes before it returns; at
	// least 1.
	Target uint64
	// RingSlots is the tick ring's size, a power of two in [RingSlotsMin,
	// RingSlotsMax]; 0 selects RingSlotsDefault.
	RingSlots int
	// StallTimeout makes Run fail with ErrStalled when no tick arrives for
	// this long; 0 selects StallTimeoutDefault. At most StallTimeoutMax.
	StallTimeout time.Duration
	// OnTicks, when set, runs on Run's goroutine after each batch that
	// yielded ticks, with the number consumed so far. It may block: a
	// ping-pong sender is released from it, a drain benchmark pauses the
	// reader in it while it queues the next round.
	OnTicks func(consumed uint64)
}

// Pipeline is the feed handler's receive path with an inline tick consumer:
// feedhandler.Run reads the source and feeds the Handler, which publishes
// ticks to a ring; after each batch the same goroutine polls the ring,
// records each tick's latency (source.Now at the pop minus the tick's
// ExchangeNs, i.e. the sender's stamp) and checks the tick against the
// Feed. Popping on the receive goroutine keeps the measurement to one core;
// a consumer spinning on a core of its own would add the ring's cross-core
// hand-off, the same for every source.
//
// Counters and the latency Recorder may be read once Run has returned; Consumed at
// any time, from any goroutine.
type Pipeline struct {
	cfg      PipelineConfig
	h        *feedhandler.Handler
	ring     *ring.Ring[ring.Tick]
	ticks    []ring.Tick
	lat      *latency.Recorder
	consumed atomic.Uint64
	ran      bool

	wantAdd      bool
	lastExchNs   uint64
	mismatched   uint64
	lastProgress int64
	err          error
	cancel       context.CancelFunc
}

// NewPipeline builds the Handler (sized for the one-book Feed, replay-mode
// sequencing from sequence number 1: a lost packet is reported at once and
// skipped) and the tick ring.
func NewPipeline(cfg PipelineConfig) (*Pipeline, error) {
	if cfg.RingSlots == 0 {
		cfg.RingSlots = RingSlotsDefault
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = StallTimeoutDefault
	}
	switch {
	case cfg.Target < 1:
		return nil, fmt.Errorf("%w: Target %d: want at least 1", ErrConfig, cfg.Target)
	case cfg.RingSlots < RingSlotsMin || cfg.RingSlots > RingSlotsMax || bits.OnesCount(uint(cfg.RingSlots)) != 1:
		return nil, fmt.Errorf("%w: RingSlots %d: want a power of two in [%d, %d]", ErrConfig, cfg.RingSlots, RingSlotsMin, RingSlotsMax)
	case cfg.StallTimeout < 0 || cfg.StallTimeout > StallTimeoutMax:
		return nil, fmt.Errorf("%w: StallTimeout %v outside (0, %v]", ErrConfig, cfg.StallTimeout, StallTimeoutMax)
	}
	r, err := ring.New[ring.Tick](cfg.RingSlots, ring.BusySpin{})
	if err != nil {
		return nil, fmt.Errorf("srcbench: tick ring: %w", err)
	}
	h, err := feedhandler.New(feedhandler.Config{
		Books:       book.Config{OrdersMax: 64, BooksMax: 4, LevelsMax: 16},
		Sequencer:   moldudp64.Config{StartSeq: 1},
		SessionsMax: 1,
		Ticks:       r,
	})
	if err != nil {
		return nil, fmt.Errorf("srcbench: feed handler: %w", err)
	}
	return &Pipeline{
		cfg:     cfg,
		h:       h,
		ring:    r,
		ticks:   make([]ring.Tick, cfg.RingSlots),
		lat:     latency.NewRecorder(),
		wantAdd: true,
	}, nil
}

// Run feeds src through the pipeline until Target ticks were consumed
// (returns nil), ctx is done (ctx.Err()), no tick arrives within
// StallTimeout (ErrStalled), the source ends (ErrEnded) or fails (its
// error). A Pipeline runs once; a second call returns ErrRan.
func (p *Pipeline) Run(ctx context.Context, src source.Source) error {
	if p.ran {
		return ErrRan
	}
	p.ran = true
	ctx, p.cancel = context.WithCancel(ctx)
	defer p.cancel()
	p.lastProgress = source.Now()
	err := feedhandler.Run(ctx, p.h, src, feedhandler.RunOptions{Now: source.Now, AfterBatch: p.afterBatch})
	switch {
	case p.err != nil:
		return p.err
	case p.consumed.Load() >= p.cfg.Target:
		return nil
	case err == nil:
		return fmt.Errorf("%w: %d of %d ticks", ErrEnded, p.consumed.Load(), p.cfg.Target)
	}
	return err
}

// afterBatch is the inline consumer, run by feedhandler.Run after every
// batch.
func (p *Pipeline) afterBatch(*feedhandler.Handler) {
	n := p.ring.Poll(p.ticks)
	now := source.Now()
	if n == 0 {
		if now-p.lastProgress > int64(p.cfg.StallTimeout) {
			p.err = fmt.Errorf("%w: %d of %d ticks, none for %v", ErrStalled, p.consumed.Load(), p.cfg.Target, p.cfg.StallTimeout)
			p.cancel()
		}
		return
	}
	for i := range p.ticks[:n] {
		t := &p.ticks[i]
		p.lat.Record(now - int64(t.ExchangeNs))
		p.check(t)
	}
	c := p.consumed.Add(uint64(n))
	p.lastProgress = now
	if p.cfg.OnTicks != nil {
		p.cfg.OnTicks(c)
		// A blocking OnTicks is not the source's stall.
		p.lastProgress = source.Now()
	}
	if c >= p.cfg.Target {
		p.cancel()
	}
}

// check compares a tick with what the Feed makes the book do next: a bid
// of Shares at Price after an Add Order, an empty book after its delete,
// alternately, with non-decreasing exchange timestamps. After a mismatch it
// resynchronises on the tick it saw.
func (p *Pipeline) check(t *ring.Tick) {
	ok := t.Instrument == uint32(Locate) && t.Ask == 0 && t.AskSize == 0 && t.ExchangeNs >= p.lastExchNs
	if p.wantAdd {
		ok = ok && t.Bid == int64(Price) && t.BidSize == Shares
	} else {
		ok = ok && t.Bid == 0 && t.BidSize == 0
	}
	if !ok {
		p.mismatched++
	}
	p.wantAdd = t.Bid == 0
	p.lastExchNs = t.ExchangeNs
}

// Consumed returns the number of ticks consumed so far. Safe from any
// goroutine: a flood sender reads it to bound the packets in flight.
func (p *Pipeline) Consumed() uint64 { return p.consumed.Load() }

// Latency returns the packet-to-ring latency histogram. Read it after Run.
func (p *Pipeline) Latency() *latency.Recorder { return p.lat }

// Result summarises a finished run.
type Result struct {
	// Ticks is the number of ticks consumed.
	Ticks uint64
	// Packets is the number of MoldUDP64 packets the Handler accepted.
	Packets uint64
	// Mismatched counts ticks that broke the Feed's add/delete alternation
	// or carried the wrong book, price, size or an earlier timestamp. A
	// lost Order Delete leaves its order behind and makes the following
	// ticks mismatch.
	Mismatched uint64
	// LostMessages counts messages the sequencer declared lost (packets the
	// source never delivered).
	LostMessages uint64
	// Rejected counts packets or messages the Handler rejected (malformed
	// framing, undecodable message, foreign session).
	Rejected uint64
	// TicksDeferred counts ticks conflated because the ring was full (0
	// unless RingSlots is too small for a batch).
	TicksDeferred uint64
	// LatencyUnder counts negative latency samples (stamping errors).
	LatencyUnder uint64
}

// Result returns the run's counters. Call it after Run.
func (p *Pipeline) Result() Result {
	c := p.h.Counters()
	return Result{
		Ticks:         p.consumed.Load(),
		Packets:       c.Packets,
		Mismatched:    p.mismatched,
		LostMessages:  p.h.SequencerStats().LostMessages,
		Rejected:      c.MalformedPackets + c.BadMessages + c.SessionsFull,
		TicksDeferred: c.TicksDeferred,
		LatencyUnder:  p.lat.Under(),
	}
}

// Clean reports whether r shows a run in which every packet arrived and
// yielded its expected tick.
func (r Result) Clean() bool {
	return r.Mismatched == 0 && r.LostMessages == 0 && r.Rejected == 0 && r.TicksDeferred == 0 && r.LatencyUnder == 0
}
