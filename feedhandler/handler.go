// Package feedhandler turns MoldUDP64/ITCH 5.0 packets into order books and
// top-of-book ticks.
//
// The pipeline, one goroutine end to end:
//
//	source.Source ─► Handler.HandlePacket ─► moldudp64.Sequencer (per session)
//	    ─► itch.Message.Decode ─► book.Books.Apply ─► ring.Ring[ring.Tick]
//
// The Handler owns no goroutine and no clock: callers (a replay loop, the
// appliance's receive loop, tests) feed it packets and poll it with their own
// notion of now, so the same code serves pcap replay and live feeds.
package feedhandler

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// Bounds.
const (
	// SessionsMaxDefault is the default bound on distinct MoldUDP64 sessions.
	SessionsMaxDefault = 16
	// SessionsMaxLimit is the largest SessionsMax accepted.
	SessionsMaxLimit = 1024
	// locatesMax is the number of distinct ITCH stock locate codes.
	locatesMax = 1 << 16
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("feedhandler: invalid config")

// Config configures a Handler. Zero values take the defaults.
type Config struct {
	// Books bounds the order books; zero takes book.DefaultConfig().
	Books book.Config
	// Sequencer is the template for each session's sequencer. Its Handler
	// and Events are set by the Handler; a nil Requester selects replay
	// mode (gaps are reported and skipped at once).
	Sequencer moldudp64.Config
	// SessionsMax bounds the distinct sessions tracked at once; packets of
	// further sessions are counted as errors.
	SessionsMax int
	// Ticks receives a Tick whenever a book's top changes; nil for none.
	// The Handler is its only producer.
	Ticks *ring.Ring[ring.Tick]
}

// Handler decodes MoldUDP64 packets into order books and ticks. It is not
// safe for concurrent use: one goroutine feeds it and reads its state.
type Handler struct {
	books    *book.Books
	msg      itch.Message
	sessions []session
	last     int // index of the session of the previous packet
	seqCfg   moldudp64.Config
	ticks    *ring.Ring[ring.Tick]
	recvNs   int64
	stale    bool
	pending  pendingSet
	counters Counters
	byType   [256]uint64
	lostGaps []moldudp64.Gap
}

type session struct {
	id  moldudp64.Session
	seq *moldudp64.Sequencer
}

// Counters are the Handler's own counters.
type Counters struct {
	// Packets counts MoldUDP64 packets accepted (heartbeats and
	// end-of-session included; malformed ones excluded).
	Packets uint64
	// Messages counts ITCH messages decoded and applied.
	Messages uint64
	// MalformedPackets counts packets whose MoldUDP64 framing was invalid.
	MalformedPackets uint64
	// BadMessages counts delivered messages that failed ITCH decoding
	// (unknown type or wrong length).
	BadMessages uint64
	// SessionsFull counts packets dropped because SessionsMax sessions
	// were already tracked.
	SessionsFull uint64
	// Ticks counts ticks published to the ring.
	Ticks uint64
	// TicksDeferred counts tick publications deferred because the ring was
	// full; the book's latest top is published once there is room.
	TicksDeferred uint64
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.SessionsMax == 0 {
		cfg.SessionsMax = SessionsMaxDefault
	}
	if cfg.SessionsMax < 1 || cfg.SessionsMax > SessionsMaxLimit {
		return nil, fmt.Errorf("%w: SessionsMax %d outside 1..%d", ErrConfig, cfg.SessionsMax, SessionsMaxLimit)
	}
	if cfg.Books == (book.Config{}) {
		cfg.Books = book.DefaultConfig()
	}
	books, err := book.New(cfg.Books)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		books:    books,
		sessions: make([]session, 0, cfg.SessionsMax),
		seqCfg:   cfg.Sequencer,
		ticks:    cfg.Ticks,
	}
	h.seqCfg.Handler = (*sink)(h)
	h.seqCfg.Events = (*events)(h)
	// Validate the sequencer template now rather than at the first packet.
	if _, err := moldudp64.NewSequencer(h.seqCfg); err != nil {
		return nil, err
	}
	return h, nil
}

