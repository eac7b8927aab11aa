package engine

import (
	"errors"
	"math"
	"sync/atomic"

	"github.com/ballast-risk/ballast/feedhandler/ring"
)

// ticksBatchMax bounds the ticks ConsumeTicks takes from the ring at a time.
const ticksBatchMax = 256

// priceScale converts ITCH price units (1/10,000) to currency units.
const priceScale = 10000

// TickStats counts what ApplyTick did.
type TickStats struct {
	// Applied ticks moved or refreshed a mark.
	Applied uint64
	// Unbound ticks came from a locate no underlying is bound to.
	Unbound uint64
	// Empty ticks carried no usable price (empty book, no trade yet).
	Empty uint64
}

type tickCounters struct {
	applied, unbound, empty atomic.Uint64
	t2v                     t2vState // tick-to-verdict (t2v.go)
}

// TickStats returns the tick counters.
func (e *Engine) TickStats() TickStats {
	return TickStats{Applied: e.ticks.applied.Load(), Unbound: e.ticks.unbound.Load(), Empty: e.ticks.empty.Load()}
}

// ApplyTick marks the underlying bound to the tick's locate (BindLocate):
// the mid of the best bid and offer when both sides are quoted and not
// crossed, else the last printable trade; the tick's stale flag (an
// unrecovered feed gap) makes the mark stale, so risk-increasing orders on
// it are refused. A tick without a usable price still carries the flag. It
// returns the underlying, or -1 for an unbound locate.
func (e *Engine) ApplyTick(t *ring.Tick) int {
	if t.Instrument >= uint32(len(e.locates)) {
		e.ticks.unbound.Add(1)
		return -1
	}
	u, ok := e.UnderlyingOfLocate(uint16(t.Instrument))
	if !ok {
		e.ticks.unbound.Add(1)
		return -1
	}
	stale := t.Flags&ring.FlagStale != 0
	var px float64
	switch {
	case t.Bid > 0 && t.Ask > 0 && t.Ask >= t.Bid:
		px = float64(t.Bid+t.Ask) / (2 * priceScale)
	case t.Last > 0:
		px = float64(t.Last) / priceScale
	}
	if px == 0 {
		e.ticks.empty.Add(1)
		e.marks[u].stale.Store(stale)
		return u
	}
	m := &e.marks[u]
	nowNs := e.now().UnixNano()
	m.bits.Store(math.Float64bits(px))
	m.recvNs.Store(t.RecvNs)
	m.updated.Store(nowNs)
	m.stale.Store(stale)
	e.noteTick(u, t.ExchangeNs, nowNs) // after the mark: a check that claims it reads the new mark
	e.ticks.applied.Add(1)
	return u
}

// ConsumeTicks applies every tick of r (the feed handler's ring; the engine
// must be its only consumer) until the ring is closed and drained.
func (e *Engine) ConsumeTicks(r *ring.Ring[ring.Tick]) error {
	buf := make([]ring.Tick, ticksBatchMax)
	for {
		n, err := r.PollWait(buf)
		for i := 0; i < n; i++ {
			e.ApplyTick(&buf[i])
		}
		if errors.Is(err, ring.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// MarkRecvNs returns the receive time (feedhandler/source clock) of the
// packet behind underlying u's current mark: the start of tick-to-verdict
// latency. 0 before the first tick.
func (e *Engine) MarkRecvNs(u int) int64 { return e.marks[u].recvNs.Load() }
