package feedhandler_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Hand-encoded ITCH 5.0 messages, byte for byte from the specification's
// offsets, so that this test does not depend on our own encoder.

func hdr(typ byte, locate uint16, ts uint64, n int) []byte {
	b := make([]byte, n)
	b[0] = typ
	binary.BigEndian.PutUint16(b[1:], locate)
	binary.BigEndian.PutUint16(b[3:], 0) // tracking number
	b[5], b[6] = byte(ts>>40), byte(ts>>32)
	binary.BigEndian.PutUint32(b[7:], uint32(ts))
	return b
}

func stock(s string) []byte {
	b := []byte("        ")
	copy(b, s)
	return b
}

// R Stock Directory, 39 bytes.
func kDirectory(locate uint16, sym string) []byte {
	b := hdr('R', locate, 1000, 39)
	copy(b[11:19], stock(sym))
	b[19], b[20] = 'Q', 'N'
	binary.BigEndian.PutUint32(b[21:], 100)
	b[25], b[26] = 'N', 'C'
	copy(b[27:29], "Z ")
	b[29], b[30], b[31], b[32], b[33] = 'P', 'N', ' ', '1', 'N'
	binary.BigEndian.PutUint32(b[34:], 0)
	b[38] = 'N'
	return b
}

// A Add Order (no MPID), 36 bytes.
func kAdd(locate uint16, ref uint64, side byte, shares uint32, sym string, price uint32) []byte {
	b := hdr('A', locate, 2000, 36)
	binary.BigEndian.PutUint64(b[11:], ref)
	b[19] = side
	binary.BigEndian.PutUint32(b[20:], shares)
	copy(b[24:32], stock(sym))
	binary.BigEndian.PutUint32(b[32:], price)
	return b
}

// F Add Order with MPID, 40 bytes.
func kAddMPID(locate uint16, ref uint64, side byte, shares uint32, sym string, price uint32, mpid string) []byte {
	b := hdr('F', locate, 2000, 40)
	binary.BigEndian.PutUint64(b[11:], ref)
	b[19] = side
	binary.BigEndian.PutUint32(b[20:], shares)
	copy(b[24:32], stock(sym))
	binary.BigEndian.PutUint32(b[32:], price)
	copy(b[36:40], mpid)
	return b
}

// E Order Executed, 31 bytes.
func kExec(locate uint16, ref uint64, shares uint32, match uint64) []byte {
	b := hdr('E', locate, 3000, 31)
	binary.BigEndian.PutUint64(b[11:], ref)
	binary.BigEndian.PutUint32(b[19:], shares)
	binary.BigEndian.PutUint64(b[23:], match)
	return b
}

// C Order Executed With Price, 36 bytes.
func kExecPrice(locate uint16, ref uint64, shares uint32, match uint64, printable byte, price uint32) []byte {
	b := hdr('C', locate, 3000, 36)
	binary.BigEndian.PutUint64(b[11:], ref)
	binary.BigEndian.PutUint32(b[19:], shares)
	binary.BigEndian.PutUint64(b[23:], match)
	b[31] = printable
	binary.BigEndian.PutUint32(b[32:], price)
	return b
}

// X Order Cancel, 23 bytes.
func kCancel(locate uint16, ref uint64, shares uint32) []byte {
	b := hdr('X', locate, 4000, 23)
	binary.BigEndian.PutUint64(b[11:], ref)
	binary.BigEndian.PutUint32(b[19:], shares)
	return b
}

// D Order Delete, 19 bytes.
func kDelete(locate uint16, ref uint64) []byte {
	b := hdr('D', locate, 4000, 19)
	binary.BigEndian.PutUint64(b[11:], ref)
	return b
}

// U Order Replace, 35 bytes.
func kReplace(locate uint16, orig, ref uint64, shares, price uint32) []byte {
	b := hdr('U', locate, 5000, 35)
	binary.BigEndian.PutUint64(b[11:], orig)
	binary.BigEndian.PutUint64(b[19:], ref)
	binary.BigEndian.PutUint32(b[27:], shares)
	binary.BigEndian.PutUint32(b[31:], price)
	return b
}

