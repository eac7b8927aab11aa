package moldudp64

import (
	"errors"
	"fmt"
	"time"
)

// Sequencer defaults and bounds.
const (
	// RequestTimeoutDefault is the default time to wait for a response
	// before re-sending a request.
	RequestTimeoutDefault = 50 * time.Millisecond
	// RequestRetriesDefault is the default number of re-sends after the
	// first request before a gap is declared lost.
	RequestRetriesDefault = 3
	// RequestRetriesMax bounds Config.RequestRetries.
	RequestRetriesMax = 100
	// RequestMessagesDefault is the default number of messages asked for in
	// one request.
	RequestMessagesDefault = 1024
	// BufferedMessagesDefault is the default bound on out-of-order messages
	// held while a gap is recovered.
	BufferedMessagesDefault = 1 << 16
	// BufferedMessagesLimit bounds Config.BufferedMessagesMax.
	BufferedMessagesLimit = 1 << 24
	// BufferedBytesDefault is the default bound on the bytes of buffered
	// messages.
	BufferedBytesDefault = 4 << 20
	// BufferedBytesLimit bounds Config.BufferedBytesMax.
	BufferedBytesLimit = 1 << 30
	// OpenGapsDefault is the default bound on distinct missing ranges
	// tracked at once.
	OpenGapsDefault = 64
	// OpenGapsLimit bounds Config.OpenGapsMax.
	OpenGapsLimit = 4096
	// LostGapsDefault is the default number of lost gaps retained for
	// reporting.
	LostGapsDefault = 1024
	// LostGapsLimit bounds Config.LostGapsMax.
	LostGapsLimit = 1 << 16
)

// ErrOtherSession reports a packet for a session other than the current
// one; the packet is counted and ignored.
var ErrOtherSession = errors.New("moldudp64: packet for another session")

