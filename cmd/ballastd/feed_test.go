package main

import (
	"context"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// testSession returns the MoldUDP64 packets of a short generated session
// and its end-of-session packet.
func testSession(t testing.TB, messages uint64) (pkts [][]byte, eos []byte) {
	t.Helper()
	g, err := itchgen.New(itchgen.Config{SymbolCount: 4, Seed: 5, Messages: messages})
	if err != nil {
		t.Fatal(err)
	}
	all, err := g.Packets(moldudp64.MakeSession("TEST"), 0)
	if err != nil {
		t.Fatal(err)
	}
	return all[:len(all)-1], all[len(all)-1]
}

func newTestFeedLoop(t testing.TB) (*feedLoop, context.Context) {
	t.Helper()
	r, err := ring.New[ring.Tick](ringSlots, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := feedhandler.New(feedhandler.Config{Books: book.Config{OrdersMax: 4096, BooksMax: 8, LevelsMax: 64},
		Sequencer: moldudp64.Config{StartSeq: 1}, Ticks: r})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &feedLoop{h: h, ticks: r, syms: newSymbolDir(8), cancel: cancel}, ctx
}

// TestFeedLoopDrain checks the drain rule: the run ends once the session's
// end was received and every message of it was delivered, not before.
func TestFeedLoopDrain(t *testing.T) {
	const messages = 2000
	pkts, eos := testSession(t, messages)
	f, ctx := newTestFeedLoop(t)
	f.target.Store(messages)
	for i, p := range pkts {
		f.h.Feed(p, int64(i))
		f.afterBatch(nil)
	}
	if ctx.Err() != nil || f.drained.Load() {
		t.Fatal("drained before the end of session arrived")
	}
	f.h.Feed(eos, int64(len(pkts)))
	f.afterBatch(nil)
	if ctx.Err() == nil || !f.drained.Load() {
		t.Fatal("not drained after every message and the end of session")
	}

	// The snapshot and the symbol directory follow the handler.
	f.publish(1)
	s := f.snapshot()
	if s.counters.Messages != messages || !s.ended || s.books != 4 || s.stale {
		t.Errorf("snapshot %+v", s)
	}
	if got := f.syms.name(1); got != "AAPL" {
		t.Errorf("symbol of locate 1 = %q, want AAPL", got)
	}
}

// TestFeedLoopLostCountsAsDrained checks that lost messages complete the
// drain: a replay-mode handler skips a gap and still ends.
func TestFeedLoopLostCountsAsDrained(t *testing.T) {
	const messages = 2000
	pkts, eos := testSession(t, messages)
	f, ctx := newTestFeedLoop(t)
	f.target.Store(messages)
	for i, p := range pkts {
		if i == 3 {
			continue // lost; no requester, so declared lost at once
		}
		f.h.Feed(p, int64(i))
	}
	f.h.Feed(eos, int64(len(pkts)))
	f.afterBatch(nil)
	if seq := f.h.SequencerStats(); seq.LostMessages == 0 || ctx.Err() == nil {
		t.Fatalf("lost %d messages, drained %v", seq.LostMessages, ctx.Err() != nil)
	}
}

func TestFeedLoopClockAllocs(t *testing.T) {
	f, _ := newTestFeedLoop(t)
	f.target.Store(1 << 40) // drain check runs, never completes
	f.nextSnapNs = 1 << 62  // no snapshot due
	if n := testing.AllocsPerRun(1000, func() { f.afterBatch(nil) }); n != 0 {
		t.Fatalf("afterBatch allocates %v times per batch", n)
	}
}

// BenchmarkFeedLoopClock measures what the feed goroutine adds per received
// batch: the clock read and the drain check.
func BenchmarkFeedLoopClock(b *testing.B) {
	f, _ := newTestFeedLoop(b)
	f.target.Store(1 << 40)
	f.nextSnapNs = 1 << 62
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f.afterBatch(nil)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}
