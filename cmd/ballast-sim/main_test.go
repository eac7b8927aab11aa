package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string // expected in stdout+stderr
	}{
		{nil, exitUsage, "Usage:"},
		{[]string{"bogus"}, exitUsage, "unknown command"},
		{[]string{"help"}, exitOK, "ballast-sim pcap"},
		{[]string{"--help"}, exitOK, "ballast-sim send"},
		{[]string{"help", "pcap"}, exitOK, "-drop-rate"},
		{[]string{"help", "send"}, exitOK, "-rerequest"},
		{[]string{"help", "nope"}, exitUsage, "unknown command"},
		{[]string{"pcap", "-h"}, exitOK, "-window-us"},
		{[]string{"pcap", "--messages", "1000"}, exitUsage, "--out is required"},
		{[]string{"pcap", "--out", "x.pcap"}, exitUsage, "--seconds or --messages"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "5"}, exitUsage, "Messages 5 below"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--nope"}, exitUsage, "not defined"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--drop-rate", "2"}, exitUsage, "--drop-rate"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--drop-packets", "5-2"}, exitUsage, "bad range"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--dst", "::1:5"}, exitUsage, "--dst"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--vlan-id", "5000"}, exitUsage, "--vlan-id"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--names", "A,A"}, exitUsage, "duplicate"},
		{[]string{"pcap", "--out", "x.pcap", "--messages", "1000", "--session", "ELEVENCHARS"}, exitUsage, "--session"},
		{[]string{"send"}, exitUsage, "--to is required"},
		{[]string{"send", "--to", "127.0.0.1:9", "--rate", "5", "--msg-rate", "5"}, exitUsage, "not both"},
		{[]string{"send", "--to", "nowhere"}, exitUsage, "Addr"},
	}
	for _, c := range cases {
		code, out, errOut := runCmd(c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.out) {
			t.Errorf("%q: exit %d (want %d), output lacks %q:\n%s%s", c.args, code, c.code, c.out, out, errOut)
		}
	}
	if _, err := os.Stat("x.pcap"); err == nil {
		t.Error("a usage error created the output file")
	}
}

// summary is the part of the pcap summary the tests read.
type summary struct {
	Packets         uint64              `json:"packets"`
	Messages        uint64              `json:"messages"`
	ByType          map[string]uint64   `json:"by_type"`
	Heartbeats      uint64              `json:"heartbeats"`
	Generated       uint64              `json:"generated_messages"`
	DroppedPackets  uint64              `json:"dropped_packets"`
	DroppedMessages uint64              `json:"dropped_messages"`
	Gaps            []gapJSON           `json:"gaps"`
	Books           map[string]bookJSON `json:"books"`
	Format          string              `json:"format"`
}

// replay decodes a capture independently: gopacket for the frames,
// moldudp64 and itch for the payloads, and a naive book.
type replay struct {
	packets, heartbeats, ends uint64
	messages                  uint64
	byType                    map[string]uint64
	seqs                      map[uint64]bool
	books                     map[string]bookJSON
	vlan                      bool
	lastTs                    time.Time
}

type naiveOrder struct {
	locate uint16
	buy    bool
	price  uint32
	shares uint32
}