// Handler receives the messages of a session in sequence order, each exactly
// once. msg aliases the packet or the Sequencer's buffer and is valid only
// during the call. The handler must not call back into the Sequencer's Feed,
// Poll or Reset.
type Handler interface {
	Message(seq uint64, msg []byte)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(seq uint64, msg []byte)

// Message calls f.
func (f HandlerFunc) Message(seq uint64, msg []byte) { f(seq, msg) }

// Requester sends a retransmission request to a re-request server. It is
// called from Feed and Poll; it must not block for long (a UDP send).
type Requester interface {
	Request(session Session, seq uint64, count uint16) error
}

// Gap is an inclusive range of missing sequence numbers of a session.
type Gap struct {
	// Session is the session the sequence numbers belong to.
	Session Session
	// First and Last are the first and last missing sequence numbers.
	First, Last uint64
}

// Messages returns the number of sequence numbers in the gap.
func (g Gap) Messages() uint64 { return g.Last - g.First + 1 }

// String formats the gap as "SESSION[first..last]".
func (g Gap) String() string { return fmt.Sprintf("%s[%d..%d]", g.Session, g.First, g.Last) }

// Events receives the Sequencer's state changes, synchronously from Feed,
// Poll or Reset. Embed NopEvents to implement only some of them.
type Events interface {
	// GapOpened reports a newly detected missing range while a re-request
	// server is configured; the feed is stale until it is recovered or lost.
	GapOpened(g Gap)
	// GapRecovered reports a missing range that retransmissions (or late
	// packets) have completely filled. A range that a late in-between packet
	// split in two is reported as two ranges.
	GapRecovered(g Gap)
	// GapLost reports a missing range that will never be delivered: in
	// replay mode every gap, with a re-request server a gap whose retries
	// ran out or that did not fit the buffers.
	GapLost(g Gap)
	// SessionEnded reports the first end-of-session packet of a session;
	// next is the sequence number it announced.
	SessionEnded(s Session, next uint64)
}

// NopEvents implements Events with methods that do nothing.
type NopEvents struct{}

// GapOpened does nothing.
func (NopEvents) GapOpened(Gap) {}

// GapRecovered does nothing.
func (NopEvents) GapRecovered(Gap) {}

// GapLost does nothing.
func (NopEvents) GapLost(Gap) {}

// SessionEnded does nothing.
func (NopEvents) SessionEnded(Session, uint64) {}

// Config configures a Sequencer. Zero values take the defaults.
type Config struct {
	// Handler receives the messages in order. Required.
	Handler Handler
	// Events receives gap and session events; nil for none.
	Events Events
	// Requester sends retransmission requests. Nil selects replay mode:
	// a gap is reported as lost at once and delivery continues at the new
	// sequence number.
	Requester Requester
	// StartSeq is the first sequence number expected of a session. 0 joins
	// the session at the first packet seen (no gap is reported for the
	// messages before it); 1 expects the whole session, so a late join
	// reports (or requests) everything before the first packet.
	StartSeq uint64
	// RequestTimeout is how long to wait for a response before re-sending.
	RequestTimeout time.Duration
	// RequestDelay delays the first request for a new gap, so that packets
	// merely reordered in the network do not cause requests. 0 requests at
	// once.
	RequestDelay time.Duration
	// RequestRetries is how many times a request is re-sent without
	// progress before its gap is declared lost. 0 means the default; use
	// NoRetries for none.
	RequestRetries int
	// RequestMessagesMax bounds the messages asked for in one request,
	// 1..MessageCountMax.
	RequestMessagesMax int
	// BufferedMessagesMax bounds the out-of-order messages held while gaps
	// are recovered (and the span of their sequence numbers).
	BufferedMessagesMax int
	// BufferedBytesMax bounds the bytes of those messages. NewSequencer
	// allocates four times this (a double arena and its compaction spare)
	// when a Requester is set.
	BufferedBytesMax int
	// OpenGapsMax bounds the distinct missing ranges tracked at once; a new
	// range beyond it makes the oldest one lost.
	OpenGapsMax int
	// LostGapsMax bounds the lost gaps retained for Gaps; further ones are
	// only counted (Stats.GapsDropped).
	LostGapsMax int
}

// NoRetries as Config.RequestRetries sends each request once.
const NoRetries = -1

// Stats are the Sequencer's counters.
type Stats struct {
	// Packets counts every packet fed, malformed and foreign ones included.
	Packets uint64
	// Heartbeats counts heartbeat packets of the current session.
	Heartbeats uint64
	// EndOfSession counts end-of-session packets of the current session.
	EndOfSession uint64
	// Malformed counts packets rejected by Validate.
	Malformed uint64
	// OtherSession counts packets ignored because they belong to another
	// session.
	OtherSession uint64
	// Sessions counts sessions joined.
	Sessions uint64
	// Messages counts messages delivered to the Handler.
	Messages uint64
	// Duplicates counts messages whose sequence number was already
	// delivered or buffered.
	Duplicates uint64
	// Late counts messages that arrived after their gap was declared lost
	// (not delivered).
	Late uint64
	// Recovered counts messages that filled a gap (retransmitted or late).
	Recovered uint64
	// GapsOpened counts missing ranges detected with a re-request server.
	GapsOpened uint64
	// GapsRecovered counts missing ranges completely filled.
	GapsRecovered uint64
	// GapsLost counts missing ranges declared lost.
	GapsLost uint64
	// GapsDropped counts lost gaps not retained because LostGapsMax was
	// reached.
	GapsDropped uint64
	// LostMessages counts the sequence numbers in lost gaps.
	LostMessages uint64
	// Overflows counts gaps declared lost because the buffers or the open
	// gap bound were full.
	Overflows uint64
	// Requests counts retransmission requests sent.
	Requests uint64
	// RequestErrors counts requests the Requester failed to send.
	RequestErrors uint64
	// RequestedMessages counts messages asked for.
	RequestedMessages uint64
	// Timeouts counts requests that timed out.
	Timeouts uint64
}

// hole is a missing range [first, last] being recovered.
type hole struct {
	first, last uint64
	// openFirst, openLast are the range when it was opened or split.
	openFirst, openLast uint64
	// dueNs is when the next request is due (first send or time-out).
	dueNs int64
	// reqLast is the last sequence number of the outstanding request;
	// sentFirst is first at that request (to see progress).
	reqLast, sentFirst uint64
	// tries counts sends without progress; 0 before the first send.
	tries int
	// exhausted marks a range whose retries ran out; it is declared lost
	// when it becomes the oldest range.
	exhausted bool
}

// slot holds one buffered message; seq 0 marks a free slot.
type slot struct {
	seq uint64
	off uint32
	n   uint32
}

// Sequencer is the receiver-side state of a MoldUDP64 session. Feed it every
// downstream packet (live and retransmitted alike) and call Poll
// periodically; it delivers each message exactly once, in sequence order,
// to the Handler. It allocates only in NewSequencer and is not safe for
// concurrent use: call Feed, Poll and the accessors from one goroutine.
//
// Session rule: the first valid packet fixes the session. Packets of another
// session are counted (Stats.OtherSession) and ignored, except after the
// current session's end-of-session packet: then a packet of a new session
// starts it (outstanding gaps of the old one are declared lost first). Reset
// forgets the session, for a receiver that must follow a restarted sender.
//
// Staleness: the feed is stale while any gap is outstanding, and after a gap
// is declared lost it stays stale until ClearStale (the caller decides when
// its books are trustworthy again, e.g. after a snapshot).
type Sequencer struct {
	handler  Handler
	events   Events
	req      Requester
	startSeq uint64

	timeoutNs  int64
	delayNs    int64
	retriesMax int
	reqMax     int
	gapsOpen   int
	gapsMax    int

	session     Session
	haveSession bool
	expected    uint64 // next sequence number to deliver
	high        uint64 // one past the highest sequence number known to exist
	ended       bool
	endNext     uint64
	latched     bool

	holes []hole // sorted, disjoint, within [expected, high)

	// Out-of-order buffer. Every sequence number in [expected, high) is
	// either in a hole or buffered; buffered ones span fewer than len(slots)
	// so seq % len(slots) is unique among them.
	slots    []slot
	bufCount int
	bufBytes int
	bufMax   uint64
	arena    []byte // bump-allocated; compacted into scratch when full
	arenaEnd int
	scratch  []byte
	bytesMax int
	// compactions counts arena compactions (for tests).
	compactions int

	gaps  []Gap
	stats Stats
	it    Iterator
}

// NewSequencer returns a Sequencer for cfg.
func NewSequencer(cfg Config) (*Sequencer, error) {
	if cfg.Handler == nil {
		return nil, errors.New("moldudp64: Config.Handler is nil")
	}
	s := &Sequencer{
		handler:  cfg.Handler,
		events:   cfg.Events,
		req:      cfg.Requester,
		startSeq: cfg.StartSeq,
	}
	if s.events == nil {
		s.events = NopEvents{}
	}
	var err error
	pick := func(v, def, lo, hi int, name string) int {
		if v == 0 {
			v = def
		}
		if (v < lo || v > hi) && err == nil {
			err = fmt.Errorf("moldudp64: %s %d outside %d..%d", name, v, lo, hi)
		}
		return v
	}
	s.gapsMax = pick(cfg.LostGapsMax, LostGapsDefault, 1, LostGapsLimit, "LostGapsMax")
	if cfg.Requester == nil {
		if err != nil {
			return nil, err
		}
		s.gaps = make([]Gap, 0, s.gapsMax)
		return s, nil
	}
	s.retriesMax = pick(cfg.RequestRetries, RequestRetriesDefault, NoRetries, RequestRetriesMax, "RequestRetries")
	if s.retriesMax == NoRetries {
		s.retriesMax = 0
	}
	s.reqMax = pick(cfg.RequestMessagesMax, RequestMessagesDefault, 1, MessageCountMax, "RequestMessagesMax")
	s.gapsOpen = pick(cfg.OpenGapsMax, OpenGapsDefault, 1, OpenGapsLimit, "OpenGapsMax")
	n := pick(cfg.BufferedMessagesMax, BufferedMessagesDefault, 1, BufferedMessagesLimit, "BufferedMessagesMax")
	s.bytesMax = pick(cfg.BufferedBytesMax, BufferedBytesDefault, 1, BufferedBytesLimit, "BufferedBytesMax")
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = RequestTimeoutDefault
	}
	if cfg.RequestTimeout < 0 || cfg.RequestDelay < 0 {
		return nil, errors.New("moldudp64: negative RequestTimeout or RequestDelay")
	}
	if err != nil {
		return nil, err
	}
	s.gaps = make([]Gap, 0, s.gapsMax)
	s.timeoutNs = int64(cfg.RequestTimeout)
	s.delayNs = int64(cfg.RequestDelay)
	s.holes = make([]hole, 0, s.gapsOpen)
	s.slots = make([]slot, n)
	// Bump allocation in an arena twice the live bound keeps compaction
	// amortised O(1) per byte.
	s.arena = make([]byte, 2*s.bytesMax)
	s.scratch = make([]byte, 2*s.bytesMax)
	return s, nil
}

