package udpsend

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"golang.org/x/net/ipv4"
)

// feed returns a NextFunc over a fresh generated session and the session's
// messages, for comparison.
func feed(t testing.TB, messages uint64) (NextFunc, [][]byte) {
	t.Helper()
	cfg := itchgen.Config{SymbolCount: 4, Seed: 11, Messages: messages}
	ref, err := itchgen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var all [][]byte
	var m itch.Message
	for ref.Next(&m) {
		all = append(all, m.Append(nil))
	}
	g, _ := itchgen.New(cfg)
	var gm itch.Message
	return func(dst []byte) ([]byte, bool) {
		if !g.Next(&gm) {
			return dst, false
		}
		return gm.Append(dst), true
	}, all
}

// receiver collects datagrams from a loopback socket until an
// end-of-session packet arrives.
type receiver struct {
	conn *net.UDPConn
	mu   sync.Mutex
	pkts [][]byte
	done chan struct{}
}

func listen(t *testing.T) *receiver {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadBuffer(8 << 20)
	r := &receiver{conn: conn, done: make(chan struct{})}
	t.Cleanup(func() { conn.Close() })
	go r.loop()
	return r
}

func (r *receiver) loop() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, err := r.conn.Read(buf)
		if err != nil {
			return
		}
		p := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.pkts = append(r.pkts, p)
		r.mu.Unlock()
		if h, err := moldudp64.ParseHeader(p); err == nil && h.IsEndOfSession() {
			return
		}
	}
}

func (r *receiver) wait(t *testing.T) [][]byte {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no end-of-session packet received")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pkts
}

func (r *receiver) addr() string { return r.conn.LocalAddr().String() }

// memStore is a Store that keeps copies.
type memStore struct {
	seqs []uint64
	msgs [][]byte
}

func (s *memStore) Append(seq uint64, msg []byte) error {
	s.seqs = append(s.seqs, seq)
	s.msgs = append(s.msgs, append([]byte(nil), msg...))
	return nil
}

type decoded struct {
	data, heartbeats, ends int
	msgs                   map[uint64][]byte
	endNext                uint64
}

func decode(t *testing.T, session moldudp64.Session, pkts [][]byte) decoded {
	t.Helper()
	d := decoded{msgs: map[uint64][]byte{}}
	var it moldudp64.Iterator
	for _, p := range pkts {
		h, err := it.Reset(p)
		if err != nil {
			t.Fatalf("malformed packet: %v", err)
		}
		if h.Session != session {
			t.Fatalf("session %q", h.Session)
		}
		switch {
		case h.IsEndOfSession():
			d.ends++
			d.endNext = h.Seq
		case h.IsHeartbeat():
			d.heartbeats++
		default:
			d.data++
			for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
				if _, dup := d.msgs[seq]; dup {
					t.Fatalf("sequence %d sent twice", seq)
				}
				d.msgs[seq] = append([]byte(nil), msg...)
			}
		}
	}
	return d
}

