package feedhandler_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/pcapw"
)

// session generates a simulated session and returns its MoldUDP64 packets
// and the generator (whose reference books are the oracle).
func session(t testing.TB, symbols int, messages uint64, seed uint64) ([][]byte, *itchgen.Generator) {
	t.Helper()
	g, err := itchgen.New(itchgen.Config{SymbolCount: symbols, Messages: messages, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := g.Packets(moldudp64.MakeSession("RT0001"), 0)
	if err != nil {
		t.Fatal(err)
	}
	return pkts, g
}

func capture(t testing.TB, cfg pcapw.Config, pkts [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapw.NewWriter(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		if err := w.WritePacket(int64(1_700_000_000_000_000_000+i*1000), p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compareBooks(t *testing.T, got feedhandler.Summary, g *itchgen.Generator) {
	t.Helper()
	ref := g.Books()
	if len(got.Books) != len(ref) {
		t.Errorf("books: got %d, want %d", len(got.Books), len(ref))
	}
	val := func(p *uint64) uint64 {
		if p == nil {
			return 0
		}
		return *p
	}
	for _, r := range ref {
		b, ok := got.Books[r.Symbol]
		if !ok {
			t.Errorf("book %s missing", r.Symbol)
			continue
		}
		gotS := fmt.Sprintf("locate %d bid %d x%d ask %d x%d last %d orders %d",
			b.Locate, val(b.Bid), b.BidSize, val(b.Ask), b.AskSize, val(b.Last), b.Orders)
		wantS := fmt.Sprintf("locate %d bid %d x%d ask %d x%d last %d orders %d",
			r.Locate, r.Bid, r.BidSize, r.Ask, r.AskSize, r.Last, r.Orders)
		if gotS != wantS {
			t.Errorf("book %s:\n got %s\nwant %s", r.Symbol, gotS, wantS)
		}
	}
}

// TestRoundTrip: simulator → pcap (every format variant) → feed handler →
// books equal to the simulator's own reference state.
func TestRoundTrip(t *testing.T) {
	pkts, g := session(t, 12, 120_000, 42)
	for _, tc := range []struct {
		name string
		cfg  pcapw.Config
	}{
		{"pcap-us", pcapw.Config{}},
		{"pcap-ns-vlan", pcapw.Config{Nanos: true, VLAN: true, VLANID: 42}},
		{"pcapng-udpsum", pcapw.Config{Format: pcapw.FormatPcapNG, UDPChecksum: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := replay(t, capture(t, tc.cfg, pkts))
			if got.Packets != uint64(len(pkts)) || got.Messages != 120_000 || got.Errors != 0 ||
				got.Duplicates != 0 || len(got.Gaps) != 0 || !got.EndOfSession || got.UnknownOrders != 0 {
				t.Fatalf("counters: %+v (packets sent %d)", got, len(pkts))
			}
			var sum uint64
			for _, n := range got.ByType {
				sum += n
			}
			if sum != got.Messages {
				t.Fatalf("by_type sums to %d, messages %d", sum, got.Messages)
			}
			compareBooks(t, got, g)
		})
	}
}

// TestRoundTripGapsAndDuplicates drops and repeats chosen packets and checks
// the gaps and duplicate counts exactly.
func TestRoundTripGapsAndDuplicates(t *testing.T) {
	pkts, _ := session(t, 4, 20_000, 9)
	var kept [][]byte
	var wantGaps []feedhandler.Gap
	var wantDup, wantMsgs uint64
	for i, p := range pkts {
		h, err := moldudp64.ParseHeader(p)
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(h.Messages())
		switch {
		case i > 0 && i%97 == 0 && i < len(pkts)-2:
			// Drop: a gap of exactly this packet's messages (the next
			// packet is never dropped, since 97 and 98 are not both multiples).
			wantGaps = append(wantGaps, feedhandler.Gap{Session: "RT0001", First: h.Seq, Last: h.Seq + n - 1})
			continue
		case i%50 == 0:
			kept = append(kept, p, p) // a duplicate copy
			wantDup += n
		default:
			kept = append(kept, p)
		}
		wantMsgs += n
	}
	got := replay(t, capture(t, pcapw.Config{}, kept))
	if got.Messages+got.Errors != wantMsgs || got.Duplicates != wantDup {
		t.Fatalf("messages %d errors %d duplicates %d; want messages %d duplicates %d",
			got.Messages, got.Errors, got.Duplicates, wantMsgs, wantDup)
	}
	if fmt.Sprint(got.Gaps) != fmt.Sprint(wantGaps) {
		t.Fatalf("gaps:\n got %v\nwant %v", got.Gaps, wantGaps)
	}
}

// BenchmarkReplay measures the whole replay path from an in-memory capture:
// pcap parse, frame decode, MoldUDP64 sequencing, ITCH decode, book update.
func BenchmarkReplay(b *testing.B) {
	pkts, _ := session(b, 50, 500_000, 1)
	cap := capture(b, pcapw.Config{}, pkts)
	b.SetBytes(int64(len(cap)))
	b.ResetTimer()
	var msgs uint64
	for i := 0; i < b.N; i++ {
		src, err := source.NewPcap(bytes.NewReader(cap), source.PcapOptions{})
		if err != nil {
			b.Fatal(err)
		}
		h, err := feedhandler.New(feedhandler.Config{Books: book.Config{OrdersMax: 1 << 20, BooksMax: 256, LevelsMax: 256}})
		if err != nil {
			b.Fatal(err)
		}
		if err := feedhandler.Run(context.Background(), h, src, feedhandler.RunOptions{}); err != nil {
			b.Fatal(err)
		}
		msgs += h.Counters().Messages
	}
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}