// Feed processes one downstream packet received at now (nanoseconds of the
// caller's monotonic clock). It returns the Validate error for a malformed
// packet, ErrOtherSession for a packet of another session, nil otherwise;
// all are counted and none is fatal.
func (s *Sequencer) Feed(pkt []byte, now int64) error {
	s.stats.Packets++
	h, err := Validate(pkt)
	if err != nil {
		s.stats.Malformed++
		return err
	}
	if !s.haveSession || h.Session != s.session {
		if s.haveSession && !s.ended {
			s.stats.OtherSession++
			return ErrOtherSession
		}
		s.start(h, now)
	}
	if h.Count == 0 || h.Count == EndOfSession {
		if h.Count == 0 {
			s.stats.Heartbeats++
		} else {
			s.stats.EndOfSession++
			if !s.ended {
				s.ended = true
				s.endNext = h.Seq
				s.events.SessionEnded(s.session, h.Seq)
			}
		}
		s.announce(h.Seq, now)
		if s.req != nil {
			s.service(now)
		}
		return nil
	}
	s.it.resetValid(pkt, h)
	if s.req == nil {
		s.feedReplay(h)
		return nil
	}
	if len(s.holes) == 0 && h.Seq <= s.expected {
		s.deliverRun(h)
		return nil
	}
	s.feedBuffered(h, now)
	s.service(now)
	return nil
}

