package itch

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/internal/cputime"
)

// mixWeight is the share (per mille) of each type in a realistic TotalView
// session: order flow dominates, everything else is rare.
var mixWeight = []struct {
	t byte
	w int
}{
	{TypeAddOrder, 400}, {TypeAddOrderMPID, 20}, {TypeOrderDelete, 360},
	{TypeOrderReplace, 90}, {TypeOrderCancel, 30}, {TypeOrderExecuted, 50},
	{TypeOrderExecutedWithPrice, 5}, {TypeTrade, 20}, {TypeCrossTrade, 1},
	{TypeNOII, 15}, {TypeBrokenTrade, 1}, {TypeStockTradingAction, 2},
	{TypeRPII, 3}, {TypeSystemEvent, 1}, {TypeStockDirectory, 2},
}

// mixStream returns n random messages of the realistic mix, each prefixed by
// its 2-byte big-endian length as in a MoldUDP64 message block.
func mixStream(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	qr := newQuickRand(int64(seed))
	total := 0
	for _, w := range mixWeight {
		total += w.w
	}
	buf := make([]byte, 0, n*40)
	for i := 0; i < n; i++ {
		x := r.IntN(total)
		t := mixWeight[0].t
		for _, w := range mixWeight {
			if x < w.w {
				t = w.t
				break
			}
			x -= w.w
		}
		m := randomMessage(t, r, qr)
		buf = binary.BigEndian.AppendUint16(buf, uint16(m.Len()))
		buf = m.Append(buf)
	}
	return buf
}

// BenchmarkDecode decodes a realistic mix from memory, walking the
// length-prefixed message blocks like the MoldUDP64 layer does.
func BenchmarkDecode(b *testing.B) {
	const msgs = 1 << 16
	stream := mixStream(msgs, 7)
	var m Message
	b.SetBytes(int64(len(stream) / msgs))
	b.ResetTimer()
	cpu := cputime.Start(b)
	off := 0
	for i := 0; i < b.N; i++ {
		if off >= len(stream) {
			off = 0
		}
		n := int(binary.BigEndian.Uint16(stream[off:]))
		if err := m.Decode(stream[off+2 : off+2+n]); err != nil {
			b.Fatal(err)
		}
		off += 2 + n
	}
	cpu.Report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDecodeAddOrder decodes one Add Order message repeatedly.
func BenchmarkDecodeAddOrder(b *testing.B) {
	raw := []byte(knownCases[10].raw)
	var m Message
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if err := m.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAppend encodes a realistic mix into a reused buffer.
func BenchmarkAppend(b *testing.B) {
	const msgs = 1 << 12
	stream := mixStream(msgs, 9)
	ms := make([]Message, 0, msgs)
	for off := 0; off < len(stream); {
		n := int(binary.BigEndian.Uint16(stream[off:]))
		var m Message
		if err := m.Decode(stream[off+2 : off+2+n]); err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
		off += 2 + n
	}
	dst := make([]byte, 0, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = ms[i%len(ms)].Append(dst[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