// HandlePacket processes one UDP payload received at p.RecvNs. Malformed
// input is counted, never fatal.
func (h *Handler) HandlePacket(p *source.Packet) {
	h.Feed(p.Data, p.RecvNs)
}

// Feed processes one MoldUDP64 packet received at now (nanoseconds of the
// clock the caller also passes to Poll).
func (h *Handler) Feed(pkt []byte, now int64) {
	h.recvNs = now
	if h.pending.count > 0 {
		h.flushPending()
	}
	hdr, err := moldudp64.ParseHeader(pkt)
	if err != nil {
		h.counters.MalformedPackets++
		return
	}
	s := h.sessionFor(hdr.Session, now)
	if s == nil {
		h.counters.SessionsFull++
		return
	}
	if err := s.Feed(pkt, now); err != nil {
		// The sequencer validated the framing; it counts the packet as
		// malformed (or foreign) and delivered nothing from it.
		h.counters.MalformedPackets++
		return
	}
	h.counters.Packets++
	h.updateStale()
}

// Poll drives retransmission time-outs at now. Call it every few
// milliseconds on a live feed, and after each batch.
func (h *Handler) Poll(now int64) {
	for i := range h.sessions {
		h.sessions[i].seq.Poll(now)
	}
	if h.pending.count > 0 {
		h.flushPending()
	}
	h.updateStale()
}

func (h *Handler) sessionFor(id moldudp64.Session, now int64) *moldudp64.Sequencer {
	if h.last < len(h.sessions) && h.sessions[h.last].id == id {
		return h.sessions[h.last].seq
	}
	for i := range h.sessions {
		if h.sessions[i].id == id {
			h.last = i
			return h.sessions[i].seq
		}
	}
	if len(h.sessions) == cap(h.sessions) {
		return nil
	}
	seq, err := moldudp64.NewSequencer(h.seqCfg)
	if err != nil {
		// The template was validated in New.
		panic(fmt.Sprintf("feedhandler: sequencer config became invalid: %v", err))
	}
	h.sessions = append(h.sessions, session{id: id, seq: seq})
	h.last = len(h.sessions) - 1
	return seq
}

// sink receives in-order messages from the sequencers.
type sink Handler

// Message decodes and applies one in-sequence ITCH message.
func (k *sink) Message(_ uint64, msg []byte) {
	h := (*Handler)(k)
	if err := h.msg.Decode(msg); err != nil {
		h.counters.BadMessages++
		return
	}
	h.counters.Messages++
	h.byType[h.msg.Type]++
	locate, changed := h.books.Apply(&h.msg)
	if changed && h.ticks != nil {
		h.publish(locate, h.msg.Timestamp, h.msg.Type)
	}
}

// events receives the sequencers' gap events.
type events Handler

func (e *events) GapOpened(moldudp64.Gap)    {}
func (e *events) GapRecovered(moldudp64.Gap) {}

func (e *events) GapLost(g moldudp64.Gap) {
	h := (*Handler)(e)
	// Retained for the summary even after a session's sequencer forgets it.
	if len(h.lostGaps) < gapsRetainedMax {
		h.lostGaps = append(h.lostGaps, g)
	}
}

func (e *events) SessionEnded(moldudp64.Session, uint64) {}

// gapsRetainedMax bounds the lost gaps kept for the summary.
const gapsRetainedMax = 4096

// updateStale recomputes staleness; on a change every book gets a tick so
// consumers see the new flag.
func (h *Handler) updateStale() {
	stale := false
	for i := range h.sessions {
		if h.sessions[i].seq.Stale() {
			stale = true
			break
		}
	}
	if stale == h.stale {
		return
	}
	h.stale = stale
	if h.ticks == nil {
		return
	}
	h.books.Each(func(locate uint16, _ [8]byte, _ book.Top) {
		h.pending.add(locate)
	})
	h.flushPending()
}

