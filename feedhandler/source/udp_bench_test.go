package source

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// BenchmarkUDPLoopback has a sender goroutine blast 100-byte datagrams
// over loopback (sendmmsg, 64 per call) while ReadBatch receives them; one
// op is one datagram received. Sender and receiver share the machine's
// cores, and the loopback path runs the kernel's receive work on the
// sender's core, so this measures the whole host, not the receiver alone.
func BenchmarkUDPLoopback(b *testing.B) {
	for _, rx := range receivers() {
		b.Run(rx.name, func(b *testing.B) {
			benchUDP(b, rx.portable, 100)
		})
	}
}

func benchUDP(b *testing.B, portable bool, size int) {
	u, err := ListenUDP(UDPConfig{
		Addr:            loopback,
		RecvBufferBytes: 32 << 20,
		BatchMax:        256,
		ReadTimeout:     2 * time.Second,
		portable:        portable,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	c, err := net.DialUDP("udp4", nil, u.LocalAddr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{payload(i, size)}
	}
	var stop atomic.Bool
	var sent atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			n, err := pc.WriteBatch(msgs, 0)
			if err != nil {
				continue // ENOBUFS or ECONNREFUSED after Close: keep going until stopped
			}
			sent.Add(uint64(n))
		}
	}()
	pkts := make([]Packet, 256)
	b.ReportAllocs()
	b.ResetTimer()
	received := 0
	for received < b.N {
		n, err := u.ReadBatch(pkts)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("receive timed out: the sender stopped")
		}
		received += n
	}
	b.StopTimer()
	stop.Store(true)
	wg.Wait()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(received)/s, "pkts/s")
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(sent.Load())/s, "sent/s")
	}
	if total := sent.Load(); total > 0 {
		b.ReportMetric(float64(u.Stats().Dropped)/float64(total), "drop-ratio")
	}
}

// BenchmarkUDPReceiveQueued measures the receive path alone: with the
// timer stopped the socket buffer is filled with 4,096 100-byte datagrams,
// then ReadBatch drains them. One op is one datagram.
func BenchmarkUDPReceiveQueued(b *testing.B) {
	for _, rx := range receivers() {
		b.Run(rx.name, func(b *testing.B) {
			u, err := ListenUDP(UDPConfig{
				Addr:            loopback,
				RecvBufferBytes: 64 << 20,
				BatchMax:        256,
				ReadTimeout:     2 * time.Second,
				portable:        rx.portable,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer u.Close()
			c, err := net.DialUDP("udp4", nil, u.LocalAddr())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			pc := ipv4.NewPacketConn(c)
			msgs := make([]ipv4.Message, 64)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{payload(i, 100)}
			}
			const queued = 4096
			pkts := make([]Packet, 256)
			b.ReportAllocs()
			b.ResetTimer()
			for received := 0; received < b.N; {
				b.StopTimer()
				for sent := 0; sent < queued; {
					n, err := pc.WriteBatch(msgs, 0)
					if err != nil {
						b.Fatal(err)
					}
					sent += n
				}
				b.StartTimer()
				for got := 0; got < queued; {
					n, err := u.ReadBatch(pkts)
					if err != nil || n == 0 {
						b.Fatalf("ReadBatch = %d, %v after %d of %d", n, err, got, queued)
					}
					got += n
				}
				received += queued
			}
			b.StopTimer()
			if s := u.Stats(); s.Dropped != 0 {
				b.Fatalf("%d datagrams dropped: the socket buffer is too small", s.Dropped)
			}
			if s := b.Elapsed().Seconds(); s > 0 {
				b.ReportMetric(float64(b.N)/s, "pkts/s")
			}
		})
	}
}