// start begins the session of h, closing the previous one.
func (s *Sequencer) start(h Header, now int64) {
	for len(s.holes) > 0 {
		s.loseFirst(now)
	}
	s.session = h.Session
	s.haveSession = true
	s.ended = false
	s.endNext = 0
	s.expected = s.startSeq
	if s.expected == 0 {
		s.expected = h.Seq
	}
	s.high = s.expected
	s.stats.Sessions++
}

// announce handles a heartbeat or end of session announcing next.
func (s *Sequencer) announce(next uint64, now int64) {
	if s.req == nil {
		if next > s.expected {
			s.lost(s.expected, next-1)
			s.expected = next
		}
		return
	}
	if next > s.high {
		s.openHole(next-1, now)
		s.high = next
	}
}

// deliverRun delivers a packet that starts at or before expected while no
// gap is open: the common case.
func (s *Sequencer) deliverRun(h Header) {
	if h.Seq < s.expected {
		skip := s.expected - h.Seq
		if skip >= uint64(h.Count) {
			s.countOld(h.Seq, uint64(h.Count))
			return
		}
		s.countOld(h.Seq, skip)
		s.it.Skip(int(skip))
	}
	for seq, msg, ok := s.it.Next(); ok; seq, msg, ok = s.it.Next() {
		s.handler.Message(seq, msg)
	}
	n := h.Next() - s.expected
	s.stats.Messages += n
	s.expected = h.Next()
	if s.high < s.expected {
		s.high = s.expected
	}
}

// feedReplay handles a data packet in replay mode.
func (s *Sequencer) feedReplay(h Header) {
	if h.Seq > s.expected {
		s.lost(s.expected, h.Seq-1)
		s.expected = h.Seq
	}
	s.deliverRun(h)
}

