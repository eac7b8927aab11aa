package rerequest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// Server bounds.
const (
	// MessagesPerRequestDefault is the default cap on messages answered
	// per request.
	MessagesPerRequestDefault = 1024
	// PacketsPerRequestDefault is the default cap on packets sent per
	// request.
	PacketsPerRequestDefault = 64
	// PacketsPerRequestLimit bounds Config.PacketsPerRequestMax.
	PacketsPerRequestLimit = 1024
	// readBytesMax is the read buffer: any datagram fits, so oversized
	// garbage is seen whole and rejected.
	readBytesMax = 1 << 16
)

// ErrServing reports a second concurrent Serve call.
var ErrServing = errors.New("rerequest: Serve already running")

// Config configures a Server.
type Config struct {
	// Store holds the messages served. Required.
	Store *Store
	// PayloadBytesMax bounds each answer packet; 0 means
	// moldudp64.PayloadBytesDefault.
	PayloadBytesMax int
	// MessagesPerRequestMax caps the messages answered per request (a
	// larger request gets the first ones the store holds); 0 means
	// MessagesPerRequestDefault. Range 1..moldudp64.MessageCountMax.
	MessagesPerRequestMax int
	// PacketsPerRequestMax caps the packets sent per request; 0 means
	// PacketsPerRequestDefault.
	PacketsPerRequestMax int
}

// Stats are the Server's counters.
type Stats struct {
	// Requests counts datagrams received.
	Requests uint64
	// Answered counts requests answered with at least one message.
	Answered uint64
	// Partial counts answered requests that got fewer messages than they
	// asked for (capped, or partly outside the store).
	Partial uint64
	// BadRequests counts datagrams that are not valid request packets.
	BadRequests uint64
	// UnknownSession counts requests for another session.
	UnknownSession uint64
	// OutOfRange counts valid requests answered with nothing: the store
	// does not hold the messages (evicted or not yet sent), or the first
	// one is larger than PayloadBytesMax allows.
	OutOfRange uint64
	// PacketsSent and MessagesSent count what the answers carried.
	PacketsSent, MessagesSent uint64
	// SendErrors counts answer packets the socket refused.
	SendErrors uint64
	// ReadErrors counts failed socket reads other than closing.
	ReadErrors uint64
}

type counters struct {
	requests, answered, partial, bad, unknown, outOfRange atomic.Uint64
	packets, messages, sendErrors, readErrors             atomic.Uint64
}

// Server answers MoldUDP64 request packets from a Store with downstream
// packets unicast back to the requester. Serve runs the loop; Close or the
// context stops it. Malformed datagrams are counted, never fatal. Answering
// does not allocate.
type Server struct {
	conn    *net.UDPConn
	store   *Store
	msgsMax uint64
	pktsMax int

	// Answer under construction; used by the Serve goroutine only.
	pk     *moldudp64.Packetizer
	out    []byte // answer packets back to back
	ends   []int  // end offset of each packet in out
	msgs   int    // messages in the emitted packets
	added  uint64 // messages packed, emitted or pending
	begun  bool
	addMsg func(seq uint64, msg []byte) bool
	in     []byte

	serving atomic.Bool
	closed  atomic.Bool
	stats   counters
}

// NewServer returns a Server answering on conn, which it owns (Close closes
// it).
func NewServer(conn *net.UDPConn, cfg Config) (*Server, error) {
	if conn == nil || cfg.Store == nil {
		return nil, errors.New("rerequest: nil conn or Store")
	}
	if cfg.MessagesPerRequestMax == 0 {
		cfg.MessagesPerRequestMax = MessagesPerRequestDefault
	}
	if cfg.MessagesPerRequestMax < 1 || cfg.MessagesPerRequestMax > moldudp64.MessageCountMax {
		return nil, fmt.Errorf("rerequest: MessagesPerRequestMax %d outside 1..%d",
			cfg.MessagesPerRequestMax, moldudp64.MessageCountMax)
	}
	if cfg.PacketsPerRequestMax == 0 {
		cfg.PacketsPerRequestMax = PacketsPerRequestDefault
	}
	if cfg.PacketsPerRequestMax < 1 || cfg.PacketsPerRequestMax > PacketsPerRequestLimit {
		return nil, fmt.Errorf("rerequest: PacketsPerRequestMax %d outside 1..%d",
			cfg.PacketsPerRequestMax, PacketsPerRequestLimit)
	}
	if cfg.PayloadBytesMax == 0 {
		cfg.PayloadBytesMax = moldudp64.PayloadBytesDefault
	}
	s := &Server{
		conn:    conn,
		store:   cfg.Store,
		msgsMax: uint64(cfg.MessagesPerRequestMax),
		pktsMax: cfg.PacketsPerRequestMax,
		out:     make([]byte, 0, cfg.PacketsPerRequestMax*cfg.PayloadBytesMax),
		ends:    make([]int, 0, cfg.PacketsPerRequestMax),
		in:      make([]byte, readBytesMax),
	}
	pk, err := moldudp64.NewPacketizer(moldudp64.PacketizerConfig{
		Session:         cfg.Store.Session(),
		PayloadBytesMax: cfg.PayloadBytesMax,
	}, s.emit)
	if err != nil {
		return nil, err
	}
	s.pk = pk
	s.addMsg = s.add
	return s, nil
}

