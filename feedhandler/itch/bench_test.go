package itch

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

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
// length-prefixed message blocks like the MoldUDP64 layer does. It also
// times the speed probe (probeDecode) just before and just after the
// samples: probe-before-ns, probe-after-ns.
func BenchmarkDecode(b *testing.B) {
	const msgs = 1 << 16
	stream := mixStream(msgs, 7)
	var m Message
	b.SetBytes(int64(len(stream) / msgs))
	beforeNs := probeDecode(b)
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
	b.StopTimer()
	b.ReportMetric(beforeNs, "probe-before-ns")
	b.ReportMetric(probeDecode(b), "probe-after-ns")
}

// probeRounds is the number of decodes one speed probe times: about 5 ms.
const probeRounds = 1 << 20

// probeDecode returns the mean time in ns of decoding one Add Order
// message repeatedly: a decode with no branch mispredictions, which only
// the machine's speed moves. The development VM switches between a fast
// phase (about 3.6 ns here) and a slow one (5.5–7.3 ns), sometimes within
// one run; the probe taken just before and just after BenchmarkDecode's
// samples says which phase they saw, as the floors of the ring's hand-off
// benchmarks do.
func probeDecode(b *testing.B) float64 {
	raw := []byte(knownCases[10].raw)
	var m Message
	start := time.Now()
	for range probeRounds {
		if err := m.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start).Nanoseconds()) / probeRounds
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
