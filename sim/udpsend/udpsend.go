// Package udpsend sends a simulated MoldUDP64 feed over UDP: it batches ITCH
// messages into MoldUDP64 packets, paces them at a packet or message rate
// with a token bucket (bounded burst; busy-waiting at high rates, sleeping at
// low ones) or sends as fast as it can, writes packets in batches with
// sendmmsg, records every message in a retransmission store, sends
// heartbeats when idle and an end-of-session packet at the end, and can
// drop packets on purpose (by rate or by index) to exercise gap recovery,
// and can go silent for a while (Silence) to play a feed outage.
package udpsend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"syscall"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"golang.org/x/net/ipv4"
)

// Bounds and defaults.
const (
	// DefaultBatchPackets is the packets per sendmmsg when BatchPackets is 0.
	DefaultBatchPackets = 32
	// BatchPacketsMax bounds Config.BatchPackets.
	BatchPacketsMax = 1024
	// DefaultHeartbeat is the idle time after which a heartbeat goes out
	// (the MoldUDP64 specification suggests about one per second).
	DefaultHeartbeat = time.Second
	// RateMax bounds the configured rates (per second).
	RateMax = 1e9
	// spinGapNs: rates whose token interval is shorter busy-wait.
	spinGapNs = 200_000
	// SilenceMax bounds one Silence.
	SilenceMax = 24 * time.Hour
)

// Errors.
var (
	// ErrConfig reports an unusable Config; the wrapping error says which.
	ErrConfig = errors.New("udpsend: bad config")
	// ErrEnded reports a send after End.
	ErrEnded = errors.New("udpsend: session ended")
)

// Store records every message the sender numbers, dropped or not, so that a
// re-request server can retransmit it. Append is called in sequence order;
// msg is only valid during the call.
type Store interface {
	Append(seq uint64, msg []byte) error
}

// NextFunc appends the feed's next message to dst and returns the extended
// slice and true, or dst and false when the feed has ended.
type NextFunc func(dst []byte) ([]byte, bool)

// Config configures a Sender.
type Config struct {
	// Session is the MoldUDP64 session stamped on every packet.
	Session moldudp64.Session
	// NextSeq is the first message's sequence number; 0 means 1.
	NextSeq uint64
	// PayloadBytesMax bounds a packet (MoldUDP64 header included); 0 means
	// moldudp64.PayloadBytesDefault.
	PayloadBytesMax int
	// MessagesPerPacketMax bounds the messages in one packet; 0: no bound
	// beyond the payload size.
	MessagesPerPacketMax int
	// PacketsPerSec paces data packets (each filled as far as it goes).
	// MessagesPerSec paces messages instead (a packet carries the messages
	// due when it is sent). At most one may be set; neither sends as fast
	// as the socket takes packets.
	PacketsPerSec, MessagesPerSec float64
	// Burst is the token bucket's depth in packets or messages; 0 means
	// one millisecond's worth at the rate, at least 2 (so that a sleep's
	// overshoot is made up).
	Burst float64
	// BatchPackets bounds the packets handed to one sendmmsg; 0 means
	// DefaultBatchPackets.
	BatchPackets int
	// Heartbeat is the idle time after which a heartbeat is sent; 0 means
	// DefaultHeartbeat, negative disables heartbeats.
	Heartbeat time.Duration
	// Store, when set, records every message as it is numbered.
	Store Store
	// DropRate is the probability that a data packet is deliberately not
	// sent (its messages stay in Store).
	DropRate float64
	// DropPackets lists data packets (0-based, in send order) not to send.
	DropPackets []uint64
	// Seed seeds the drop decisions.
	Seed uint64
	// Clock is the time source; nil means RealClock().
	Clock Clock
}

// Stats are a Sender's counters.
type Stats struct {
	// Packets and Messages count data packets and their messages written.
	Packets, Messages uint64
	// Bytes counts UDP payload bytes written, heartbeats included.
	Bytes uint64
	// Heartbeats counts heartbeat packets written.
	Heartbeats uint64
	// EndOfSession counts end-of-session packets written.
	EndOfSession uint64
	// DroppedPackets and DroppedMessages count deliberate drops.
	DroppedPackets, DroppedMessages uint64
	// SendErrors counts packets the socket refused (e.g. ICMP unreachable
	// on a unicast destination); the sender carries on.
	SendErrors uint64
	// Writes counts write system calls (sendmmsg batches).
	Writes uint64
	// NextSeq is the sequence number the next message gets.
	NextSeq uint64
	// Silences counts the silences (outages) played, and SilencedNs their
	// total length by the sender's clock.
	Silences   uint64
	SilencedNs int64
}

