//go:build linux && cgo

package source

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
)

// openAFPacket opens a source on the pair's host end, skipping the test
// with the exact error when the kernel refuses a packet socket.
func openAFPacket(t testing.TB, cfg AFPacketConfig) *AFPacket {
	t.Helper()
	a, err := OpenAFPacket(cfg)
	if err != nil {
		if errors.Is(err, ErrConfig) {
			t.Fatal(err)
		}
		t.Skipf("AF_PACKET unavailable: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func payloads(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = payload(i, size)
	}
	return out
}

func TestAFPacketVeth(t *testing.T) {
	p := netnstest.New(t)
	a := openAFPacket(t, AFPacketConfig{Interface: p.HostIf, DstPort: testDstPort, ReadTimeout: 5 * time.Second})
	const count = 200
	before := Now()
	if err := p.SendUDP(testDstPort+1, payloads(10, 30)); err != nil { // filtered in the kernel
		t.Fatal(err)
	}
	if err := p.SendUDP(testDstPort, payloads(count, 100)); err != nil {
		t.Fatal(err)
	}
	got := readN(t, a, count)
	after := Now()
	for i, pk := range got {
		if !bytes.Equal(pk.Data, payload(i, 100)) {
			t.Fatalf("datagram %d = %q", i, pk.Data)
		}
		if pk.SrcIP != ipv4Uint32(p.PeerIP) || pk.DstIP != ipv4Uint32(p.HostIP) || pk.DstPort != testDstPort || pk.SrcPort == 0 {
			t.Fatalf("datagram %d: %08x:%d -> %08x:%d", i, pk.SrcIP, pk.SrcPort, pk.DstIP, pk.DstPort)
		}
		if pk.RecvNs < before || pk.RecvNs > after {
			t.Fatalf("datagram %d RecvNs %d outside [%d, %d]", i, pk.RecvNs, before, after)
		}
	}
	// The host answers each datagram to its closed port with an ICMP port
	// unreachable, going out of HostIf: the filter drops outgoing frames,
	// and the other port never reaches the ring, so nothing is skipped.
	a.timeout = 50 * time.Millisecond
	if n, err := a.ReadBatch(make([]Packet, 8)); n != 0 || err != nil {
		t.Fatalf("extra ReadBatch = %d, %v", n, err)
	}
	s := a.Stats()
	if s.Packets != count || s.Bytes != count*100 || s.Skipped != 0 || s.Malformed != 0 || s.Dropped != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

// TestAFPacketAllPorts captures without a port filter: both ports arrive,
// and the host's outgoing ICMP replies are still filtered.
func TestAFPacketAllPorts(t *testing.T) {
	p := netnstest.New(t)
	a := openAFPacket(t, AFPacketConfig{Interface: p.HostIf, ReadTimeout: 5 * time.Second})
	if err := p.SendUDP(1000, payloads(5, 20)); err != nil {
		t.Fatal(err)
	}
	if err := p.SendUDP(2000, payloads(5, 20)); err != nil {
		t.Fatal(err)
	}
	got := readN(t, a, 10)
	for i, pk := range got {
		want := uint16(1000)
		if i >= 5 {
			want = 2000
		}
		if pk.DstPort != want || !bytes.Equal(pk.Data, payload(i%5, 20)) {
			t.Fatalf("datagram %d to %d: %q", i, pk.DstPort, pk.Data)
		}
	}
	// Non-UDP traffic reaching the ring is skipped: a ping from the peer.
	err := p.InPeer(func() error {
		c, err := net.Dial("ip4:icmp", p.HostIP.String())
		if err != nil {
			return err
		}
		defer c.Close()
		echo := []byte{8, 0, 0xf7, 0xff, 0, 0, 0, 0} // type 8, checksum over the zero rest
		_, err = c.Write(echo)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a.timeout = 200 * time.Millisecond
	if n, err := a.ReadBatch(make([]Packet, 8)); n != 0 || err != nil {
		t.Fatalf("ReadBatch after a ping = %d, %v", n, err)
	}
	if s := a.Stats(); s.Packets != 10 || s.Skipped != 1 {
		t.Fatalf("Stats = %+v, want 10 packets and the ping skipped", s)
	}
}

func TestAFPacketTimeoutAndClose(t *testing.T) {
	p := netnstest.New(t)
	a := openAFPacket(t, AFPacketConfig{Interface: p.HostIf, ReadTimeout: 20 * time.Millisecond})
	pkts := make([]Packet, 4)
	if n, err := a.ReadBatch(pkts); n != 0 || err != nil {
		t.Fatalf("idle ReadBatch = %d, %v", n, err)
	}
	// A reader blocked without a timeout is woken by Close.
	a.timeout = 0
	done := make(chan error)
	go func() {
		_, err := a.ReadBatch(pkts)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the reader block; the test holds either way
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked ReadBatch after Close = %v", err)
	}
	if _, err := a.ReadBatch(pkts); !errors.Is(err, ErrClosed) {
		t.Fatalf("ReadBatch after Close = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	_ = a.Stats() // safe after Close
}

func TestAFPacketUnknownInterface(t *testing.T) {
	if _, err := OpenAFPacket(AFPacketConfig{Interface: "no-such-if0"}); err == nil {
		t.Fatal("opened a missing interface")
	}
	if _, err := OpenAFPacket(AFPacketConfig{Interface: "../lo"}); !errors.Is(err, ErrConfig) {
		t.Fatalf("path-like interface name: %v", err)
	}
}

func TestAFPacketZeroAllocs(t *testing.T) {
	p := netnstest.New(t)
	a := openAFPacket(t, AFPacketConfig{Interface: p.HostIf, DstPort: testDstPort, ReadTimeout: 5 * time.Second})
	const runs = 100
	if err := p.SendUDP(testDstPort, payloads(runs+10, 64)); err != nil {
		t.Fatal(err)
	}
	pkts := make([]Packet, 1)
	if n, err := a.ReadBatch(pkts); n != 1 || err != nil { // waits for the first block
		t.Fatalf("ReadBatch = %d, %v", n, err)
	}
	allocs := testing.AllocsPerRun(runs, func() {
		if n, err := a.ReadBatch(pkts); n != 1 || err != nil {
			t.Fatalf("ReadBatch = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadBatch: %v allocs per run", allocs)
	}
}

// BenchmarkAFPacketVeth has a sender in the peer namespace blast 100-byte
// datagrams (sendmmsg, 64 per call) over the veth pair while ReadBatch
// captures them on the host end. One op is one datagram received.
func BenchmarkAFPacketVeth(b *testing.B) {
	p := netnstest.New(b)
	a := openAFPacket(b, AFPacketConfig{Interface: p.HostIf, DstPort: testDstPort, ReadTimeout: 2 * time.Second, Blocks: 128})
	var stop atomic.Bool
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := p.InPeer(func() error {
			c, err := net.DialUDP("udp4", &net.UDPAddr{IP: p.PeerIP}, &net.UDPAddr{IP: p.HostIP, Port: testDstPort})
			if err != nil {
				return err
			}
			defer c.Close()
			pc := ipv4.NewPacketConn(c)
			msgs := make([]ipv4.Message, 64)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{payload(i, 100)}
			}
			for !stop.Load() {
				n, err := pc.WriteBatch(msgs, 0)
				if err == nil {
					sent.Add(uint64(n))
				}
			}
			return nil
		})
		if err != nil {
			panic(fmt.Sprintf("sender: %v", err))
		}
	}()
	pkts := make([]Packet, 256)
	b.ReportAllocs()
	b.ResetTimer()
	received := 0
	for received < b.N {
		n, err := a.ReadBatch(pkts)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("capture timed out: the sender stopped")
		}
		received += n
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(received)/s, "pkts/s")
	}
	if total := sent.Load(); total > 0 {
		b.ReportMetric(float64(a.Stats().Dropped)/float64(total), "drop-ratio")
	}
}