func TestLoopbackUnpaced(t *testing.T) {
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr(), SendBufferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, 20_000)
	store := &memStore{}
	session := moldudp64.MakeSession("TEST01")
	s, err := New(conn, Config{Session: session, Store: store, BatchPackets: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	d := decode(t, session, r.wait(t))
	if len(d.msgs) != len(want) || d.endNext != uint64(len(want))+1 || d.ends != 1 {
		t.Fatalf("received %d of %d messages, end-of-session next %d", len(d.msgs), len(want), d.endNext)
	}
	for i, w := range want {
		if !bytes.Equal(d.msgs[uint64(i+1)], w) {
			t.Fatalf("message %d differs", i+1)
		}
		if store.seqs[i] != uint64(i+1) || !bytes.Equal(store.msgs[i], w) {
			t.Fatalf("store entry %d: seq %d", i, store.seqs[i])
		}
	}
	st := s.Stats()
	if st.Messages != uint64(len(want)) || st.Packets != uint64(d.data) || st.EndOfSession != 1 ||
		st.NextSeq != uint64(len(want))+1 || st.Writes >= st.Packets {
		t.Fatalf("stats %+v (received %d data packets)", st, d.data)
	}
	if _, err := s.Append([]byte("late")); !errors.Is(err, ErrEnded) {
		t.Fatalf("append after end: %v", err)
	}
}

func TestDeliberateDrops(t *testing.T) {
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, 5_000)
	store := &memStore{}
	session := moldudp64.MakeSession("DROPS")
	s, err := New(conn, Config{Session: session, Store: store, DropPackets: []uint64{3, 1, 3, 10}, DropRate: 0.05, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	d := decode(t, session, r.wait(t))
	st := s.Stats()
	if st.DroppedPackets < 3 || st.DroppedPackets > st.Packets/4 {
		t.Fatalf("dropped %d of %d packets", st.DroppedPackets, st.Packets+st.DroppedPackets)
	}
	if uint64(len(d.msgs)) != st.Messages || st.Messages+st.DroppedMessages != uint64(len(want)) {
		t.Fatalf("received %d, stats %+v, total %d", len(d.msgs), st, len(want))
	}
	if len(store.msgs) != len(want) {
		t.Fatalf("store holds %d of %d messages", len(store.msgs), len(want))
	}
	// Packets 1, 3 and 10 are missing: find the gaps they leave.
	var gaps int
	for seq := uint64(1); seq <= uint64(len(want)); seq++ {
		if _, ok := d.msgs[seq]; !ok && (seq == 1 || d.msgs[seq-1] != nil) {
			gaps++
		}
	}
	if gaps < 3 {
		t.Fatalf("%d gaps for at least 3 dropped packets", gaps)
	}
}

// fakeClock jumps to whatever time the sender waits for.
type fakeClock struct {
	now   int64
	waits int
}

func (c *fakeClock) Now() int64 { return c.now }
func (c *fakeClock) WaitUntil(ns int64, spin bool) {
	c.waits++
	if ns > c.now {
		c.now = ns
	}
}

func TestPacketPacingSimulatedTime(t *testing.T) {
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, _ := feed(t, 30_000)
	clk := &fakeClock{}
	s, err := New(conn, Config{Session: moldudp64.MakeSession("PACE"), PacketsPerSec: 2000, Burst: 4, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	r.wait(t)
	st := s.Stats()
	// Each packet after the initial burst of 4 waits 0.5 ms; the final,
	// partial packet goes out with the end of session.
	paced := int64(st.Packets) - 4 - 1
	if want := paced * 500_000; clk.now < want-500_000 || clk.now > want+500_000 {
		t.Fatalf("%d packets took %d ns of simulated time, want about %d", st.Packets, clk.now, want)
	}
	if st.Heartbeats != 0 {
		t.Fatalf("%d heartbeats while busy", st.Heartbeats)
	}
}

func TestMessagePacingAndHeartbeats(t *testing.T) {
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, itchgen.MinMessages(4)+20)
	clk := &fakeClock{}
	session := moldudp64.MakeSession("SLOW")
	// 0.4 messages per second: a heartbeat fills every idle second.
	s, err := New(conn, Config{Session: session, MessagesPerSec: 0.4, Burst: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	pkts := r.wait(t)
	d := decode(t, session, pkts)
	if len(d.msgs) != len(want) {
		t.Fatalf("received %d of %d", len(d.msgs), len(want))
	}
	// At this rate every message is due alone: one message per packet.
	if d.data != len(want) {
		t.Fatalf("%d data packets for %d messages", d.data, len(want))
	}
	// (n−1) gaps of 2.5 s each hold two heartbeats.
	if wantHB := 2 * (len(want) - 1); d.heartbeats != wantHB || s.Stats().Heartbeats != uint64(wantHB) {
		t.Fatalf("%d heartbeats, want %d", d.heartbeats, wantHB)
	}
	// Heartbeats announce the next message.
	var it moldudp64.Iterator
	expect := uint64(1)
	for _, p := range pkts {
		h, _ := it.Reset(p)
		if h.IsHeartbeat() && h.Seq != expect {
			t.Fatalf("heartbeat announces %d, next is %d", h.Seq, expect)
		}
		expect = h.Next()
	}
}

func TestCancel(t *testing.T) {
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g, _ := itchgen.New(itchgen.Config{Seed: 1})
	var m itch.Message
	next := func(dst []byte) ([]byte, bool) { g.Next(&m); return m.Append(dst), true }
	s, err := New(conn, Config{PacketsPerSec: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, next) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run ignored cancellation")
	}
}

func TestUnicastRefusedIsCounted(t *testing.T) {
	// Nothing listens on the port: ICMP port-unreachable surfaces as
	// ECONNREFUSED on later sends; the sender counts and carries on.
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	conn, err := Dial(DialConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, 3000)
	s, err := New(conn, Config{BatchPackets: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.NextSeq != uint64(len(want))+1 || st.SendErrors == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	conn, err := Dial(DialConfig{Addr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	bad := []Config{
		{PacketsPerSec: 1, MessagesPerSec: 1},
		{PacketsPerSec: -1},
		{MessagesPerSec: 2e9},
		{Burst: 0.5},
		{BatchPackets: -1},
		{BatchPackets: BatchPacketsMax + 1},
		{DropRate: 1.5},
		{PayloadBytesMax: 10},
	}
	for i, c := range bad {
		if _, err := New(conn, c); !errors.Is(err, ErrConfig) {
			t.Errorf("config %d: %v, want ErrConfig", i, err)
		}
	}
	if _, err := New(nil, Config{}); !errors.Is(err, ErrConfig) {
		t.Error("nil conn accepted")
	}
	for _, dc := range []DialConfig{{Addr: "nonsense"}, {Addr: "[::1]:5000"}, {Addr: "127.0.0.1:0"}, {Addr: "127.0.0.1:5", TTL: 300}} {
		if c, err := Dial(dc); !errors.Is(err, ErrConfig) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %+v: %v, want ErrConfig", dc, err)
		}
	}
}

func TestMulticastLoopback(t *testing.T) {
	group := netip.MustParseAddr("239.255.77.11")
	var ifi *net.Interface
	ifs, _ := net.Interfaces()
	for i := range ifs {
		f := ifs[i].Flags
		if f&net.FlagUp != 0 && f&net.FlagMulticast != 0 && f&net.FlagLoopback == 0 {
			ifi = &ifs[i]
			break
		}
	}
	if ifi == nil {
		t.Skip("no multicast-capable interface")
	}
	lc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	pc := ipv4.NewPacketConn(lc)
	if err := pc.JoinGroup(ifi, &net.UDPAddr{IP: group.AsSlice()}); err != nil {
		t.Skipf("cannot join %v on %s: %v", group, ifi.Name, err)
	}
	port := lc.LocalAddr().(*net.UDPAddr).Port
	conn, err := Dial(DialConfig{Addr: netip.AddrPortFrom(group, uint16(port)).String(), Interface: ifi.Name, Loopback: true, TTL: 1})
	if err != nil {
		t.Skipf("multicast send unavailable: %v", err)
	}
	defer conn.Close()
	next, want := feed(t, 2000)
	session := moldudp64.MakeSession("MCAST")
	s, err := New(conn, Config{Session: session})
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{conn: lc, done: make(chan struct{})}
	go r.loop()
	if err := s.Run(context.Background(), next); err != nil {
		t.Skipf("multicast send failed here: %v", err)
	}
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		t.Skip("multicast loopback not delivered on this host")
	}
	r.mu.Lock()
	d := decode(t, session, r.pkts)
	r.mu.Unlock()
	if len(d.msgs) != len(want) {
		t.Fatalf("received %d of %d messages over multicast", len(d.msgs), len(want))
	}
}
