package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/pcapw"
)

// writeSession writes a simulated session to a pcap and returns the path
// and the generator holding the reference books.
func writeSession(t *testing.T, dropEvery int, dropFirst ...int) (string, *itchgen.Generator) {
	t.Helper()
	g, err := itchgen.New(itchgen.Config{SymbolCount: 6, Messages: 30_000, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapw.NewWriter(f, pcapw.Config{DstPort: 30001})
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := g.Packets(moldudp64.MakeSession("CTL"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, pkt := range pkts {
		n := i + 1 // packets are numbered from 1; the end of session is never dropped
		if i < len(pkts)-1 && ((dropEvery > 0 && n%dropEvery == 0) || (len(dropFirst) > 0 && n <= dropFirst[0])) {
			continue
		}
		if err := w.WritePacket(int64(n)*1000, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, g
}

func keys(m map[string]json.RawMessage) string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func TestFeedSummaryContract(t *testing.T) {
	path, g := writeSession(t, 0)
	var out, errb bytes.Buffer
	if code := run([]string{"feed", "--pcap", path, "--summary"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &top); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	// DESIGN §5.1's fields, plus the documented extensions.
	for _, k := range []string{"packets", "messages", "by_type", "duplicates", "gaps", "errors", "books"} {
		if _, ok := top[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	var books map[string]map[string]json.RawMessage
	if err := json.Unmarshal(top["books"], &books); err != nil {
		t.Fatal(err)
	}
	if len(books) != 6 {
		t.Fatalf("%d books", len(books))
	}
	for sym, b := range books {
		if got := keys(b); got != "ask,ask_size,bid,bid_size,last,locate,orders" {
			t.Errorf("book %s keys %s", sym, got)
		}
	}
	var s struct {
		Messages uint64
		Gaps     []any
		Books    map[string]struct {
			Locate         uint16  `json:"locate"`
			Bid, Ask, Last *uint64 // matched case-insensitively: bid, ask, last
			BidSize        uint64  `json:"bid_size"`
			AskSize        uint64  `json:"ask_size"`
			Orders         int     `json:"orders"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Messages != 30_000 || len(s.Gaps) != 0 {
		t.Fatalf("messages %d gaps %v", s.Messages, s.Gaps)
	}
	for _, r := range g.Books() {
		b := s.Books[r.Symbol]
		if b.Locate != r.Locate || b.Orders != r.Orders || b.BidSize != r.BidSize || b.AskSize != r.AskSize ||
			(b.Bid == nil) != (r.Bid == 0) || (b.Bid != nil && *b.Bid != uint64(r.Bid)) ||
			(b.Ask == nil) != (r.Ask == 0) || (b.Ask != nil && *b.Ask != uint64(r.Ask)) ||
			(b.Last == nil) != (r.Last == 0) || (b.Last != nil && *b.Last != uint64(r.Last)) {
			t.Errorf("book %s differs from the simulator's: %+v vs %+v", r.Symbol, b, r)
		}
	}
	// The port filter: nothing is addressed to another port.
	out.Reset()
	if code := run([]string{"feed", "--pcap", path, "--summary", "--port", "9"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), `"packets":0,`) {
		t.Fatalf("port filter let packets through: %s", out.String()[:80])
	}
}

func TestFeedGapsAndTable(t *testing.T) {
	path, _ := writeSession(t, 10)
	var out, errb bytes.Buffer
	if code := run([]string{"feed", "--pcap", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	if !strings.Contains(text, "gap CTL [") || !strings.Contains(text, "symbol") {
		t.Fatalf("table output:\n%s", text)
	}
}

// TestFeedLeadingGap: a capture missing the session's first packet reports
// the messages before its first sequence number as a gap.
func TestFeedLeadingGap(t *testing.T) {
	path, _ := writeSession(t, 0, 1)
	var out, errb bytes.Buffer
	if code := run([]string{"feed", "--pcap", path, "--summary"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var s struct {
		Gaps []struct {
			Session     string
			First, Last uint64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Gaps) != 1 || s.Gaps[0].Session != "CTL" || s.Gaps[0].First != 1 || s.Gaps[0].Last < 1 {
		t.Fatalf("gaps %+v", s.Gaps)
	}
}

func TestUsageAndFailures(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"nope"}, exitUsage},
		{[]string{"feed"}, exitUsage},
		{[]string{"feed", "--pcap"}, exitUsage},
		{[]string{"feed", "--pcap", "x", "extra"}, exitUsage},
		{[]string{"feed", "--pcap", "/nonexistent.pcap"}, exitFail},
		{[]string{"feed", "--help"}, exitOK},
		{[]string{"--help"}, exitOK},
	} {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errb.String())
		}
	}
	// Garbage instead of a capture is an error, not a panic.
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, []byte("this is not a capture file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"feed", "--pcap", bad, "--summary"}, &out, &errb); code != exitFail {
		t.Fatalf("garbage file: exit %d", code)
	}
}