// outPacket is a packet waiting in the batch.
type outPacket struct {
	buf  []byte
	msgs uint16
}

// Sender paces MoldUDP64 packets onto a UDP socket. It is not safe for
// concurrent use.
type Sender struct {
	pc     *ipv4.PacketConn
	cfg    Config
	clock  Clock
	pk     *moldudp64.Packetizer
	drop   *Dropper
	batch  []outPacket
	nBatch int
	wmsgs  []ipv4.Message
	ctl    []byte // heartbeat / end-of-session packet

	rate     float64 // tokens per second; 0 = unpaced
	perMsg   bool    // tokens are messages (else packets)
	burst    float64
	tokens   float64
	refillNs int64
	spin     bool
	hbNs     int64
	lastTxNs int64

	msg       []byte // the feed's next message, taken but not yet appended
	held      bool   // msg holds a message
	silenceNs int64  // silence requested before msg goes out
	ended     bool
	stats     Stats
}

// New returns a Sender writing to conn, which must be connected to the
// destination (Dial). The caller keeps ownership of conn.
func New(conn *net.UDPConn, cfg Config) (*Sender, error) {
	if conn == nil {
		return nil, fmt.Errorf("%w: nil conn", ErrConfig)
	}
	if cfg.PacketsPerSec != 0 && cfg.MessagesPerSec != 0 {
		return nil, fmt.Errorf("%w: both PacketsPerSec and MessagesPerSec set", ErrConfig)
	}
	s := &Sender{pc: ipv4.NewPacketConn(conn), cfg: cfg, clock: cfg.Clock}
	if s.clock == nil {
		s.clock = RealClock()
	}
	switch {
	case cfg.PacketsPerSec != 0:
		s.rate = cfg.PacketsPerSec
	case cfg.MessagesPerSec != 0:
		s.rate, s.perMsg = cfg.MessagesPerSec, true
	}
	if !(s.rate >= 0 && s.rate <= RateMax) {
		return nil, fmt.Errorf("%w: rate %v outside (0, %g]", ErrConfig, s.rate, float64(RateMax))
	}
	s.burst = cfg.Burst
	if s.burst == 0 {
		s.burst = math.Max(2, s.rate/1000)
	}
	if !(s.burst >= 1 && s.burst <= 1e6) {
		return nil, fmt.Errorf("%w: Burst %v outside 1..1e6", ErrConfig, cfg.Burst)
	}
	s.tokens = s.burst
	s.spin = s.rate > 0 && 1e9/s.rate < spinGapNs
	n := cfg.BatchPackets
	if n == 0 {
		n = DefaultBatchPackets
	}
	if n < 1 || n > BatchPacketsMax {
		return nil, fmt.Errorf("%w: BatchPackets %d outside 1..%d", ErrConfig, cfg.BatchPackets, BatchPacketsMax)
	}
	switch {
	case cfg.Heartbeat == 0:
		s.hbNs = int64(DefaultHeartbeat)
	case cfg.Heartbeat > 0:
		s.hbNs = int64(cfg.Heartbeat)
	}
	drop, err := NewDropper(cfg.DropRate, cfg.DropPackets, cfg.Seed)
	if err != nil {
		return nil, err
	}
	s.drop = drop
	pk, err := moldudp64.NewPacketizer(moldudp64.PacketizerConfig{Session: cfg.Session, NextSeq: cfg.NextSeq,
		PayloadBytesMax: cfg.PayloadBytesMax, MessagesPerPacketMax: cfg.MessagesPerPacketMax}, s.enqueue)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.pk = pk
	size := cfg.PayloadBytesMax
	if size == 0 {
		size = moldudp64.PayloadBytesDefault
	}
	s.batch = make([]outPacket, n)
	for i := range s.batch {
		s.batch[i].buf = make([]byte, 0, size)
	}
	s.wmsgs = make([]ipv4.Message, n)
	for i := range s.wmsgs {
		s.wmsgs[i].Buffers = make([][]byte, 1)
	}
	s.ctl = make([]byte, 0, moldudp64.HeaderLen)
	s.msg = make([]byte, 0, moldudp64.MessageBytesMax)
	s.lastTxNs = s.clock.Now()
	s.refillNs = s.lastTxNs
	return s, nil
}

// Stats returns the sender's counters.
func (s *Sender) Stats() Stats {
	st := s.stats
	st.NextSeq = s.pk.NextSeq()
	return st
}