// P Trade (non-cross), 44 bytes.
func kTrade(locate uint16, shares uint32, sym string, price uint32) []byte {
	b := hdr('P', locate, 6000, 44)
	binary.BigEndian.PutUint64(b[11:], 0) // order ref: 0 for hidden
	b[19] = 'B'
	binary.BigEndian.PutUint32(b[20:], shares)
	copy(b[24:32], stock(sym))
	binary.BigEndian.PutUint32(b[32:], price)
	binary.BigEndian.PutUint64(b[36:], 99)
	return b
}

// Q Cross Trade, 40 bytes.
func kCross(locate uint16, shares uint64, sym string, price uint32) []byte {
	b := hdr('Q', locate, 7000, 40)
	binary.BigEndian.PutUint64(b[11:], shares)
	copy(b[19:27], stock(sym))
	binary.BigEndian.PutUint32(b[27:], price)
	binary.BigEndian.PutUint64(b[31:], 100)
	b[39] = 'O'
	return b
}

// S System Event, 12 bytes.
func kSystem(code byte) []byte {
	b := hdr('S', 0, 500, 12)
	b[11] = code
	return b
}

// mold builds a MoldUDP64 packet by hand: session, sequence, count, blocks.
func mold(session string, seq uint64, msgs ...[]byte) []byte {
	b := make([]byte, 20)
	copy(b, []byte(session + "          ")[:10])
	binary.BigEndian.PutUint64(b[10:], seq)
	binary.BigEndian.PutUint16(b[18:], uint16(len(msgs)))
	for _, m := range msgs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

func moldEnd(session string, next uint64) []byte {
	b := mold(session, next)
	binary.BigEndian.PutUint16(b[18:], 0xFFFF)
	return b
}

// ethUDP wraps a UDP payload in Ethernet/IPv4/UDP by hand.
func ethUDP(dstPort uint16, payload []byte) []byte {
	f := make([]byte, 14+20+8)
	copy(f[0:6], []byte{0x01, 0x00, 0x5e, 0x36, 0x0c, 0x6f})
	copy(f[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8], ip[9] = 32, 17
	copy(ip[12:16], []byte{192, 0, 2, 1})
	copy(ip[16:20], []byte{233, 54, 12, 111})
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	udp := f[34:42]
	binary.BigEndian.PutUint16(udp[0:], 26400)
	binary.BigEndian.PutUint16(udp[2:], dstPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	return append(f, payload...)
}

func arpFrame() []byte {
	f := make([]byte, 42)
	for i := 0; i < 6; i++ {
		f[i] = 0xff
	}
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	return f
}

func writePcap(t *testing.T, frames [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := captureInfo(int64(i), len(f))
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func replay(t *testing.T, capture []byte) feedhandler.Summary {
	t.Helper()
	src, err := source.NewPcap(bytes.NewReader(capture), source.PcapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	h, err := feedhandler.New(feedhandler.Config{Books: book.Config{OrdersMax: 1 << 12, BooksMax: 64, LevelsMax: 64}})
	if err != nil {
		t.Fatal(err)
	}
	if err := feedhandler.Run(context.Background(), h, src, feedhandler.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return h.Summary(src.Stats())
}

// TestSummaryKnownAnswer replays a hand-built capture whose every effect is
// reasoned out below, and compares the whole JSON summary.
func TestSummaryKnownAnswer(t *testing.T) {
	const port = 26477
	frames := [][]byte{
		arpFrame(), // skipped: not IPv4/UDP
		ethUDP(port, mold("S1", 1,
			kSystem('O'),
			kDirectory(7, "ABC"),
			kDirectory(9, "XYZW"),
			kAdd(7, 100, 'B', 300, "ABC", 1000000),             // bid 100.0000 x300
			kAdd(7, 101, 'B', 200, "ABC", 1000000),             // bid 100.0000 x500
			kAddMPID(7, 102, 'S', 400, "ABC", 1010000, "GSCO"), // ask 101.0000 x400
		)),
		// The same packet again (an A/B feed copy): 6 duplicates.
		ethUDP(port, mold("S1", 1,
			kSystem('O'),
			kDirectory(7, "ABC"),
			kDirectory(9, "XYZW"),
			kAdd(7, 100, 'B', 300, "ABC", 1000000),
			kAdd(7, 101, 'B', 200, "ABC", 1000000),
			kAddMPID(7, 102, 'S', 400, "ABC", 1010000, "GSCO"),
		)),
		ethUDP(port, mold("S1", 7,
			kExec(7, 100, 100, 1),                  // bid x400; last 100.0000
			kExecPrice(7, 101, 50, 2, 'N', 999900), // bid x350; non-printable: last stays
			kCancel(7, 102, 150),                   // ask x250
			kReplace(7, 101, 103, 500, 1000500),    // 101 (150 left) -> 103: bid 100.0500 x500
			kAdd(9, 200, 'S', 10, "XYZW", 55000),   // XYZW ask 5.5000 x10
			kTrade(9, 70, "XYZW", 54900),           // XYZW last 5.4900 (hidden)
		)),
		// Sequence 13..14 are missing: a gap.
		ethUDP(port, mold("S1", 15,
			kCross(9, 0, "XYZW", 60000),              // zero shares: not a print
			kExecPrice(7, 103, 100, 3, 'Y', 1000400), // bid 100.0500 x400; last 100.0400
			kDelete(7, 999),                          // unknown order: counted
			kDelete(9, 200),                          // XYZW ask empty
		)),
		// A packet with a truncated block: malformed, counted as an error.
		ethUDP(port, func() []byte {
			p := mold("S1", 19, kDelete(7, 100))
			return p[:len(p)-3]
		}()),
		// An unknown ITCH type at seq 19 and a bad length for 'D' at seq 20.
		ethUDP(port, mold("S1", 19, []byte{'z', 0, 7, 0, 0, 0, 0, 0, 0, 0, 1}, kDelete(7, 100)[:18])),
		// A second session: its own sequence space.
		ethUDP(port, mold("S2", 1, kDelete(7, 100))), // bid: only 103 x400 remains
		// UDP that is not MoldUDP64 at all (too short for the header).
		ethUDP(port, []byte("hello")),
		ethUDP(port, moldEnd("S1", 21)),
	}
	got := replay(t, writePcap(t, frames))

	p := func(v uint64) *uint64 { return &v }
	want := feedhandler.Summary{
		// 8 well-framed MoldUDP64 packets: 2 duplicates copies counted as
		// packets, the truncated one and "hello" are errors.
		Packets:  7,
		Messages: 6 + 6 + 4 + 1,
		ByType: map[string]uint64{
			"S": 1, "R": 2, "A": 3, "F": 1, "E": 1, "C": 2, "X": 1, "U": 1, "P": 1, "Q": 1, "D": 3,
		},
		Duplicates: 6,
		Gaps:       []feedhandler.Gap{{Session: "S1", First: 13, Last: 14}},
		// truncated packet + "hello" + unknown type + bad length.
		Errors: 4,
		Books: map[string]feedhandler.BookSummary{
			"ABC":  {Locate: 7, Bid: p(1000500), BidSize: 400, Ask: p(1010000), AskSize: 250, Last: p(1000400), Orders: 2},
			"XYZW": {Locate: 9, Bid: nil, BidSize: 0, Ask: nil, AskSize: 0, Last: p(54900), Orders: 0},
		},
		UnknownOrders: 1,
		Skipped:       1,
		EndOfSession:  true,
	}
	gj, _ := json.MarshalIndent(got, "", " ")
	wj, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(gj, wj) {
		t.Fatalf("summary mismatch\n got: %s\nwant: %s", gj, wj)
	}
}

func captureInfo(i int64, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000, i*1000), CaptureLength: n, Length: n}
}