// Stale reports whether any session has an unrecovered gap (or a lost gap
// not yet cleared with ClearStale): book prices may be wrong.
func (h *Handler) Stale() bool { return h.stale }

// ClearStale declares the books trustworthy again after lost gaps (for
// example after a snapshot); outstanding gaps keep the feed stale.
func (h *Handler) ClearStale() {
	for i := range h.sessions {
		h.sessions[i].seq.ClearStale()
	}
	h.updateStale()
}

// publish sends the top of locate's book to the ring, or defers it while the
// ring is full (conflation: only the latest top of each book matters). The
// tick is written in place into a claimed slot: pushing a Tick value would
// copy it through the call's argument area, and reading back those fresh
// overlapping stores stalls the store-to-load forwarding of the copy, about
// 30 ns of every hand-off (BenchmarkHandoffLatency vs
// BenchmarkHandoffLatencyInPlace).
func (h *Handler) publish(locate uint16, exchNs uint64, typ byte) {
	if h.pending.count > 0 && h.pending.has(locate) {
		return // already queued; the flush sends the latest top
	}
	top, ok := h.books.Top(locate)
	if !ok {
		return
	}
	c := h.ticks.Claim(1)
	if c.Len() == 0 {
		h.counters.TicksDeferred++
		h.pending.add(locate)
		return
	}
	t := c.At(0)
	h.fillTick(t, locate, &top, exchNs)
	if typ == itch.TypeOrderExecuted || typ == itch.TypeOrderExecutedWithPrice ||
		typ == itch.TypeTrade || typ == itch.TypeCrossTrade {
		t.Flags |= ring.FlagTrade
	}
	h.ticks.Publish(1)
	h.counters.Ticks++
}

// fillTick writes every field of t (a claimed slot still holds an older
// tick) from the top of locate's book.
func (h *Handler) fillTick(t *ring.Tick, locate uint16, top *book.Top, exchNs uint64) {
	var flags uint32
	if h.stale {
		flags |= ring.FlagStale
	}
	if top.Halted {
		flags |= ring.FlagHalted
	}
	t.Instrument = uint32(locate)
	t.Flags = flags
	t.Bid = int64(top.Bid)
	t.Ask = int64(top.Ask)
	t.BidSize = ring.Shares(top.BidSize)
	t.AskSize = ring.Shares(top.AskSize)
	t.Last = int64(top.Last)
	t.ExchangeNs = exchNs
	t.RecvNs = h.recvNs
}

// flushPending publishes deferred tops while the ring has room.
func (h *Handler) flushPending() {
	if h.ticks == nil {
		h.pending = pendingSet{}
		return
	}
	h.pending.each(func(locate uint16) bool {
		top, ok := h.books.Top(locate)
		if !ok {
			return true // the book vanished (Reset): nothing to send
		}
		c := h.ticks.Claim(1)
		if c.Len() == 0 {
			return false
		}
		h.fillTick(c.At(0), locate, &top, 0)
		h.ticks.Publish(1)
		h.counters.Ticks++
		return true
	})
}

// pendingSet is a bitset of locates whose latest top still has to be
// published. It is fixed-size (8 KiB) so marking never allocates.
type pendingSet struct {
	words [locatesMax / 64]uint64
	count int
}

func (p *pendingSet) has(l uint16) bool { return p.words[l>>6]&(1<<(l&63)) != 0 }

func (p *pendingSet) add(l uint16) {
	if !p.has(l) {
		p.words[l>>6] |= 1 << (l & 63)
		p.count++
	}
}

// each calls fn for pending locates in ascending order, removing each one
// fn accepts; it stops at the first refusal.
func (p *pendingSet) each(fn func(uint16) bool) {
	for w := 0; w < len(p.words) && p.count > 0; w++ {
		for p.words[w] != 0 {
			b := bits.TrailingZeros64(p.words[w])
			if !fn(uint16(w<<6 | b)) {
				return
			}
			p.words[w] &^= 1 << b
			p.count--
		}
	}
}

