package source

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// UDP socket bounds and defaults.
const (
	// UDPBatchDefault is the datagrams per receive call when BatchMax is 0.
	UDPBatchDefault = 64
	// UDPBatchLimit is the largest BatchMax (the kernel caps recvmmsg at
	// 1024 messages per call).
	UDPBatchLimit = 1024
	// UDPDatagramBytesDefault fits any datagram of a 1500-byte MTU link.
	UDPDatagramBytesDefault = 2048
	// UDPDatagramBytesLimit is the largest IPv4 UDP payload.
	UDPDatagramBytesLimit = 65507
	// UDPRecvBufferBytesLimit bounds the requested socket receive buffer.
	UDPRecvBufferBytesLimit = 1 << 30
	// UDPReadTimeoutLimit bounds the read timeout.
	UDPReadTimeoutLimit = time.Hour
)

// ErrConfig reports an invalid source configuration.
var ErrConfig = errors.New("source: invalid configuration")

// UDPConfig configures a UDP socket source.
type UDPConfig struct {
	// Group is the IPv4 multicast group to join; nil for a unicast socket.
	Group net.IP
	// SourceIP restricts a multicast join to one sender (source-specific
	// multicast, IGMPv3); nil accepts any sender. Requires Group.
	SourceIP net.IP
	// Interface names the interface for the multicast join; "" lets the
	// kernel choose by its routing table.
	Interface string
	// Addr is the local IPv4 address to bind a unicast socket to; nil
	// binds all addresses. A multicast socket binds the wildcard address
	// and Port; on Linux it receives only the groups it joined (plus any
	// unicast to Port).
	Addr net.IP
	// Port is the local UDP port; 0 picks an ephemeral port (see LocalAddr).
	Port uint16
	// RecvBufferBytes is the requested socket receive buffer (SO_RCVBUF);
	// 0 keeps the system default. On Linux a privileged process may exceed
	// net.core.rmem_max (SO_RCVBUFFORCE); otherwise the kernel caps it
	// silently. RecvBufferBytes reports what was granted.
	RecvBufferBytes int
	// BatchMax is the most datagrams one ReadBatch receives; 0 selects
	// UDPBatchDefault. At most UDPBatchLimit.
	BatchMax int
	// DatagramBytesMax is the receive buffer per datagram; 0 selects
	// UDPDatagramBytesDefault. Longer datagrams are counted Malformed and
	// dropped. At most UDPDatagramBytesLimit.
	DatagramBytesMax int
	// ReadTimeout makes ReadBatch return (0, nil) after this long without a
	// datagram; 0 waits until a datagram arrives or the source is closed.
	ReadTimeout time.Duration

	// portable forces the golang.org/x/net batch reader on Linux, so tests
	// cover the path other systems take.
	portable bool
}

func (c *UDPConfig) normalize() error {
	if c.Group != nil {
		if c.Group.To4() == nil || !c.Group.IsMulticast() {
			return fmt.Errorf("%w: group %v is not an IPv4 multicast address", ErrConfig, c.Group)
		}
		if c.Addr != nil {
			return fmt.Errorf("%w: Addr is for unicast sockets; a multicast socket binds its group", ErrConfig)
		}
	} else if c.SourceIP != nil || c.Interface != "" {
		return fmt.Errorf("%w: SourceIP and Interface need a multicast Group", ErrConfig)
	}
	if c.SourceIP != nil && c.SourceIP.To4() == nil {
		return fmt.Errorf("%w: source %v is not an IPv4 address", ErrConfig, c.SourceIP)
	}
	if c.Addr != nil && c.Addr.To4() == nil {
		return fmt.Errorf("%w: address %v is not an IPv4 address", ErrConfig, c.Addr)
	}
	switch {
	case c.RecvBufferBytes < 0 || c.RecvBufferBytes > UDPRecvBufferBytesLimit:
		return fmt.Errorf("%w: RecvBufferBytes %d outside [0, %d]", ErrConfig, c.RecvBufferBytes, UDPRecvBufferBytesLimit)
	case c.BatchMax < 0 || c.BatchMax > UDPBatchLimit:
		return fmt.Errorf("%w: BatchMax %d outside [0, %d]", ErrConfig, c.BatchMax, UDPBatchLimit)
	case c.DatagramBytesMax < 0 || c.DatagramBytesMax > UDPDatagramBytesLimit:
		return fmt.Errorf("%w: DatagramBytesMax %d outside [0, %d]", ErrConfig, c.DatagramBytesMax, UDPDatagramBytesLimit)
	case c.ReadTimeout < 0 || c.ReadTimeout > UDPReadTimeoutLimit:
		return fmt.Errorf("%w: ReadTimeout %v outside [0, %v]", ErrConfig, c.ReadTimeout, UDPReadTimeoutLimit)
	}
	if c.BatchMax == 0 {
		c.BatchMax = UDPBatchDefault
	}
	if c.DatagramBytesMax == 0 {
		c.DatagramBytesMax = UDPDatagramBytesDefault
	}
	return nil
}