// enqueue is the Packetizer's EmitFunc: it copies a finished data packet
// into the batch, writing the batch first when it is full.
func (s *Sender) enqueue(pkt []byte, h moldudp64.Header) error {
	if s.nBatch == len(s.batch) {
		if err := s.writeBatch(); err != nil {
			return err
		}
	}
	p := &s.batch[s.nBatch]
	p.buf = append(p.buf[:0], pkt...)
	p.msgs = h.Count
	s.nBatch++
	return nil
}

// writeBatch writes the batched packets (less deliberate drops).
func (s *Sender) writeBatch() error {
	n := 0
	for i := 0; i < s.nBatch; i++ {
		p := &s.batch[i]
		if s.drop.Next() {
			s.stats.DroppedPackets++
			s.stats.DroppedMessages += uint64(p.msgs)
			continue
		}
		s.wmsgs[n].Buffers[0] = p.buf
		n++
		s.stats.Packets++
		s.stats.Messages += uint64(p.msgs)
		s.stats.Bytes += uint64(len(p.buf))
	}
	s.nBatch = 0
	return s.write(s.wmsgs[:n])
}

// write hands ms to the socket, retrying partial batches. Refusals (ICMP
// errors surfacing on a connected socket) are counted, not fatal.
func (s *Sender) write(ms []ipv4.Message) error {
	for len(ms) > 0 {
		k, err := s.pc.WriteBatch(ms, 0)
		s.stats.Writes++
		if err != nil {
			if !transient(err) {
				return fmt.Errorf("udpsend: write: %w", err)
			}
			// The first packet was refused; skip it and go on.
			s.stats.SendErrors++
			k = max(k, 0) + 1
		}
		ms = ms[min(k, len(ms)):]
	}
	s.lastTxNs = s.clock.Now()
	return nil
}

func transient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH)
}

// writeControl writes a heartbeat or end-of-session packet now.
func (s *Sender) writeControl(pkt []byte) error {
	s.wmsgs[0].Buffers[0] = pkt
	s.stats.Bytes += uint64(len(pkt))
	return s.write(s.wmsgs[:1])
}

// Append numbers msg, records it in the store and adds it to the current
// packet; full packets are batched and written as the batch fills. Append
// does not pace: Run does. It returns msg's sequence number.
func (s *Sender) Append(msg []byte) (uint64, error) {
	if s.ended {
		return 0, ErrEnded
	}
	seq, err := s.pk.Append(msg)
	if err != nil {
		return 0, err
	}
	if s.cfg.Store != nil {
		if err := s.cfg.Store.Append(seq, msg); err != nil {
			return seq, fmt.Errorf("udpsend: store: %w", err)
		}
	}
	return seq, nil
}

// Flush closes the current packet and writes every batched packet.
func (s *Sender) Flush() error {
	if err := s.pk.Flush(); err != nil {
		return err
	}
	if s.nBatch == 0 {
		return nil
	}
	return s.writeBatch()
}

// Heartbeat writes any batched packets, then a heartbeat announcing the
// first message not yet written; messages in the open packet stay there.
func (s *Sender) Heartbeat() error {
	if s.ended {
		return ErrEnded
	}
	if s.nBatch > 0 {
		if err := s.writeBatch(); err != nil {
			return err
		}
	}
	next := s.pk.NextSeq() - uint64(s.pk.Pending())
	s.ctl = moldudp64.AppendHeartbeat(s.ctl[:0], s.cfg.Session, next)
	s.stats.Heartbeats++
	return s.writeControl(s.ctl)
}

// End flushes and sends the end-of-session packet; later sends fail with
// ErrEnded. Calling End again resends the end-of-session packet.
func (s *Sender) End() error {
	if !s.ended {
		if err := s.Flush(); err != nil {
			return err
		}
		s.ended = true
	}
	s.ctl = s.pk.AppendEndOfSession(s.ctl[:0])
	s.stats.EndOfSession++
	return s.writeControl(s.ctl)
}

// Silence makes the sender go quiet for d of its clock, as an exchange's
// feed does in an outage: the packets already built (the open one included)
// are written, then nothing at all is sent (no data, no heartbeats) until d
// has passed; sending then resumes with the next sequence number, so a
// receiver sees silence, not a gap. Call it on the sending goroutine, from
// the NextFunc before it returns the first message after the outage's start:
// that message goes out after the silence. Requests made before a silence
// starts add up; d is clamped to SilenceMax, and d <= 0 does nothing.
func (s *Sender) Silence(d time.Duration) {
	if d > 0 {
		s.silenceNs = min(s.silenceNs+int64(min(d, SilenceMax)), int64(SilenceMax))
	}
}

