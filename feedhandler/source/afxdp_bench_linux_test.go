//go:build linux

package source_test

import (
	"encoding/binary"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/ballast-risk/ballast/feedhandler/internal/netnstest"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

const (
	// afxdpBenchPayloadBytes is the datagram size: sequence number, send
	// timestamp (source.Now) and padding.
	afxdpBenchPayloadBytes = 64
	// afxdpBenchSamplesMax bounds the latency samples kept per run.
	afxdpBenchSamplesMax = 1 << 20
	// afxdpBenchSendBatch is the datagrams per sendmmsg in the flood.
	afxdpBenchSendBatch = 32
	// afxdpBenchGapNs is how long the ping-pong sender waits after the
	// previous datagram was read, so the reader is back in its wait.
	afxdpBenchGapNs = 20_000
)

// BenchmarkAFXDPReceive measures the AF_XDP source on a veth pair. One op
// is one datagram read. The sender runs in this process (a UDP socket in
// the peer namespace), so payload timestamps and RecvNs share source.Now's
// clock; latency = RecvNs - send time, from just before the sender's
// syscall to the reader's ReadBatch, through the sender's kernel stack,
// veth, the XDP program and the AF_XDP copy.
//
//   - flood: sendmmsg bursts with at most half the RX ring in flight (no
//     drops by construction; drops are still reported); latency includes
//     queueing within that window.
//   - drain: 512 datagrams are sent and land in the RX ring, then
//     ReadBatch (busy-poll) drains them; rx-ns/pkt is the reader's own
//     cost per datagram (ring, decode, recycle) timed around the drain
//     alone, which the other cases hide behind the sender's kernel path.
//     Its ns/op is the whole round per datagram, sending included.
//   - pingpong: one datagram at a time, sent 20 µs after the previous one
//     was read, so the reader is asleep in poll (poll) or spinning
//     (busypoll): the per-datagram latency without queueing. Its ns/op
//     includes the 20 µs gap and is not a throughput figure.
func BenchmarkAFXDPReceive(b *testing.B) {
	for _, mode := range []source.XDPAttachMode{source.XDPAttachDriver, source.XDPAttachGeneric} {
		b.Run(mode.String()+"/flood", func(b *testing.B) { benchAFXDPFlood(b, mode) })
		b.Run(mode.String()+"/pingpong-poll", func(b *testing.B) { benchAFXDPPingPong(b, mode, false) })
		b.Run(mode.String()+"/pingpong-busypoll", func(b *testing.B) { benchAFXDPPingPong(b, mode, true) })
	}
	b.Run("drain", benchAFXDPDrain)
}

// afxdpBenchSetup opens the source and a connected sender socket in the
// peer namespace.
func afxdpBenchSetup(b *testing.B, mode source.XDPAttachMode, busy bool) (*source.AFXDP, *net.UDPConn) {
	pair := netnstest.New(b)
	a := openAFXDP(b, source.AFXDPConfig{
		Interface:   pair.HostIf,
		DstPort:     afxdpFeedPort,
		XDPMode:     mode,
		BindMode:    source.AFXDPBindCopy,
		FrameCount:  4096,
		RingSize:    1024,
		BusyPoll:    busy,
		ReadTimeout: time.Second,
	})
	var conn *net.UDPConn
	err := pair.InPeer(func() error {
		var err error
		conn, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: pair.HostIP, Port: afxdpFeedPort})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return a, conn
}

func benchAFXDPFlood(b *testing.B, mode source.XDPAttachMode) {
	a, conn := afxdpBenchSetup(b, mode, false)
	const window = 512
	var received atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		pc := ipv4.NewPacketConn(conn)
		msgs := make([]ipv4.Message, afxdpBenchSendBatch)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, afxdpBenchPayloadBytes)}
		}
		var seq int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			if seq-received.Load() > window-afxdpBenchSendBatch {
				runtime.Gosched() // window full: let the reader run
				continue
			}
			now := source.Now()
			for i := range msgs {
				p := msgs[i].Buffers[0]
				binary.LittleEndian.PutUint64(p, uint64(seq))
				binary.LittleEndian.PutUint64(p[8:], uint64(now))
				seq++
			}
			if _, err := pc.WriteBatch(msgs, 0); err != nil {
				sendErr = err
				return
			}
		}
	}()

	lat := make([]int64, 0, min(b.N, afxdpBenchSamplesMax))
	pkts := make([]source.Packet, 256)
	b.ResetTimer()
	var n int64
	for n < int64(b.N) {
		k, err := a.ReadBatch(pkts)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			b.Fatalf("read timed out after %d of %d; stats %+v", n, b.N, a.Stats())
		}
		for _, p := range pkts[:k] {
			if len(lat) < cap(lat) {
				lat = append(lat, p.RecvNs-int64(binary.LittleEndian.Uint64(p.Data[8:])))
			}
		}
		n += int64(k)
		received.Store(n)
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if sendErr != nil {
		b.Fatal(sendErr)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pkts/s")
	afxdpReport(b, a, lat)
}