// UDP is a UDP socket source, unicast or multicast. It receives datagrams
// in batches (recvmmsg on Linux) into buffers allocated once at Listen.
//
// Packet.RecvNs is Now() taken once per batch, right after the receive call
// returns: every datagram of a batch carries the same stamp, which is when
// the process saw it, not when the NIC did. DstIP is the group for a
// multicast socket and the bound address for unicast (0 for a wildcard
// bind); DstPort is the bound port.
//
// ReadBatch must be called from one goroutine at a time; Stats and Close
// may be called from any goroutine.
type UDP struct {
	conn      *net.UDPConn
	pc        *ipv4.PacketConn
	rx        udpReceiver
	timeout   time.Duration
	dstIP     uint32
	dstPort   uint16
	batchMax  int
	rcvBufLen int
	closed    atomic.Bool

	packets, bytes, malformed, dropped atomic.Uint64
}

// udpReceiver receives up to k datagrams into its preallocated buffers and
// describes them in meta. A receiver is not safe for concurrent use.
type udpReceiver interface {
	recv(k int) (n int, err error)
	meta() []udpMeta
	// drops returns the kernel's cumulative socket drop count, as last
	// reported alongside a datagram (0 when the system does not report it).
	drops() uint64
}

// udpMeta describes one received datagram.
type udpMeta struct {
	data      []byte // the datagram, aliasing the receiver's buffer
	srcIP     uint32
	srcPort   uint16
	truncated bool // longer than the buffer: the tail was cut off
}

// ListenUDP opens a UDP socket source. For a multicast Group it binds
// Port and joins the group on Interface (any-source, or source-specific
// with SourceIP).
func ListenUDP(cfg UDPConfig) (*UDP, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	bind := &net.UDPAddr{IP: net.IPv4zero, Port: int(cfg.Port)}
	switch {
	case cfg.Group != nil:
		// The net package binds a group address as the wildcard address
		// with a reusable port.
		bind.IP = cfg.Group.To4()
	case cfg.Addr != nil:
		bind.IP = cfg.Addr.To4()
	}
	conn, err := listenUDP(bind, cfg.Group != nil)
	if err != nil {
		return nil, fmt.Errorf("source: udp listen %v: %w", bind, err)
	}
	u := &UDP{
		conn:     conn,
		pc:       ipv4.NewPacketConn(conn),
		timeout:  cfg.ReadTimeout,
		batchMax: cfg.BatchMax,
	}
	local := conn.LocalAddr().(*net.UDPAddr)
	u.dstIP = ipv4Uint32(local.IP)
	if cfg.Group != nil {
		u.dstIP = ipv4Uint32(cfg.Group)
	}
	u.dstPort = uint16(local.Port)
	fail := func(err error) (*UDP, error) {
		conn.Close()
		return nil, err
	}
	if cfg.RecvBufferBytes > 0 {
		if err := setRecvBuffer(conn, cfg.RecvBufferBytes); err != nil {
			return fail(fmt.Errorf("source: udp receive buffer %d bytes: %w", cfg.RecvBufferBytes, err))
		}
	}
	if u.rcvBufLen, err = recvBuffer(conn); err != nil {
		return fail(fmt.Errorf("source: udp receive buffer: %w", err))
	}
	if cfg.Group != nil {
		if err := u.join(cfg); err != nil {
			return fail(err)
		}
	}
	if u.rx, err = newUDPReceiver(conn, u.pc, cfg.BatchMax, cfg.DatagramBytesMax, cfg.portable); err != nil {
		return fail(fmt.Errorf("source: udp receiver: %w", err))
	}
	return u, nil
}