// countOld counts the n messages from first, all below expected: late when
// they fall in a retained lost gap, duplicates otherwise.
func (s *Sequencer) countOld(first, n uint64) {
	last := first + n - 1
	var late uint64
	// Gaps of the current session are retained in increasing order at the
	// end of the list: walk back until they end below first.
	for i := len(s.gaps) - 1; i >= 0; i-- {
		g := &s.gaps[i]
		if g.Session != s.session || g.Last < first {
			break
		}
		lo, hi := max(g.First, first), min(g.Last, last)
		if lo <= hi {
			late += hi - lo + 1
		}
	}
	s.stats.Late += late
	s.stats.Duplicates += n - late
}

// feedBuffered handles a data packet while gaps are open (or the packet
// starts beyond expected) with a re-request server configured.
func (s *Sequencer) feedBuffered(h Header, now int64) {
	for seq, msg, ok := s.it.Next(); ok; seq, msg, ok = s.it.Next() {
		s.place(seq, msg, now)
	}
}

// place handles one message of a data packet in re-request mode. It loops
// when room must be made (the oldest gap declared lost) and retries.
func (s *Sequencer) place(seq uint64, msg []byte, now int64) {
	for {
		switch {
		case seq < s.expected:
			s.countOld(seq, 1)
			return
		case seq == s.expected:
			if len(s.holes) > 0 {
				// The oldest hole starts at expected.
				s.stats.Recovered++
				s.shrinkFront()
			}
			s.handler.Message(seq, msg)
			s.stats.Messages++
			s.expected++
			if s.high < s.expected {
				s.high = s.expected
			}
			s.drain()
			return
		case seq < s.high:
			i := s.findHole(seq)
			if i < 0 {
				s.stats.Duplicates++ // already buffered
				return
			}
			hl := &s.holes[i]
			if seq > hl.first && seq < hl.last && len(s.holes) == s.gapsOpen {
				s.overflow(now) // no room to split the hole
				continue
			}
			if !s.buffer(seq, msg) {
				s.overflow(now)
				continue
			}
			s.stats.Recovered++
			s.fill(i, seq)
			return
		case seq > s.high:
			s.openHole(seq-1, now)
			s.high = seq
		default: // seq == high, beyond the last hole
			if !s.buffer(seq, msg) {
				s.overflow(now)
				continue
			}
			s.high = seq + 1
			return
		}
	}
}

// overflow declares the oldest gap lost to make room.
func (s *Sequencer) overflow(now int64) {
	if len(s.holes) == 0 {
		// Without a hole expected == high and the message is delivered
		// directly, never buffered.
		panic("moldudp64: buffer overflow without an open gap")
	}
	s.stats.Overflows++
	s.loseFirst(now)
}

// openHole opens the missing range [high, last]; the caller then moves high
// past it. When OpenGapsMax ranges are open the oldest is declared lost.
func (s *Sequencer) openHole(last uint64, now int64) {
	if len(s.holes) == s.gapsOpen {
		s.stats.Overflows++
		s.loseFirst(now)
	}
	s.holes = append(s.holes, hole{
		first: s.high, last: last,
		openFirst: s.high, openLast: last,
		dueNs: now + s.delayNs,
	})
	s.stats.GapsOpened++
	s.events.GapOpened(Gap{Session: s.session, First: s.high, Last: last})
}

// findHole returns the index of the hole holding seq, or -1.
func (s *Sequencer) findHole(seq uint64) int {
	for i := range s.holes {
		if seq < s.holes[i].first {
			return -1
		}
		if seq <= s.holes[i].last {
			return i
		}
	}
	return -1
}

// shrinkFront removes the first sequence number of the oldest hole.
func (s *Sequencer) shrinkFront() {
	hl := &s.holes[0]
	if hl.first == hl.last {
		s.recovered(0)
		return
	}
	hl.first++
}