// Listen opens a UDP socket on addr ("127.0.0.1:0" for an ephemeral port)
// and returns a Server on it.
func Listen(addr string, cfg Config) (*Server, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	s, err := NewServer(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.AddrPort {
	return s.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Serve answers requests until Close is called or ctx is done; it then
// returns nil. Only one Serve may run at a time.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return ErrServing
	}
	defer s.serving.Store(false)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-done:
		}
	}()
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(s.in)
		if err != nil {
			if s.closed.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.stats.readErrors.Add(1)
			// A persistent socket error must not spin the CPU.
			time.Sleep(time.Millisecond)
			continue
		}
		s.answer(s.in[:n])
		s.send(from)
	}
}

// Close stops Serve and closes the socket. It is safe to call more than
// once and from any goroutine.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	return s.conn.Close()
}

// answer decodes one request datagram and builds the answer packets into
// s.out / s.ends.
func (s *Server) answer(b []byte) {
	s.out = s.out[:0]
	s.ends = s.ends[:0]
	s.msgs = 0
	s.added = 0
	s.begun = false
	s.stats.requests.Add(1)
	r, err := moldudp64.ParseRequest(b)
	if err != nil {
		s.stats.bad.Add(1)
		return
	}
	if r.Session != s.store.Session() {
		s.stats.unknown.Add(1)
		return
	}
	if s.store.View(r.Seq, uint64(r.Count), s.addMsg) == 0 {
		s.stats.outOfRange.Add(1)
		return
	}
	if len(s.ends) < s.pktsMax {
		_ = s.pk.Flush() // emit never fails
	}
	s.pk.Reset(0) // drop a packet beyond the cap
	if s.msgs == 0 {
		s.stats.outOfRange.Add(1)
		return
	}
	s.stats.answered.Add(1)
	if s.msgs < int(r.Count) {
		s.stats.partial.Add(1)
	}
}

// add packs one stored message; false stops the store walk.
func (s *Server) add(seq uint64, msg []byte) bool {
	if !s.begun {
		s.pk.Reset(seq)
		s.begun = true
	}
	if _, err := s.pk.Append(msg); err != nil {
		return false // larger than the answer payload: stop before it
	}
	s.added++
	return s.added < s.msgsMax && len(s.ends) < s.pktsMax
}

// emit collects an answer packet.
func (s *Server) emit(pkt []byte, h moldudp64.Header) error {
	s.out = append(s.out, pkt...)
	s.ends = append(s.ends, len(s.out))
	s.msgs += int(h.Count)
	return nil
}

// send writes the built answer packets to the requester.
func (s *Server) send(to netip.AddrPort) {
	start := 0
	for _, end := range s.ends {
		pkt := s.out[start:end]
		start = end
		if _, err := s.conn.WriteToUDPAddrPort(pkt, to); err != nil {
			s.stats.sendErrors.Add(1)
			continue
		}
		h, _ := moldudp64.ParseHeader(pkt)
		s.stats.packets.Add(1)
		s.stats.messages.Add(uint64(h.Count))
	}
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Requests:       c.requests.Load(),
		Answered:       c.answered.Load(),
		Partial:        c.partial.Load(),
		BadRequests:    c.bad.Load(),
		UnknownSession: c.unknown.Load(),
		OutOfRange:     c.outOfRange.Load(),
		PacketsSent:    c.packets.Load(),
		MessagesSent:   c.messages.Load(),
		SendErrors:     c.sendErrors.Load(),
		ReadErrors:     c.readErrors.Load(),
	}
}
