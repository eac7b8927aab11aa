package source

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

var loopback = net.IPv4(127, 0, 0, 1).To4()

// receivers lists the batch receivers to test: the direct recvmmsg one
// (Linux) and the portable x/net one.
func receivers() []struct {
	name     string
	portable bool
} {
	r := []struct {
		name     string
		portable bool
	}{{"portable", true}}
	if runtime.GOOS == "linux" {
		r = append(r, struct {
			name     string
			portable bool
		}{"recvmmsg", false})
	}
	return r
}

func mustListenUDP(t testing.TB, cfg UDPConfig) *UDP {
	t.Helper()
	u, err := ListenUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func dialTo(t testing.TB, u *UDP) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: loopback, Port: u.LocalAddr().Port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func payload(i, size int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, size)
	copy(b, fmt.Sprintf("%06d", i))
	return b
}

// readN reads exactly n datagrams (copying them) or fails.
func readN(t testing.TB, src Source, n int) []Packet {
	t.Helper()
	var out []Packet
	pkts := make([]Packet, 64)
	for len(out) < n {
		k, err := src.ReadBatch(pkts)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(out), n, err)
		}
		if k == 0 {
			t.Fatalf("timed out after %d of %d datagrams", len(out), n)
		}
		for _, p := range pkts[:k] {
			p.Data = append([]byte(nil), p.Data...)
			out = append(out, p)
		}
	}
	return out
}

func TestUDPConfigErrors(t *testing.T) {
	bad := []UDPConfig{
		{Group: net.IPv4(10, 0, 0, 1)},
		{Group: net.ParseIP("ff02::1")},
		{Group: net.IPv4(239, 1, 1, 1), Addr: loopback},
		{SourceIP: loopback},
		{Interface: "lo"},
		{Group: net.IPv4(239, 1, 1, 1), SourceIP: net.ParseIP("::1")},
		{Addr: net.ParseIP("::1")},
		{RecvBufferBytes: -1},
		{RecvBufferBytes: UDPRecvBufferBytesLimit + 1},
		{BatchMax: -1},
		{BatchMax: UDPBatchLimit + 1},
		{DatagramBytesMax: -1},
		{DatagramBytesMax: UDPDatagramBytesLimit + 1},
		{ReadTimeout: -time.Second},
		{ReadTimeout: UDPReadTimeoutLimit + 1},
	}
	for i, cfg := range bad {
		if u, err := ListenUDP(cfg); !errors.Is(err, ErrConfig) {
			if u != nil {
				u.Close()
			}
			t.Errorf("config %d %+v: error %v, want ErrConfig", i, cfg, err)
		}
	}
}