// fill removes seq from hole i, splitting it when seq is inside (the caller
// made room for the split).
func (s *Sequencer) fill(i int, seq uint64) {
	hl := &s.holes[i]
	switch {
	case hl.first == hl.last:
		s.recovered(i)
	case seq == hl.first:
		hl.first++
	case seq == hl.last:
		hl.last--
	default:
		right := *hl
		right.first = seq + 1
		right.openFirst, right.openLast = right.first, right.last
		hl.last = seq - 1
		hl.openFirst, hl.openLast = hl.first, hl.last
		s.holes = append(s.holes, hole{})
		copy(s.holes[i+2:], s.holes[i+1:])
		s.holes[i+1] = right
	}
}

// recovered removes hole i, completely filled.
func (s *Sequencer) recovered(i int) {
	hl := s.holes[i]
	copy(s.holes[i:], s.holes[i+1:])
	s.holes = s.holes[:len(s.holes)-1]
	s.stats.GapsRecovered++
	s.events.GapRecovered(Gap{Session: s.session, First: hl.openFirst, Last: hl.openLast})
}

// loseFirst declares the oldest hole lost and delivers what follows it.
func (s *Sequencer) loseFirst(now int64) {
	hl := s.holes[0]
	if hl.first != s.expected {
		panic("moldudp64: oldest gap does not start at the expected sequence number")
	}
	copy(s.holes, s.holes[1:])
	s.holes = s.holes[:len(s.holes)-1]
	s.lost(hl.first, hl.last)
	s.expected = hl.last + 1
	s.drain()
}

// lost records the lost gap [first, last].
func (s *Sequencer) lost(first, last uint64) {
	g := Gap{Session: s.session, First: first, Last: last}
	s.stats.GapsLost++
	s.stats.LostMessages += last - first + 1
	s.latched = true
	if len(s.gaps) < s.gapsMax {
		s.gaps = append(s.gaps, g)
	} else {
		s.stats.GapsDropped++
	}
	s.events.GapLost(g)
}

// drain delivers the buffered messages that follow expected.
func (s *Sequencer) drain() {
	n := uint64(len(s.slots))
	for s.bufCount > 0 {
		sl := &s.slots[s.expected%n]
		if sl.seq != s.expected {
			break
		}
		msg := s.arena[sl.off : sl.off+sl.n : sl.off+sl.n]
		sl.seq = 0
		s.bufCount--
		s.bufBytes -= len(msg)
		s.handler.Message(s.expected, msg)
		s.stats.Messages++
		s.expected++
	}
	if s.bufCount == 0 {
		s.arenaEnd = 0
	}
}

// minBuffered returns the lowest buffered sequence number. Only valid while
// bufCount > 0: then expected is not buffered but below high, so the oldest
// hole starts at expected and the message after it is buffered.
func (s *Sequencer) minBuffered() uint64 { return s.holes[0].last + 1 }

// fits reports whether a message of size n with sequence number seq can be
// buffered.
func (s *Sequencer) fits(seq uint64, n int) bool {
	if n > s.bytesMax || s.bufBytes+n > s.bytesMax {
		return false
	}
	if s.bufCount == 0 {
		return true
	}
	lo, hi := s.minBuffered(), s.bufMax
	lo = min(lo, seq)
	hi = max(hi, seq)
	return hi-lo < uint64(len(s.slots))
}

// buffer stores msg as seq; false when it does not fit.
func (s *Sequencer) buffer(seq uint64, msg []byte) bool {
	if !s.fits(seq, len(msg)) {
		return false
	}
	if s.arenaEnd+len(msg) > len(s.arena) {
		s.compact()
	}
	sl := &s.slots[seq%uint64(len(s.slots))]
	sl.seq = seq
	sl.off = uint32(s.arenaEnd)
	sl.n = uint32(len(msg))
	s.arenaEnd += copy(s.arena[s.arenaEnd:], msg)
	if s.bufCount == 0 || seq > s.bufMax {
		s.bufMax = seq
	}
	s.bufCount++
	s.bufBytes += len(msg)
	return true
}

