package itchgen

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

func TestPackets(t *testing.T) {
	g, err := New(Config{SymbolCount: 3, Messages: 5000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := g.Packets(moldudp64.MakeSession("PKT"), 600)
	if err != nil {
		t.Fatal(err)
	}
	next := uint64(1)
	var m itch.Message
	for i, p := range pkts {
		if len(p) > 600 {
			t.Fatalf("packet %d: %d bytes", i, len(p))
		}
		h, err := moldudp64.Validate(p)
		if err != nil {
			t.Fatal(err)
		}
		if h.Seq != next {
			t.Fatalf("packet %d starts at %d, want %d", i, h.Seq, next)
		}
		if i == len(pkts)-1 {
			if !h.IsEndOfSession() {
				t.Fatal("last packet is not end of session")
			}
			break
		}
		var it moldudp64.Iterator
		it.Reset(p)
		for {
			_, msg, ok := it.Next()
			if !ok {
				break
			}
			if err := m.Decode(msg); err != nil {
				t.Fatal(err)
			}
			next++
		}
	}
	if next-1 != 5000 || !g.Done() {
		t.Fatalf("%d messages, done %v", next-1, g.Done())
	}
}