func benchAFXDPDrain(b *testing.B) {
	a, conn := afxdpBenchSetup(b, source.XDPAttachDriver, true)
	const round = 512 // half the RX ring
	pc := ipv4.NewPacketConn(conn)
	msgs := make([]ipv4.Message, afxdpBenchSendBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, afxdpBenchPayloadBytes)}
	}
	pkts := make([]source.Packet, 256)
	var redirected uint64
	var rxNs int64
	b.ResetTimer()
	n := 0
	for n < b.N {
		for sent := 0; sent < round; sent += len(msgs) {
			if _, err := pc.WriteBatch(msgs, 0); err != nil {
				b.Fatal(err)
			}
		}
		redirected += round
		deadline := time.Now().Add(5 * time.Second)
		for {
			x, err := a.XDPStats()
			if err != nil {
				b.Fatal(err)
			}
			if x.Redirected >= redirected {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("only %d of %d redirected", x.Redirected, redirected)
			}
		}
		t0 := source.Now()
		for got := 0; got < round; {
			k, err := a.ReadBatch(pkts)
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				b.Fatalf("ring drained after %d of %d", got, round)
			}
			got += k
		}
		rxNs += source.Now() - t0
		n += round
	}
	b.StopTimer()
	b.ReportMetric(float64(rxNs)/float64(n), "rx-ns/pkt")
	b.ReportMetric(float64(n)*1e9/float64(max(rxNs, 1)), "rx-pkts/s")
	b.ReportMetric(float64(a.Stats().Dropped), "drops")
}

func benchAFXDPPingPong(b *testing.B, mode source.XDPAttachMode, busy bool) {
	a, conn := afxdpBenchSetup(b, mode, busy)
	next := make(chan struct{}, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sendErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := make([]byte, afxdpBenchPayloadBytes)
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-next:
			}
			for t0 := source.Now(); source.Now()-t0 < afxdpBenchGapNs; {
			}
			binary.LittleEndian.PutUint64(p, seq)
			binary.LittleEndian.PutUint64(p[8:], uint64(source.Now()))
			if _, err := conn.Write(p); err != nil {
				sendErr = err
				return
			}
		}
	}()

	lat := make([]int64, 0, min(b.N, afxdpBenchSamplesMax))
	pkts := make([]source.Packet, 4)
	b.ResetTimer()
	var n int64
	deadline := time.Now().Add(time.Minute)
	for n < int64(b.N) {
		next <- struct{}{}
		for {
			k, err := a.ReadBatch(pkts)
			if err != nil {
				b.Fatal(err)
			}
			if k == 1 {
				if len(lat) < cap(lat) {
					lat = append(lat, pkts[0].RecvNs-int64(binary.LittleEndian.Uint64(pkts[0].Data[8:])))
				}
				break
			}
			if k > 1 {
				b.Fatalf("read %d datagrams in ping-pong", k)
			}
			if time.Now().After(deadline) || !busy {
				b.Fatalf("datagram %d not received; stats %+v", n, a.Stats())
			}
		}
		n++
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if sendErr != nil {
		b.Fatal(sendErr)
	}
	afxdpReport(b, a, lat)
}

// afxdpReport reports drops and latency percentiles.
func afxdpReport(b *testing.B, a *source.AFXDP, lat []int64) {
	b.ReportMetric(float64(a.Stats().Dropped), "drops")
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
}