// compact moves the buffered messages to the front of the spare arena.
func (s *Sequencer) compact() {
	n := uint64(len(s.slots))
	end := 0
	lo := s.minBuffered()
	for q := lo; q <= s.bufMax; q++ {
		sl := &s.slots[q%n]
		if sl.seq != q {
			continue
		}
		copy(s.scratch[end:], s.arena[sl.off:sl.off+sl.n])
		sl.off = uint32(end)
		end += int(sl.n)
	}
	s.arena, s.scratch = s.scratch, s.arena
	s.arenaEnd = end
	s.compactions++
}

// Poll drives request time-outs and retries at now; call it periodically
// (every few milliseconds, or when a read times out). It does nothing in
// replay mode or while no gap is open.
func (s *Sequencer) Poll(now int64) {
	if s.req == nil || len(s.holes) == 0 {
		return
	}
	s.service(now)
}

// service sends due requests and declares exhausted gaps lost.
func (s *Sequencer) service(now int64) {
	for i := 0; i < len(s.holes); i++ {
		hl := &s.holes[i]
		if hl.exhausted {
			continue
		}
		switch {
		case hl.tries > 0 && hl.reqLast < hl.first:
			// The outstanding request was answered in full: ask for the
			// next chunk at once.
			hl.tries = 0
			s.send(hl, now)
		case now >= hl.dueNs:
			if hl.tries > 0 {
				s.stats.Timeouts++
				if hl.first != hl.sentFirst {
					hl.tries = 0 // progress: not a failed try
				}
			}
			if hl.tries > s.retriesMax {
				hl.exhausted = true
				continue
			}
			s.send(hl, now)
		}
	}
	for len(s.holes) > 0 && s.holes[0].exhausted {
		s.loseFirst(now)
	}
}

// send requests the first chunk of hole hl.
func (s *Sequencer) send(hl *hole, now int64) {
	count := min(hl.last-hl.first+1, uint64(s.reqMax))
	hl.reqLast = hl.first + count - 1
	hl.sentFirst = hl.first
	hl.tries++
	hl.dueNs = now + s.timeoutNs
	s.stats.Requests++
	s.stats.RequestedMessages += count
	if err := s.req.Request(s.session, hl.first, uint16(count)); err != nil {
		s.stats.RequestErrors++
	}
}

// Reset forgets the session: outstanding gaps are declared lost, the buffer
// is emptied, and the next packet starts a session. Stale and the counters
// are kept.
func (s *Sequencer) Reset(now int64) {
	for len(s.holes) > 0 {
		s.loseFirst(now)
	}
	s.haveSession = false
	s.ended = false
	s.endNext = 0
	s.expected, s.high = 0, 0
}

// Stale reports whether the feed may be incomplete: a gap is outstanding, or
// a gap was lost since the last ClearStale.
func (s *Sequencer) Stale() bool { return len(s.holes) > 0 || s.latched }

// ClearStale clears the lost-gap latch; Stale stays true while gaps are
// outstanding.
func (s *Sequencer) ClearStale() { s.latched = false }

// Session returns the current session and whether one has started.
func (s *Sequencer) Session() (Session, bool) { return s.session, s.haveSession }

// Expected returns the next sequence number to deliver (0 before the first
// packet when joining at the first packet).
func (s *Sequencer) Expected() uint64 { return s.expected }

// Ended reports whether the current session's end-of-session packet was
// seen, and the next sequence number it announced.
func (s *Sequencer) Ended() (bool, uint64) { return s.ended, s.endNext }

// Gaps returns the retained lost gaps in the order they were declared. The
// slice is the Sequencer's own: read it before the next Feed, Poll or Reset.
func (s *Sequencer) Gaps() []Gap { return s.gaps }

// AppendOpenGaps appends the missing ranges being recovered to dst.
func (s *Sequencer) AppendOpenGaps(dst []Gap) []Gap {
	for _, hl := range s.holes {
		dst = append(dst, Gap{Session: s.session, First: hl.first, Last: hl.last})
	}
	return dst
}

// Buffered returns the number and bytes of out-of-order messages held.
func (s *Sequencer) Buffered() (messages, bytes int) { return s.bufCount, s.bufBytes }

// Stats returns the counters.
func (s *Sequencer) Stats() Stats { return s.stats }