func replayCapture(t *testing.T, path string, ng bool) *replay {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var src gopacket.PacketDataSource
	if ng {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src = r
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		src = r
	}
	rp := &replay{byType: map[string]uint64{}, seqs: map[uint64]bool{}}
	orders := map[uint64]*naiveOrder{}
	symbols := map[uint16]string{}
	last := map[uint16]uint32{}
	var it moldudp64.Iterator
	var m itch.Message
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.Timestamp.Before(rp.lastTs) {
			t.Fatal("capture timestamps go backwards")
		}
		rp.lastTs = ci.Timestamp
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		if pkt.Layer(layers.LayerTypeDot1Q) != nil {
			rp.vlan = true
		}
		udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			t.Fatal("frame without UDP")
		}
		h, err := it.Reset(udp.Payload)
		if err != nil {
			t.Fatalf("bad MoldUDP64 packet: %v", err)
		}
		rp.packets++
		switch {
		case h.IsEndOfSession():
			rp.ends++
			continue
		case h.IsHeartbeat():
			rp.heartbeats++
			continue
		}
		for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
			rp.seqs[seq] = true
			if err := m.Decode(msg); err != nil {
				t.Fatalf("seq %d: %v", seq, err)
			}
			rp.messages++
			rp.byType[string(rune(m.Type))]++
			loc := m.StockLocate
			switch m.Type {
			case itch.TypeStockDirectory:
				symbols[loc] = itch.Symbol(m.StockDirectory.Stock)
			case itch.TypeAddOrder, itch.TypeAddOrderMPID:
				a := m.AddOrder
				orders[a.OrderRef] = &naiveOrder{loc, a.Side == 'B', a.Price, a.Shares}
			case itch.TypeOrderExecuted:
				if o := orders[m.OrderExecuted.OrderRef]; o != nil {
					last[loc] = o.price
					o.shares -= m.OrderExecuted.Shares
				}
			case itch.TypeOrderExecutedWithPrice:
				e := m.OrderExecutedWithPrice
				if o := orders[e.OrderRef]; o != nil {
					o.shares -= e.Shares
				}
				if e.Printable == 'Y' {
					last[loc] = e.Price
				}
			case itch.TypeOrderCancel:
				if o := orders[m.OrderCancel.OrderRef]; o != nil {
					o.shares -= m.OrderCancel.Shares
				}
			case itch.TypeOrderDelete:
				delete(orders, m.OrderDelete.OrderRef)
			case itch.TypeOrderReplace:
				u := m.OrderReplace
				if o := orders[u.OrigOrderRef]; o != nil {
					delete(orders, u.OrigOrderRef)
					orders[u.NewOrderRef] = &naiveOrder{loc, o.buy, u.Price, u.Shares}
				}
			case itch.TypeTrade:
				last[loc] = m.Trade.Price
			case itch.TypeCrossTrade:
				if m.CrossTrade.Shares > 0 {
					last[loc] = m.CrossTrade.CrossPrice
				}
			}
		}
	}
	rp.books = map[string]bookJSON{}
	for loc, sym := range symbols {
		b := bookJSON{Locate: loc, Last: priceOrNull(last[loc])}
		var bid, ask uint32
		for _, o := range orders {
			if o.locate != loc || o.shares == 0 {
				continue
			}
			b.Orders++
			if o.buy && o.price > bid {
				bid = o.price
			} else if !o.buy && (ask == 0 || o.price < ask) {
				ask = o.price
			}
		}
		for _, o := range orders {
			if o.locate == loc && o.shares > 0 {
				if o.buy && o.price == bid {
					b.BidSize += uint64(o.shares)
				} else if !o.buy && o.price == ask {
					b.AskSize += uint64(o.shares)
				}
			}
		}
		b.Bid, b.Ask = priceOrNull(bid), priceOrNull(ask)
		rp.books[sym] = b
	}
	return rp
}

func pcapRun(t *testing.T, args ...string) (summary, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.pcap")
	code, out, errOut := runCmd(append([]string{"pcap", "--out", path}, args...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	return s, path
}

func booksEqual(t *testing.T, got, want map[string]bookJSON) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("books differ:\nsummary %s\nreplay  %s", w, g)
	}
}

func TestPcapRoundTrip(t *testing.T) {
	variants := [][]string{
		{"--messages", "40000", "--symbols", "4", "--seed", "3"},
		{"--seconds", "0.05", "--names", "ZVZZT,ZXZZT", "--vlan", "--nanos", "--rate", "400000"},
		{"--messages", "20000", "--pcapng", "--payload-bytes", "600", "--window-us", "0"},
	}
	for _, args := range variants {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			s, path := pcapRun(t, args...)
			rp := replayCapture(t, path, s.Format == "pcapng")
			if rp.packets != s.Packets || rp.messages != s.Messages || rp.ends != 1 || rp.heartbeats != s.Heartbeats {
				t.Fatalf("replay: %d packets %d messages %d ends; summary %+v", rp.packets, rp.messages, rp.ends, s)
			}
			if s.Messages != s.Generated || len(s.Gaps) != 0 {
				t.Fatalf("messages %d of %d generated, gaps %v", s.Messages, s.Generated, s.Gaps)
			}
			if fmt.Sprint(rp.byType) != fmt.Sprint(s.ByType) {
				t.Fatalf("by_type: replay %v summary %v", rp.byType, s.ByType)
			}
			if strings.Contains(strings.Join(args, " "), "--vlan") != rp.vlan {
				t.Fatal("VLAN tagging does not follow --vlan")
			}
			booksEqual(t, rp.books, s.Books)
		})
	}
}

