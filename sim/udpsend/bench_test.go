package udpsend

import (
	"context"
	"net"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// sink is a bound loopback socket nobody reads: the kernel drops what
// overflows its buffer, and sends never fail.
func sink(tb testing.TB) *net.UDPConn {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	conn, err := Dial(DialConfig{Addr: l.LocalAddr().String()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// BenchmarkRunUnpaced measures the sender at full speed on loopback, the
// generator included: ns/op is per message.
func BenchmarkRunUnpaced(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run(map[int]string{1: "batch=1", 32: "batch=32"}[batch], func(b *testing.B) {
			conn := sink(b)
			g, err := itchgen.New(itchgen.Config{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			var m itch.Message
			n := 0
			next := func(dst []byte) ([]byte, bool) {
				if n == b.N {
					return dst, false
				}
				n++
				g.Next(&m)
				return m.Append(dst), true
			}
			s, err := New(conn, Config{BatchPackets: batch})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := s.Run(context.Background(), next); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			st := s.Stats()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(st.Messages)/sec, "msgs/s")
			b.ReportMetric(float64(st.Packets)/sec, "pkts/s")
			b.ReportMetric(float64(st.Packets)/float64(st.Writes), "pkts/write")
		})
	}
}

// BenchmarkAppend measures numbering, storing and packetizing one 36-byte
// message, with the amortized cost of writing its packet to a loopback
// socket nobody reads.
func BenchmarkAppend(b *testing.B) {
	conn := sink(b)
	s, err := New(conn, Config{Store: discardStore{}})
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 36)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Append(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

type discardStore struct{}

func (discardStore) Append(uint64, []byte) error { return nil }

func TestRunZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	conn := sink(t)
	s, err := New(conn, Config{BatchPackets: 8})
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 36)
	next := func(dst []byte) ([]byte, bool) { return append(dst, msg...), true }
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		if _, err := s.step(ctx, next); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := s.step(ctx, next); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a batch of sends allocates %.1f times", allocs)
	}
}