// silence plays a requested silence: flush, then wait without sending.
// Cancelled, it keeps the rest of the silence for the next Run.
func (s *Sender) silence(ctx context.Context) error {
	d := s.silenceNs
	if err := s.Flush(); err != nil {
		return err
	}
	start := s.clock.Now()
	end := start + d
	for now := start; now < end; now = s.clock.Now() {
		if err := ctx.Err(); err != nil {
			s.silenceNs = end - now
			return err
		}
		s.clock.WaitUntil(end, false)
	}
	s.silenceNs = 0
	now := s.clock.Now()
	// Pacing and the heartbeat timer restart: no burst of tokens earned
	// while silent, and no heartbeat owed for the silence.
	s.refillNs = now
	s.lastTxNs = now
	s.stats.Silences++
	s.stats.SilencedNs += d
	return nil
}

// refill adds the tokens earned since the last refill, up to the burst.
func (s *Sender) refill(now int64) {
	s.tokens = math.Min(s.burst, s.tokens+float64(now-s.refillNs)*s.rate/1e9)
	s.refillNs = now
}

// await blocks until a token is available, sending heartbeats while idle.
// It returns ctx's error if ctx ends first.
func (s *Sender) await(ctx context.Context) error {
	for {
		now := s.clock.Now()
		s.refill(now)
		if s.tokens >= 1 {
			return nil
		}
		if s.hbNs > 0 && now-s.lastTxNs >= s.hbNs {
			if err := s.Heartbeat(); err != nil {
				return err
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		due := now + int64(math.Ceil((1-s.tokens)*1e9/s.rate))
		if s.hbNs > 0 {
			due = min(due, s.lastTxNs+s.hbNs)
		}
		s.clock.WaitUntil(due, s.spin)
	}
}

// Run sends the feed that next produces until it ends, then sends the
// end-of-session packet. It stops early, without ending the session, when
// ctx is done (returning ctx's error).
func (s *Sender) Run(ctx context.Context, next NextFunc) error {
	if s.ended {
		return ErrEnded
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		more, err := s.step(ctx, next)
		if err != nil {
			return err
		}
		if !more {
			return s.End()
		}
	}
}

// step sends one batch's worth of the feed; more is false at its end.
func (s *Sender) step(ctx context.Context, next NextFunc) (more bool, err error) {
	// Take the next message before waiting, so that the end of the feed
	// is noticed at once rather than after one more token interval.
	if !s.held {
		var ok bool
		if s.msg, ok = next(s.msg[:0]); !ok {
			return false, nil
		}
		s.held = true
	}
	if s.silenceNs > 0 {
		if err := s.silence(ctx); err != nil {
			return true, err
		}
	}
	if s.rate == 0 {
		// Unpaced: produce full packets until a batch is ready, write it.
		more, err = s.fill(next, len(s.batch), math.MaxInt)
		if err == nil && s.nBatch > 0 {
			err = s.writeBatch()
		}
		return more, err
	}
	if err := s.await(ctx); err != nil {
		return true, err
	}
	if s.perMsg {
		// The messages due now go out at once, in as few packets as they
		// fit; the last one is not held back to be filled.
		n := int(s.tokens)
		more, err = s.fill(next, math.MaxInt, n)
		if err == nil {
			err = s.Flush()
		}
		return more, err
	}
	// Packet pacing: as many full packets as there are tokens (up to a
	// batch). A dropped packet spends its token as a sent one would.
	n := int(math.Min(s.tokens, float64(len(s.batch))))
	before := s.stats.Packets + s.stats.DroppedPackets + uint64(s.nBatch)
	more, err = s.fill(next, n, math.MaxInt)
	if err == nil && s.nBatch > 0 {
		err = s.writeBatch()
	}
	s.tokens -= float64(s.stats.Packets + s.stats.DroppedPackets - before)
	return more, err
}

// fill appends messages from next until packets packets wait in the batch
// or msgsMax messages were taken (each spending a token under message
// pacing). more is false when next has ended.
func (s *Sender) fill(next NextFunc, packets, msgsMax int) (more bool, err error) {
	for i := 0; i < msgsMax && s.nBatch < packets; i++ {
		if !s.held {
			var ok bool
			if s.msg, ok = next(s.msg[:0]); !ok {
				return false, nil
			}
			if s.silenceNs > 0 {
				// An outage starts before this message: step
				// plays it, then sends the message.
				s.held = true
				return true, nil
			}
		}
		s.held = false
		if _, err := s.Append(s.msg); err != nil {
			return true, err
		}
		if s.perMsg {
			s.tokens--
		}
	}
	return true, nil
}
