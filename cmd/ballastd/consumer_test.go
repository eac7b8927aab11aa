package main

import (
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/ring"
)

func newTestRing(t testing.TB) *ring.Ring[ring.Tick] {
	t.Helper()
	r, err := ring.New[ring.Tick](1024, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestConsumerApply(t *testing.T) {
	c := newConsumer(newTestRing(t), 4, nil)
	c.apply([]ring.Tick{
		{Instrument: 1, Bid: 100, Ask: 200, BidSize: 5, AskSize: 6, RecvNs: 1000},
		{Instrument: 2, Bid: 300, Ask: 400, Last: 350, Flags: ring.FlagTrade, RecvNs: 1500},
		{Instrument: 1, Bid: 110, Ask: 200, BidSize: 7, AskSize: 6, Last: 110, Flags: ring.FlagStale, RecvNs: 1900},
		{Instrument: 9, Bid: 1, RecvNs: 1990}, // outside the universe
		{Instrument: 3, Flags: ring.FlagHalted, RecvNs: 2000},
	}, 2000)

	m, ok := c.markOf(1)
	if !ok || m.bid != 110 || m.ask != 200 || m.bidSize != 7 || m.last != 110 || !m.stale() || m.ticks != 2 {
		t.Errorf("instrument 1: %+v %v", m, ok)
	}
	if m, ok := c.markOf(2); !ok || m.last != 350 || m.stale() || m.ticks != 1 {
		t.Errorf("instrument 2: %+v %v", m, ok)
	}
	if _, ok := c.markOf(0); ok {
		t.Error("instrument 0 has a mark without ticks")
	}
	if _, ok := c.markOf(9); ok {
		t.Error("instrument 9 is outside the universe but has a mark")
	}

	s := c.stats(2, false)
	if s.ticks != 5 || s.unknown != 1 || s.marked != 3 || s.staleMarks != 1 || s.haltedMarks != 1 {
		t.Errorf("stats %+v", s)
	}
	if len(s.shown) != 2 || s.shown[0].instrument != 1 || s.shown[1].instrument != 2 {
		t.Errorf("shown %+v, want instruments 1 and 2", s.shown)
	}
	// Latencies 1000, 500, 100, 10, 0 ns.
	if s.samples != 5 || s.max != 1000 || s.p50 < 100 || s.p50 > 100+1 {
		t.Errorf("latency p50 %d max %d samples %d", s.p50, s.max, s.samples)
	}
	// The interval restarts; the totals keep everything.
	if s := c.stats(0, false); s.samples != 0 || s.max != 0 || s.shown != nil {
		t.Errorf("second interval: %+v", s)
	}
	if s := c.stats(0, true); s.samples != 5 || s.max != 1000 {
		t.Errorf("totals: %+v", s)
	}
}

// TestConsumerRun checks that Run drains every tick published before Close
// and returns.
func TestConsumerRun(t *testing.T) {
	r := newTestRing(t)
	c := newConsumer(r, 8, func() int64 { return 10_000 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run()
	}()
	const n = 5000 // more than the ring holds: the producer waits
	for i := range n {
		if err := r.Push(ring.Tick{Instrument: uint32(i % 8), Bid: int64(i), RecvNs: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer did not return after Close")
	}
	s := c.stats(0, true)
	if s.ticks != n || s.marked != 8 {
		t.Fatalf("consumed %d ticks over %d instruments, want %d over 8", s.ticks, s.marked, n)
	}
	for i := range 8 {
		m, _ := c.markOf(uint16(i))
		if want := int64(n - 8 + i); m.bid != want {
			t.Errorf("instrument %d: bid %d, want the last one %d", i, m.bid, want)
		}
	}
}

func testBatch() []ring.Tick {
	batch := make([]ring.Tick, consumerBatchMax)
	for i := range batch {
		batch[i] = ring.Tick{Instrument: uint32(i % 64), Bid: int64(1000 + i), Ask: int64(1100 + i),
			BidSize: 100, AskSize: 200, Last: 1050, RecvNs: int64(i * 37)}
	}
	return batch
}

func TestConsumerApplyAllocs(t *testing.T) {
	c := newConsumer(newTestRing(t), 64, nil)
	batch := testBatch()
	if n := testing.AllocsPerRun(100, func() { c.apply(batch, 100_000) }); n != 0 {
		t.Fatalf("apply allocates %v times per batch", n)
	}
}

// BenchmarkConsumerApply measures the consumer's hot path: folding a full
// batch of ticks into the marks table and the latency histograms.
func BenchmarkConsumerApply(b *testing.B) {
	c := newConsumer(newTestRing(b), 64, nil)
	batch := testBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.apply(batch, 100_000)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "ticks/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/tick")
}

// BenchmarkRingToMarks measures the hand-off from the feed handler's side of
// the ring to the marks table, with the producer and Run on two goroutines.
func BenchmarkRingToMarks(b *testing.B) {
	r, err := ring.New[ring.Tick](ringSlots, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := newConsumer(r, 64, func() int64 { return 0 })
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run()
	}()
	batch := testBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n, err := r.PushBatch(batch[:min(len(batch), b.N-sent)])
		if err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	r.Close()
	<-done
	b.StopTimer()
	if s := c.stats(0, true); s.ticks != uint64(b.N) {
		b.Fatalf("consumed %d of %d ticks", s.ticks, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
}
