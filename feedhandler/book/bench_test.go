package book

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/internal/cputime"
	"github.com/ballast-risk/ballast/feedhandler/itch"
)

// benchStream is the realistic flow shared by the Apply benchmarks: 50
// books, about 5000 live orders, ~43% adds, ~40% cancels (D and X), 6%
// executions, 9.5% replaces, 1.5% hidden trades; then a drain so it can be
// replayed.
var benchStream = sync.OnceValues(func() ([]byte, int) {
	return realStream(42, 50, 5000, 1<<19)
})

// benchBooks keeps one Books per Config across b.N rounds, so the timed
// loop sees warm, resident memory rather than fresh-page faults.
var benchBooks = map[Config]*Books{}

func benchApply(b *testing.B, cfg Config) {
	stream, count := benchStream()
	bk := benchBooks[cfg]
	if bk == nil {
		var err error
		if bk, err = New(cfg); err != nil {
			b.Fatal(err)
		}
		benchBooks[cfg] = bk
	}
	bk.Reset()
	var m itch.Message
	// One untimed pass: the stream leaves the books empty, as they start.
	for off := 0; off < len(stream); {
		n := int(binary.BigEndian.Uint16(stream[off:]))
		if err := m.Decode(stream[off+2 : off+2+n]); err != nil {
			b.Fatal(err)
		}
		bk.Apply(&m)
		off += 2 + n
	}
	if s := bk.Stats(); s.Orders != 0 {
		b.Fatalf("stream does not drain: %+v", s)
	}
	b.SetBytes(int64(len(stream) / count))
	b.ResetTimer()
	cpu := cputime.Start(b)
	off := 0
	for i := 0; i < b.N; i++ {
		n := int(binary.BigEndian.Uint16(stream[off:]))
		if err := m.Decode(stream[off+2 : off+2+n]); err != nil {
			b.Fatal(err)
		}
		bk.Apply(&m)
		off += 2 + n
		if off == len(stream) {
			off = 0
		}
	}
	cpu.Report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if s := bk.Stats(); s.UnknownOrder != 0 || s.IndexFull != 0 || s.LevelsFull != 0 {
		b.Fatalf("flow not clean: %+v", s)
	}
}

// BenchmarkApply measures decode + book update per message on realistic
// flow with the production sizing, DefaultConfig (4M orders: 192 MiB of
// index slots, far larger than cache).
func BenchmarkApply(b *testing.B) {
	benchApply(b, DefaultConfig())
}

// BenchmarkApplySmallIndex is BenchmarkApply with an index sized to the
// flow (64k orders, 3 MiB of slots).
func BenchmarkApplySmallIndex(b *testing.B) {
	benchApply(b, Config{OrdersMax: 1 << 16, BooksMax: 64, LevelsMax: 256})
}

// BenchmarkIndexLookup measures a lookup of a live reference in an index of
// 100k sequentially numbered live orders.
func BenchmarkIndexLookup(b *testing.B) {
	const live = 100_000
	x := newOrderIndex(1 << 17)
	for ref := uint64(1); ref <= live; ref++ {
		i, dist, _ := x.lookup(ref)
		if err := x.insertAt(i, dist, ref, 0, 1, 0, sideBid); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	ref := uint64(1)
	sum := uint32(0)
	for i := 0; i < b.N; i++ {
		j, _, _ := x.lookup(ref)
		sum += x.slots[j].shares
		ref = ref*2862933555777941757 + 3037000493 // LCG over the live range
		ref = ref%live + 1
	}
	if sum == 0 {
		b.Fatal("no lookups hit")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkLevels measures add+remove of an order a few levels from the
// top of a 100-level side.
func BenchmarkLevels(b *testing.B) {
	bk, err := New(Config{OrdersMax: 1024, BooksMax: 1, LevelsMax: 256})
	if err != nil {
		b.Fatal(err)
	}
	var m itch.Message
	for i := 0; i < 100; i++ {
		m = *mAdd(1, uint64(i+1), 'B', 100, uint32(10000+100*i))
		bk.Apply(&m)
	}
	add := *mAdd(1, 1000, 'B', 100, 10000+100*97+50) // a new level 3 from the top
	del := *mDelete(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bk.Apply(&add)
		bk.Apply(&del)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