func TestPcapDeterministic(t *testing.T) {
	args := []string{"--messages", "5000", "--seed", "9", "--drop-rate", "0.1"}
	s1, p1 := pcapRun(t, args...)
	s2, p2 := pcapRun(t, args...)
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	j1, _ := json.Marshal(s1)
	j2, _ := json.Marshal(s2)
	if !bytes.Equal(b1, b2) || !bytes.Equal(j1, j2) {
		t.Fatal("equal flags gave different captures")
	}
	s3, p3 := pcapRun(t, "--messages", "5000", "--seed", "10")
	b3, _ := os.ReadFile(p3)
	j3, _ := json.Marshal(s3.Books)
	if j1, _ = json.Marshal(s1.Books); bytes.Equal(b1, b3) || bytes.Equal(j1, j3) {
		t.Fatal("different seeds gave the same capture")
	}
}

func TestPcapDropsAndHeartbeats(t *testing.T) {
	// A slow simulated feed (one message per 2 s) idles long enough for
	// heartbeats.
	s, path := pcapRun(t, "--messages", "3000", "--rate", "0.5", "--drop-packets", "0,5-7,100", "--drop-rate", "0.02", "--symbols", "2")
	rp := replayCapture(t, path, false)
	if s.Heartbeats == 0 || rp.heartbeats != s.Heartbeats {
		t.Fatalf("heartbeats: summary %d replay %d", s.Heartbeats, rp.heartbeats)
	}
	if s.DroppedPackets < 5 || s.Messages+s.DroppedMessages != s.Generated || rp.messages != s.Messages {
		t.Fatalf("summary %+v, replayed %d messages", s, rp.messages)
	}
	// The gaps are exactly the sequence numbers missing from the capture.
	missing := map[uint64]bool{}
	for _, g := range s.Gaps {
		if g.First > g.Last || g.Session != "BALLAST01" {
			t.Fatalf("bad gap %+v", g)
		}
		for q := g.First; q <= g.Last; q++ {
			missing[q] = true
		}
	}
	for q := uint64(1); q <= s.Generated; q++ {
		if missing[q] == rp.seqs[q] {
			t.Fatalf("sequence %d: in gaps %v, in capture %v", q, missing[q], rp.seqs[q])
		}
	}
	for i := 1; i < len(s.Gaps); i++ {
		if s.Gaps[i].First <= s.Gaps[i-1].Last+1 {
			t.Fatalf("gaps not merged or not ordered: %v", s.Gaps)
		}
	}
}