func (u *UDP) join(cfg UDPConfig) error {
	var ifi *net.Interface
	if cfg.Interface != "" {
		var err error
		if ifi, err = net.InterfaceByName(cfg.Interface); err != nil {
			return fmt.Errorf("source: multicast interface: %w", err)
		}
	}
	group := &net.UDPAddr{IP: cfg.Group.To4()}
	if cfg.SourceIP != nil {
		if err := u.pc.JoinSourceSpecificGroup(ifi, group, &net.UDPAddr{IP: cfg.SourceIP.To4()}); err != nil {
			return fmt.Errorf("source: join %v from %v on %q: %w", cfg.Group, cfg.SourceIP, cfg.Interface, err)
		}
		return nil
	}
	if err := u.pc.JoinGroup(ifi, group); err != nil {
		return fmt.Errorf("source: join %v on %q: %w", cfg.Group, cfg.Interface, err)
	}
	return nil
}

// Conn returns the underlying socket, e.g. to send MoldUDP64 re-requests
// from the port the feed arrives on. Reading from it competes with
// ReadBatch; closing it closes the source.
func (u *UDP) Conn() *net.UDPConn { return u.conn }

// LocalAddr returns the bound address.
func (u *UDP) LocalAddr() *net.UDPAddr { return u.conn.LocalAddr().(*net.UDPAddr) }

// RecvBufferBytes returns the socket receive buffer the kernel granted, as
// it reports it (Linux reports twice the requested size, to cover its
// bookkeeping overhead).
func (u *UDP) RecvBufferBytes() int { return u.rcvBufLen }

// ReadBatch receives up to min(len(pkts), BatchMax) datagrams. It blocks
// until at least one arrives, returns (0, nil) when ReadTimeout passes
// first, and ErrClosed after Close. Datagrams longer than DatagramBytesMax
// are counted Malformed and not returned. Packet data is valid until the
// next ReadBatch.
func (u *UDP) ReadBatch(pkts []Packet) (int, error) {
	if u.closed.Load() {
		return 0, ErrClosed
	}
	k := min(len(pkts), u.batchMax)
	if k == 0 {
		return 0, nil
	}
	if u.timeout > 0 {
		if err := u.conn.SetReadDeadline(time.Now().Add(u.timeout)); err != nil {
			return 0, u.readErr(err)
		}
	}
	for {
		n, err := u.rx.recv(k)
		if err != nil {
			return 0, u.readErr(err)
		}
		now := Now()
		out := 0
		var bytes, malformed uint64
		for _, m := range u.rx.meta()[:n] {
			if m.truncated {
				malformed++
				continue
			}
			pkts[out] = Packet{
				Data:    m.data,
				RecvNs:  now,
				SrcIP:   m.srcIP,
				DstIP:   u.dstIP,
				SrcPort: m.srcPort,
				DstPort: u.dstPort,
			}
			bytes += uint64(len(m.data))
			out++
		}
		if malformed > 0 {
			u.malformed.Add(malformed)
		}
		if d := u.rx.drops(); d > u.dropped.Load() {
			u.dropped.Store(d)
		}
		if out > 0 {
			u.packets.Add(uint64(out))
			u.bytes.Add(bytes)
			return out, nil
		}
	}
}