func TestUDPUnicast(t *testing.T) {
	for _, rx := range receivers() {
		t.Run(rx.name, func(t *testing.T) {
			u := mustListenUDP(t, UDPConfig{Addr: loopback, ReadTimeout: 5 * time.Second, portable: rx.portable})
			c := dialTo(t, u)
			const count = 100
			var sent uint64
			before := Now()
			for i := 0; i < count; i++ {
				p := payload(i, 20+i)
				sent += uint64(len(p))
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			got := readN(t, u, count)
			srcPort := uint16(c.LocalAddr().(*net.UDPAddr).Port)
			for i, p := range got {
				if want := payload(i, 20+i); !bytes.Equal(p.Data, want) {
					t.Fatalf("datagram %d = %q, want %q", i, p.Data, want)
				}
				if p.SrcIP != 0x7f000001 || p.DstIP != 0x7f000001 || p.SrcPort != srcPort || p.DstPort != uint16(u.LocalAddr().Port) {
					t.Fatalf("datagram %d addresses %08x:%d -> %08x:%d", i, p.SrcIP, p.SrcPort, p.DstIP, p.DstPort)
				}
				if p.RecvNs < before || p.RecvNs > Now() {
					t.Fatalf("datagram %d RecvNs %d outside [%d, now]", i, p.RecvNs, before)
				}
			}
			if s := u.Stats(); s.Packets != count || s.Bytes != sent || s.Malformed != 0 {
				t.Fatalf("Stats = %+v, want %d packets %d bytes", s, count, sent)
			}
		})
	}
}

func TestUDPBatches(t *testing.T) {
	for _, rx := range receivers() {
		t.Run(rx.name, func(t *testing.T) {
			u := mustListenUDP(t, UDPConfig{Addr: loopback, BatchMax: 16, ReadTimeout: 5 * time.Second, portable: rx.portable})
			c := dialTo(t, u)
			for i := 0; i < 40; i++ {
				if _, err := c.Write(payload(i, 32)); err != nil {
					t.Fatal(err)
				}
			}
			pkts := make([]Packet, 64)
			// Loopback delivers synchronously: all 40 are queued already.
			// recvmmsg drains up to the batch at once; elsewhere x/net
			// reads one datagram per call.
			want := []int{16, 16, 8}
			if rx.portable && runtime.GOOS != "linux" {
				want = []int{1, 1, 1}
			}
			seq := 0
			for _, w := range want {
				n, err := u.ReadBatch(pkts)
				if err != nil || n != w {
					t.Fatalf("ReadBatch = %d, %v; want %d", n, err, w)
				}
				for _, p := range pkts[:n] {
					if !bytes.Equal(p.Data, payload(seq, 32)) {
						t.Fatalf("datagram %d = %q", seq, p.Data)
					}
					seq++
				}
			}
			// A short pkts slice caps the batch.
			for i := 0; i < 5; i++ {
				if _, err := c.Write(payload(i, 8)); err != nil {
					t.Fatal(err)
				}
			}
			if rx.portable && runtime.GOOS != "linux" {
				return
			}
			if n, err := u.ReadBatch(pkts[:3]); n != 3 || err != nil {
				t.Fatalf("ReadBatch(3) = %d, %v", n, err)
			}
			if n, err := u.ReadBatch(pkts[:0]); n != 0 || err != nil {
				t.Fatalf("ReadBatch(0) = %d, %v", n, err)
			}
			if n, err := u.ReadBatch(pkts); n != 2 || err != nil {
				t.Fatalf("ReadBatch = %d, %v; want the last 2", n, err)
			}
		})
	}
}

func TestUDPTimeout(t *testing.T) {
	u := mustListenUDP(t, UDPConfig{Addr: loopback, ReadTimeout: 20 * time.Millisecond})
	pkts := make([]Packet, 4)
	for i := 0; i < 3; i++ {
		if n, err := u.ReadBatch(pkts); n != 0 || err != nil {
			t.Fatalf("ReadBatch on an idle socket = %d, %v; want 0, nil", n, err)
		}
	}
	c := dialTo(t, u)
	if _, err := c.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if n, err := u.ReadBatch(pkts); n != 1 || err != nil || string(pkts[0].Data) != "late" {
		t.Fatalf("ReadBatch after a timeout = %d, %v", n, err)
	}
}

func TestUDPTruncated(t *testing.T) {
	for _, rx := range receivers() {
		t.Run(rx.name, func(t *testing.T) {
			u := mustListenUDP(t, UDPConfig{Addr: loopback, DatagramBytesMax: 100, ReadTimeout: 5 * time.Second, portable: rx.portable})
			c := dialTo(t, u)
			for _, size := range []int{101, 100, 5000, 1} {
				if _, err := c.Write(payload(size, size)); err != nil {
					t.Fatal(err)
				}
			}
			got := readN(t, u, 2)
			if len(got[0].Data) != 100 || len(got[1].Data) != 1 {
				t.Fatalf("delivered sizes %d, %d; want 100, 1", len(got[0].Data), len(got[1].Data))
			}
			if s := u.Stats(); s.Malformed != 2 || s.Packets != 2 {
				t.Fatalf("Stats = %+v, want 2 packets 2 malformed", s)
			}
		})
	}
}

func TestUDPClose(t *testing.T) {
	u, err := ListenUDP(UDPConfig{Addr: loopback})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := u.ReadBatch(make([]Packet, 4))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the reader block; the test holds either way
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked ReadBatch after Close = %v", err)
	}
	if _, err := u.ReadBatch(make([]Packet, 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadBatch after Close = %v", err)
	}
	if err := u.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// TestUDPConnSends checks the exposed socket can send (MoldUDP64
// re-requests) from the feed's own port.
func TestUDPConnSends(t *testing.T) {
	u := mustListenUDP(t, UDPConfig{Addr: loopback})
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := u.Conn().WriteToUDP([]byte("request"), peer.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := peer.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "request" || from.Port != u.LocalAddr().Port {
		t.Fatalf("peer got %q from %v, %v", buf[:n], from, err)
	}
}

// TestUDPDropped overflows a small receive buffer and checks the kernel's
// drop count reaches Stats once a datagram arrives after the drops.
func TestUDPDropped(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("socket drop counts are read through SO_RXQ_OVFL, Linux only")
	}
	for _, rx := range receivers() {
		t.Run(rx.name, func(t *testing.T) {
			u := mustListenUDP(t, UDPConfig{Addr: loopback, RecvBufferBytes: 4096, ReadTimeout: 50 * time.Millisecond, portable: rx.portable})
			c := dialTo(t, u)
			const sent = 500
			for i := 0; i < sent; i++ {
				if _, err := c.Write(payload(i, 512)); err != nil {
					t.Fatal(err)
				}
			}
			pkts := make([]Packet, 64)
			received := 0
			for {
				n, err := u.ReadBatch(pkts)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				received += n
			}
			if received >= sent {
				t.Skipf("a %d-byte buffer held all %d datagrams", u.RecvBufferBytes(), sent)
			}
			if _, err := c.Write([]byte("after")); err != nil {
				t.Fatal(err)
			}
			if n, err := u.ReadBatch(pkts); n != 1 || err != nil {
				t.Fatalf("ReadBatch = %d, %v", n, err)
			}
			if s := u.Stats(); s.Dropped != uint64(sent-received) {
				t.Fatalf("Dropped = %d, want %d (sent %d, received %d)", s.Dropped, sent-received, sent, received)
			}
		})
	}
}

func TestUDPZeroAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only the recvmmsg receiver is allocation-free")
	}
	u := mustListenUDP(t, UDPConfig{Addr: loopback, ReadTimeout: 5 * time.Second})
	c := dialTo(t, u)
	msg := payload(1, 100)
	pkts := make([]Packet, 8)
	// Queue one datagram per run ahead of time, so the measured function
	// is ReadBatch alone.
	const runs = 200
	for i := 0; i < runs+1; i++ {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if n, err := u.ReadBatch(pkts[:1]); n != 1 || err != nil {
			t.Fatalf("ReadBatch = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadBatch: %v allocs per run", allocs)
	}
}

// multicastSender returns a socket that sends to group via ifName with
// loopback delivery on, or the exact error the kernel gave.
func multicastSender(ifName string) (*net.UDPConn, error) {
	ifi, err := net.InterfaceByName(ifName)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		return nil, err
	}
	p := ipv4.NewPacketConn(c)
	if err := p.SetMulticastInterface(ifi); err != nil {
		c.Close()
		return nil, err
	}
	if err := p.SetMulticastLoopback(true); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func TestUDPMulticastLoopback(t *testing.T) {
	group := net.IPv4(239, 255, 77, 1).To4()
	for _, rx := range receivers() {
		t.Run(rx.name, func(t *testing.T) {
			u, err := ListenUDP(UDPConfig{Group: group, Interface: "lo", ReadTimeout: 2 * time.Second, portable: rx.portable})
			if err != nil {
				t.Skipf("kernel refuses multicast on lo: %v", err)
			}
			defer u.Close()
			s, err := multicastSender("lo")
			if err != nil {
				t.Skipf("kernel refuses multicast on lo: %v", err)
			}
			defer s.Close()
			dst := &net.UDPAddr{IP: group, Port: u.LocalAddr().Port}
			for i := 0; i < 10; i++ {
				if _, err := s.WriteToUDP(payload(i, 40), dst); err != nil {
					t.Skipf("kernel refuses multicast on lo: %v", err)
				}
			}
			pkts := make([]Packet, 16)
			n, err := u.ReadBatch(pkts)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Skip("kernel refuses multicast on lo: nothing delivered within 2s")
			}
			if pkts[0].DstIP != ipv4Uint32(group) || pkts[0].DstPort != uint16(dst.Port) || !bytes.Equal(pkts[0].Data, payload(0, 40)) {
				t.Fatalf("first datagram to %08x:%d %q", pkts[0].DstIP, pkts[0].DstPort, pkts[0].Data)
			}
			readN(t, u, 10-n)
		})
	}
}