// Books returns the Handler's order books (read them from the feeding
// goroutine only).
func (h *Handler) Books() *book.Books { return h.books }

// Counters returns the Handler's own counters.
func (h *Handler) Counters() Counters { return h.counters }

// SequencerStats returns the counters of every session's sequencer, summed.
func (h *Handler) SequencerStats() moldudp64.Stats {
	var t moldudp64.Stats
	for i := range h.sessions {
		s := h.sessions[i].seq.Stats()
		t.Packets += s.Packets
		t.Heartbeats += s.Heartbeats
		t.EndOfSession += s.EndOfSession
		t.Malformed += s.Malformed
		t.OtherSession += s.OtherSession
		t.Sessions += s.Sessions
		t.Messages += s.Messages
		t.Duplicates += s.Duplicates
		t.Late += s.Late
		t.Recovered += s.Recovered
		t.GapsOpened += s.GapsOpened
		t.GapsRecovered += s.GapsRecovered
		t.GapsLost += s.GapsLost
		t.GapsDropped += s.GapsDropped
		t.LostMessages += s.LostMessages
		t.Overflows += s.Overflows
		t.Requests += s.Requests
		t.RequestErrors += s.RequestErrors
		t.RequestedMessages += s.RequestedMessages
		t.Timeouts += s.Timeouts
	}
	return t
}

// Summary returns the replay summary of DESIGN §5.1. srcStats are the
// source's counters (malformed frames are errors; non-UDP frames skipped).
func (h *Handler) Summary(srcStats source.Stats) Summary {
	seq := h.SequencerStats()
	bs := h.books.Stats()
	s := Summary{
		Packets: h.counters.Packets,
		// Messages delivered by a sequencer but not decodable are errors.
		Messages: h.counters.Messages,
		ByType:   make(map[string]uint64),
		// A message arriving after its gap was declared lost carries a
		// sequence number the replay has already moved past: in replay
		// mode it is a duplicate of the range already reported missing.
		Duplicates:    seq.Duplicates + seq.Late,
		Errors:        h.counters.MalformedPackets + h.counters.BadMessages + h.counters.SessionsFull + srcStats.Malformed,
		Books:         make(map[string]BookSummary),
		UnknownOrders: bs.UnknownOrder,
		Skipped:       srcStats.Skipped,
	}
	for t, n := range h.byType {
		if n > 0 {
			s.ByType[string(rune(t))] = n
		}
	}
	for _, g := range h.lostGaps {
		s.Gaps = append(s.Gaps, Gap{Session: trimSpaces(g.Session[:]), First: g.First, Last: g.Last})
	}
	if kept := uint64(len(h.lostGaps)); kept < seq.GapsLost {
		s.GapsOmitted = seq.GapsLost - kept
	}
	for i := range h.sessions {
		if ended, _ := h.sessions[i].seq.Ended(); ended {
			s.EndOfSession = true
		}
	}
	h.books.Each(func(locate uint16, symbol [8]byte, t book.Top) {
		name := trimSpaces(symbol[:])
		if name == "" {
			name = fmt.Sprintf("#%d", locate)
		}
		s.Books[name] = BookSummary{
			Locate:  locate,
			Bid:     priceOrNil(uint64(t.Bid)),
			BidSize: t.BidSize,
			Ask:     priceOrNil(uint64(t.Ask)),
			AskSize: t.AskSize,
			Last:    priceOrNil(uint64(t.Last)),
			Orders:  uint64(t.Orders),
		}
	})
	return s
}

func trimSpaces(b []byte) string {
	n := len(b)
	for n > 0 && (b[n-1] == ' ' || b[n-1] == 0) {
		n--
	}
	return string(b[:n])
}
