package moldudp64

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestPacketizerSizes(t *testing.T) {
	for _, cfg := range []PacketizerConfig{
		{Session: testSession},
		{Session: testSession, PayloadBytesMax: 200, NextSeq: 50},
		{Session: testSession, PayloadBytesMax: PayloadBytesMin + 30, MessagesPerPacketMax: 1},
		{Session: testSession, MessagesPerPacketMax: 3},
	} {
		limit := cfg.PayloadBytesMax
		if limit == 0 {
			limit = PayloadBytesDefault
		}
		var pkts [][]byte
		p, err := NewPacketizer(cfg, func(pkt []byte, h Header) error {
			if len(pkt) > limit {
				t.Fatalf("packet of %d bytes exceeds %d", len(pkt), cfg.PayloadBytesMax)
			}
			got, err := Validate(pkt)
			if err != nil || got != h {
				t.Fatalf("emitted packet: header %+v vs %+v, %v", got, h, err)
			}
			pkts = append(pkts, append([]byte(nil), pkt...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		first := max(cfg.NextSeq, 1)
		const n = 500
		for i := uint64(0); i < n; i++ {
			seq, err := p.Append(msgFor(first + i)[:min(len(msgFor(first+i)), 28)])
			if err != nil || seq != first+i {
				t.Fatalf("Append %d = %d, %v", first+i, seq, err)
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		if p.Pending() != 0 || p.NextSeq() != first+n {
			t.Fatalf("after flush: pending %d next %d", p.Pending(), p.NextSeq())
		}
		next := first
		for _, pkt := range pkts {
			var it Iterator
			h, _ := it.Reset(pkt)
			if h.Seq != next || h.Session != testSession {
				t.Fatalf("packet starts at %d, want %d", h.Seq, next)
			}
			if cfg.MessagesPerPacketMax > 0 && int(h.Count) > cfg.MessagesPerPacketMax {
				t.Fatalf("%d messages in a packet, max %d", h.Count, cfg.MessagesPerPacketMax)
			}
			for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
				want := msgFor(seq)
				if !bytes.Equal(msg, want[:min(len(want), 28)]) {
					t.Fatalf("message %d wrong", seq)
				}
			}
			next = h.Next()
		}
		if next != first+n {
			t.Fatalf("packets cover up to %d, want %d", next, first+n)
		}
		// Packets are filled: each one but the last could not take the
		// first message of the next.
		if cfg.MessagesPerPacketMax == 0 {
			for i, pkt := range pkts[:len(pkts)-1] {
				next := pkts[i+1]
				nextMsg := BlockHeaderLen + int(binary.BigEndian.Uint16(next[HeaderLen:]))
				if len(pkt)+nextMsg <= limit {
					t.Fatalf("packet %d of %d bytes emitted with room for %d more", i, len(pkt), nextMsg)
				}
			}
		}
	}
}

func TestPacketizerErrors(t *testing.T) {
	nop := func([]byte, Header) error { return nil }
	for _, cfg := range []PacketizerConfig{
		{PayloadBytesMax: PayloadBytesMin - 1},
		{PayloadBytesMax: PacketBytesMax + 1},
		{MessagesPerPacketMax: MessageCountMax + 1},
		{MessagesPerPacketMax: -1},
	} {
		if _, err := NewPacketizer(cfg, nop); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := NewPacketizer(PacketizerConfig{}, nil); err == nil {
		t.Error("nil EmitFunc accepted")
	}
	p, err := NewPacketizer(PacketizerConfig{PayloadBytesMax: 100}, nop)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(make([]byte, 100-PayloadBytesMin+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized message: %v", err)
	}
	if seq, err := p.Append(make([]byte, 100-PayloadBytesMin)); err != nil || seq != 1 {
		t.Fatalf("exactly fitting message: %d, %v", seq, err)
	}
	// The largest message fits the largest packet.
	big, _ := NewPacketizer(PacketizerConfig{PayloadBytesMax: PacketBytesMax}, nop)
	if _, err := big.Append(make([]byte, MessageBytesMax)); err != nil {
		t.Fatalf("MessageBytesMax message: %v", err)
	}

	boom := errors.New("send failed")
	fail := false
	p, _ = NewPacketizer(PacketizerConfig{PayloadBytesMax: 60}, func([]byte, Header) error {
		if fail {
			return boom
		}
		return nil
	})
	for i := 0; i < 3; i++ {
		if _, err := p.Append(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
	}
	fail = true
	if _, err := p.Append(make([]byte, 10)); !errors.Is(err, boom) {
		t.Fatalf("emit error not returned by Append: %v", err)
	}
	if p.Pending() != 0 || p.NextSeq() != 4 {
		t.Fatalf("after failed emit: pending %d next %d", p.Pending(), p.NextSeq())
	}
	p.Reset(1000)
	if p.NextSeq() != 1000 || p.Pending() != 0 {
		t.Fatalf("Reset: next %d", p.NextSeq())
	}
}

func TestPacketizerHeartbeat(t *testing.T) {
	p, _ := NewPacketizer(PacketizerConfig{Session: testSession, NextSeq: 77}, func([]byte, Header) error { return nil })
	hb, err := ParseHeader(p.AppendHeartbeat(nil))
	if err != nil || hb != (Header{Session: testSession, Seq: 77}) {
		t.Fatalf("heartbeat %+v %v", hb, err)
	}
	eos, err := ParseHeader(p.AppendEndOfSession(nil))
	if err != nil || eos != (Header{Session: testSession, Seq: 77, Count: EndOfSession}) {
		t.Fatalf("end of session %+v %v", eos, err)
	}
	if p.Session() != testSession {
		t.Fatal("Session()")
	}
}

func TestPacketizerAllocs(t *testing.T) {
	var sink int
	p, _ := NewPacketizer(PacketizerConfig{Session: testSession}, func(pkt []byte, _ Header) error {
		sink += len(pkt)
		return nil
	})
	msg := make([]byte, 36)
	n := testing.AllocsPerRun(1000, func() {
		if _, err := p.Append(msg); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("Append allocates %v times", n)
	}
}

func BenchmarkPacketizerAppend(b *testing.B) {
	var sink int
	p, _ := NewPacketizer(PacketizerConfig{Session: testSession}, func(pkt []byte, _ Header) error {
		sink += len(pkt)
		return nil
	})
	msg := make([]byte, 36)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Append(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