// readErr maps a receive error: a deadline is a quiet (0, nil) timeout, a
// closed socket is ErrClosed.
func (u *UDP) readErr(err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, net.ErrClosed) || u.closed.Load():
		return ErrClosed
	}
	return fmt.Errorf("source: udp receive: %w", err)
}

// Stats returns the counters. Dropped is the kernel's count of datagrams
// dropped on this socket (receive buffer full), where the system reports it
// (Linux, SO_RXQ_OVFL); it updates when a datagram arrives after a drop.
func (u *UDP) Stats() Stats {
	return Stats{
		Packets:   u.packets.Load(),
		Bytes:     u.bytes.Load(),
		Malformed: u.malformed.Load(),
		Dropped:   u.dropped.Load(),
	}
}

// Close closes the socket, leaving any multicast group. A blocked ReadBatch
// returns ErrClosed. Close is idempotent.
func (u *UDP) Close() error {
	if u.closed.Swap(true) {
		return nil
	}
	return u.conn.Close()
}

// ipv4Uint32 packs an IPv4 address as a.b.c.d = a<<24|b<<16|c<<8|d; 0 for
// anything else.
func ipv4Uint32(ip net.IP) uint32 {
	ip4 := ip.To4()
	if ip4 == nil {
		return 0
	}
	return uint32(ip4[0])<<24 | uint32(ip4[1])<<16 | uint32(ip4[2])<<8 | uint32(ip4[3])
}

// xnetReceiver is the portable batch receiver: golang.org/x/net's
// ipv4.PacketConn.ReadBatch (recvmmsg on Linux, one datagram per call
// elsewhere). The x/net library allocates the sender's address per
// datagram.
type xnetReceiver struct {
	pc    *ipv4.PacketConn
	msgs  []ipv4.Message
	bufs  [][]byte
	metas []udpMeta
	drop  uint64
}

func newXNetReceiver(pc *ipv4.PacketConn, batchMax, datagramBytesMax, oobBytes int) *xnetReceiver {
	x := &xnetReceiver{
		pc:    pc,
		msgs:  make([]ipv4.Message, batchMax),
		bufs:  make([][]byte, batchMax),
		metas: make([]udpMeta, batchMax),
	}
	// One slab per kind of buffer: fewer objects, better locality. Each
	// datagram buffer has one spare byte: a datagram that fills it is longer
	// than datagramBytesMax, which flags truncation without MSG_TRUNC.
	stride := datagramBytesMax + 1
	slab := make([]byte, batchMax*stride)
	var oob []byte
	if oobBytes > 0 {
		oob = make([]byte, batchMax*oobBytes)
	}
	for i := range x.msgs {
		x.bufs[i] = slab[i*stride : (i+1)*stride : (i+1)*stride]
		x.msgs[i].Buffers = x.bufs[i : i+1 : i+1]
		if oob != nil {
			x.msgs[i].OOB = oob[i*oobBytes : (i+1)*oobBytes : (i+1)*oobBytes]
		}
	}
	return x
}

func (x *xnetReceiver) recv(k int) (int, error) {
	n, err := x.pc.ReadBatch(x.msgs[:k], 0)
	if err != nil {
		return 0, err
	}
	for i := range x.msgs[:n] {
		m := &x.msgs[i]
		meta := &x.metas[i]
		meta.data = x.bufs[i][:min(m.N, len(x.bufs[i]))]
		meta.truncated = m.N >= len(x.bufs[i])
		meta.srcIP, meta.srcPort = 0, 0
		if a, ok := m.Addr.(*net.UDPAddr); ok {
			meta.srcIP = ipv4Uint32(a.IP)
			meta.srcPort = uint16(a.Port)
		}
		if m.NN > 0 {
			if d, ok := parseDropCount(m.OOB[:m.NN]); ok {
				x.drop = d
			}
		}
		m.NN = 0
	}
	return n, nil
}

func (x *xnetReceiver) meta() []udpMeta { return x.metas }
func (x *xnetReceiver) drops() uint64   { return x.drop }