func TestSendWithRerequest(t *testing.T) {
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	_ = recv.SetReadBuffer(8 << 20)
	// Pick a free port for the re-request server.
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rrAddr := probe.LocalAddr().(*net.UDPAddr)
	probe.Close()

	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errOut := runCmd("send", "--to", recv.LocalAddr().String(), "--messages", "4000",
			"--symbols", "3", "--msg-rate", "50000", "--drop-packets", "2", "--rerequest", rrAddr.String(),
			"--linger", "1s", "--session", "RRTEST")
		done <- result{code, out, errOut}
	}()

	// Receive until the end of session, ask for what is missing, and
	// collect the retransmissions. Reads time out so requests are retried.
	have := map[uint64][]byte{}
	var end uint64
	var it moldudp64.Iterator
	buf := make([]byte, 65536)
	session := moldudp64.MakeSession("RRTEST")
	deadline := time.Now().Add(10 * time.Second)
	var lastReq time.Time
	for {
		if time.Now().After(deadline) {
			t.Fatalf("incomplete after 10 s: have %d messages, end %d", len(have), end)
		}
		_ = recv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _, err := recv.ReadFromUDP(buf)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			n = 0
		} else if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if n == 0 && end == 0 {
			continue
		}
		if n > 0 {
			h, err := it.Reset(buf[:n])
			if err != nil || h.Session != session {
				t.Fatalf("bad packet: %v %q", err, h.Session)
			}
			for seq, msg, ok := it.Next(); ok; seq, msg, ok = it.Next() {
				have[seq] = append([]byte(nil), msg...)
			}
			if h.IsEndOfSession() {
				end = h.Seq
			}
		}
		if end == 0 {
			continue
		}
		var first, count uint64
		for q := uint64(1); q < end; q++ {
			if have[q] == nil {
				if count == 0 {
					first = q
				}
				count++
			} else if count > 0 {
				break
			}
		}
		if count == 0 {
			break
		}
		// Ask for the first missing range; ask again if the answer (or
		// a loopback overflow) loses it.
		if time.Since(lastReq) > 200*time.Millisecond {
			req := moldudp64.AppendRequest(nil, moldudp64.Request{Session: session, Seq: first, Count: uint16(count)})
			if _, err := recv.WriteToUDP(req, rrAddr); err != nil {
				t.Fatal(err)
			}
			lastReq = time.Now()
		}
	}
	if uint64(len(have)) != end-1 {
		t.Fatalf("have %d messages, session had %d", len(have), end-1)
	}
	// Everything received, retransmissions included, is the session the
	// generator makes for these flags.
	g, err := itchgen.New(itchgen.Config{SymbolCount: 3, Seed: 1, Messages: 4000, Rate: 50000})
	if err != nil {
		t.Fatal(err)
	}
	var m itch.Message
	for seq := uint64(1); g.Next(&m); seq++ {
		if !bytes.Equal(have[seq], m.Append(nil)) {
			t.Fatalf("message %d differs from the generated session", seq)
		}
	}
	r := <-done
	if r.code != exitOK {
		t.Fatalf("send exit %d: %s", r.code, r.errOut)
	}
	var s sendSummary
	if err := json.Unmarshal([]byte(r.out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, r.out)
	}
	if s.Rerequest == nil {
		t.Fatalf("no re-request stats in %s", r.out)
	}
	if s.Generated != 4000 || s.DroppedPackets != 1 || s.Messages+s.DroppedMessages != 4000 ||
		s.Rerequest.Answered < 1 || s.Rerequest.MessagesSent < s.DroppedMessages || len(s.Books) != 3 {
		t.Fatalf("summary %+v\n%s", s, r.out)
	}
}

func TestSendTimeBoundClosesSession(t *testing.T) {
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	got := make(chan []byte, 1)
	go func() {
		// Keep the last message seen before the end of session.
		var it moldudp64.Iterator
		var lastMsg []byte
		buf := make([]byte, 65536)
		for {
			n, err := recv.Read(buf)
			if err != nil {
				got <- nil
				return
			}
			h, err := it.Reset(buf[:n])
			if err != nil {
				continue
			}
			for _, msg, ok := it.Next(); ok; _, msg, ok = it.Next() {
				lastMsg = append(lastMsg[:0], msg...)
			}
			if h.IsEndOfSession() {
				got <- lastMsg
				return
			}
		}
	}()
	code, out, errOut := runCmd("send", "--to", recv.LocalAddr().String(), "--seconds", "0.2",
		"--msg-rate", "20000", "--symbols", "2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var s sendSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if !s.EndOfSession || s.Generated == 0 || s.Messages != s.Generated || s.GeneratedByType["Q"] < 4 {
		t.Fatalf("summary %s", out)
	}
	select {
	case last := <-got:
		var m itch.Message
		if err := m.Decode(last); err != nil || m.Type != itch.TypeSystemEvent || m.SystemEvent.EventCode != 'C' {
			t.Fatalf("last message %x is not end of messages (%v)", last, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no end of session received")
	}
}

func FuzzParseDropList(f *testing.F) {
	for _, s := range []string{"", "0", "3,7,10-12", " 1 , 2-2", "5-2", "x", "1-", "-1", "0-65535", "0-65536", "18446744073709551615", "18446744073709551614-18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := parseDropList(s)
		if err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatalf("%q: error %v is not a usage error", s, err)
			}
			return
		}
		if len(out) > dropListMax {
			t.Fatalf("%q: %d entries beyond the bound", s, len(out))
		}
		if len(out) == 0 && s != "" {
			t.Fatalf("%q parsed to no entries", s)
		}
		if s == "" && out != nil {
			t.Fatal("empty list parsed to entries")
		}
	})
}
