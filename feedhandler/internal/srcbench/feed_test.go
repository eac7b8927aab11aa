package srcbench

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// TestFeedPackets decodes the Feed's packets with the production decoders
// and checks the add/delete alternation, sequence numbers and timestamps.
func TestFeedPackets(t *testing.T) {
	f := NewFeed()
	if f.Next() != 1 {
		t.Fatalf("first sequence number %d, want 1", f.Next())
	}
	session := moldudp64.MakeSession(Session)
	var m itch.Message
	for seq := uint64(1); seq <= 10; seq++ {
		ts := int64(1_000 * seq)
		pkt := f.AppendNext(nil, ts)
		if len(pkt) > PacketBytesMax {
			t.Fatalf("packet %d is %d bytes, above PacketBytesMax %d", seq, len(pkt), PacketBytesMax)
		}
		h, err := moldudp64.Validate(pkt)
		if err != nil {
			t.Fatalf("packet %d: %v", seq, err)
		}
		if h.Session != session || h.Seq != seq || h.Count != 1 {
			t.Fatalf("packet %d header %+v", seq, h)
		}
		// One block: 20-byte header, 2-byte length, the message.
		msg := pkt[22:]
		if int(pkt[20])<<8|int(pkt[21]) != len(msg) {
			t.Fatalf("packet %d block length %d, message %d bytes", seq, int(pkt[20])<<8|int(pkt[21]), len(msg))
		}
		if err := m.Decode(msg); err != nil {
			t.Fatalf("packet %d: %v", seq, err)
		}
		if m.StockLocate != Locate || m.Timestamp != uint64(ts) {
			t.Fatalf("packet %d: locate %d timestamp %d", seq, m.StockLocate, m.Timestamp)
		}
		order := (seq + 1) / 2
		if seq%2 == 1 {
			a := m.AddOrder
			if m.Type != itch.TypeAddOrder || a.OrderRef != order || a.Side != 'B' || a.Shares != Shares || a.Price != Price || string(a.Stock[:]) != Stock {
				t.Fatalf("packet %d: type %c %+v", seq, m.Type, a)
			}
		} else if m.Type != itch.TypeOrderDelete || m.OrderDelete.OrderRef != order {
			t.Fatalf("packet %d: type %c %+v", seq, m.Type, m.OrderDelete)
		}
		if f.Next() != seq+1 {
			t.Fatalf("after packet %d Next = %d", seq, f.Next())
		}
	}
}

func TestFeedAppendsToDst(t *testing.T) {
	f := NewFeed()
	prefix := []byte("keep")
	pkt := f.AppendNext(prefix, 7)
	if string(pkt[:4]) != "keep" {
		t.Fatalf("prefix overwritten: %q", pkt[:4])
	}
	if _, err := moldudp64.Validate(pkt[4:]); err != nil {
		t.Fatal(err)
	}
}

func TestFeedTimestampOutOfRangePanics(t *testing.T) {
	for _, ts := range []int64{-1, itch.TimestampMax + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendNext(ts=%d) did not panic", ts)
				}
			}()
			NewFeed().AppendNext(nil, ts)
		}()
	}
}

func TestFeedAppendNextAllocs(t *testing.T) {
	f := NewFeed()
	buf := make([]byte, 0, PacketBytesMax)
	if a := testing.AllocsPerRun(1000, func() { buf = f.AppendNext(buf[:0], 12345) }); a != 0 {
		t.Fatalf("AppendNext: %v allocs per packet", a)
	}
}

func BenchmarkFeedAppendNext(b *testing.B) {
	f := NewFeed()
	buf := make([]byte, 0, PacketBytesMax)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendNext(buf[:0], 12345)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
