package feedhandler_test

import (
	"testing"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
)

type requests struct{ got []moldudp64.Request }

func (r *requests) Request(s moldudp64.Session, seq uint64, count uint16) error {
	r.got = append(r.got, moldudp64.Request{Session: s, Seq: seq, Count: count})
	return nil
}

func newHandler(t testing.TB, req moldudp64.Requester, slots int) (*feedhandler.Handler, *ring.Ring[ring.Tick]) {
	t.Helper()
	r, err := ring.New[ring.Tick](slots, ring.BusySpin{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := feedhandler.New(feedhandler.Config{
		Books:     book.Config{OrdersMax: 1 << 16, BooksMax: 256, LevelsMax: 64},
		Sequencer: moldudp64.Config{Requester: req, StartSeq: 1},
		Ticks:     r,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, r
}

func drain(r *ring.Ring[ring.Tick]) []ring.Tick {
	var out []ring.Tick
	for {
		t, ok := r.TryPop()
		if !ok {
			return out
		}
		out = append(out, t)
	}
}

// TestTicksAndStaleness: a gap with a re-request server marks every book's
// ticks stale until the retransmission fills it.
func TestTicksAndStaleness(t *testing.T) {
	req := &requests{}
	h, r := newHandler(t, req, 64)
	h.Feed(mold("S1", 1,
		kDirectory(1, "AAA"), kDirectory(2, "BBB"),
		kAdd(1, 1, 'B', 100, "AAA", 500000),
		kAdd(2, 2, 'S', 50, "BBB", 700000),
	), 1_000)
	ticks := drain(r)
	if len(ticks) != 2 || h.Stale() {
		t.Fatalf("ticks %+v stale %v", ticks, h.Stale())
	}
	if a := ticks[0]; a.Instrument != 1 || a.Bid != 500000 || a.BidSize != 100 || a.Ask != 0 || a.RecvNs != 1_000 || a.Flags&ring.FlagStale != 0 {
		t.Fatalf("tick %+v", a)
	}
	// Sequence 5..6 missing: the gap opens, the feed turns stale, and every
	// book is republished with the stale flag.
	h.Feed(mold("S1", 7, kAdd(1, 3, 'B', 10, "AAA", 510000)), 2_000)
	if !h.Stale() {
		t.Fatal("not stale during a gap")
	}
	h.Poll(2_000)
	if len(req.got) != 1 || req.got[0].Seq != 5 || req.got[0].Count != 2 {
		t.Fatalf("requests %+v", req.got)
	}
	ticks = drain(r)
	if len(ticks) != 2 {
		t.Fatalf("stale republish: %+v", ticks)
	}
	for _, tk := range ticks {
		if tk.Flags&ring.FlagStale == 0 {
			t.Fatalf("tick without stale flag during gap: %+v", tk)
		}
	}
	// The retransmission fills the gap: 5, 6 and the buffered 7 are applied.
	h.Feed(mold("S1", 5, kExec(2, 2, 20, 1), kCancel(1, 1, 40)), 3_000)
	if h.Stale() {
		t.Fatal("still stale after recovery")
	}
	last := map[uint32]ring.Tick{}
	for _, tk := range drain(r) {
		last[tk.Instrument] = tk
	}
	a, b := last[1], last[2]
	if a.Bid != 510000 || a.BidSize != 10 || a.Flags&ring.FlagStale != 0 {
		t.Fatalf("AAA after recovery %+v", a)
	}
	if b.Ask != 700000 || b.AskSize != 30 || b.Last != 700000 || b.Flags&ring.FlagStale != 0 {
		t.Fatalf("BBB after recovery %+v", b)
	}
}

// TestTickConflation: with the ring full, updates are deferred and only the
// latest top of each book is published once there is room.
func TestTickConflation(t *testing.T) {
	h, r := newHandler(t, nil, 4)
	var msgs [][]byte
	for l := uint16(1); l <= 8; l++ {
		msgs = append(msgs, kDirectory(l, string(rune('A'+l))))
	}
	seq := uint64(1)
	h.Feed(mold("S1", seq, msgs...), 1)
	seq += uint64(len(msgs))
	ref := uint64(1)
	for round := 0; round < 5; round++ {
		for l := uint16(1); l <= 8; l++ {
			h.Feed(mold("S1", seq, kAdd(l, ref, 'B', uint32(100*(round+1)), "", uint32(10000*(round+1)))), 2)
			seq++
			ref++
		}
	}
	if c := h.Counters(); c.TicksDeferred == 0 || c.Ticks != 4 {
		t.Fatalf("counters %+v", c)
	}
	final := map[uint32]ring.Tick{}
	for i := 0; i < 10 && len(final) < 8; i++ {
		for _, tk := range drain(r) {
			final[tk.Instrument] = tk
		}
		h.Poll(3)
	}
	for _, tk := range drain(r) {
		final[tk.Instrument] = tk
	}
	for l := uint32(1); l <= 8; l++ {
		tk, ok := final[l]
		if !ok || tk.Bid != 50000 || tk.BidSize != 500 {
			t.Fatalf("book %d final tick %+v (present %v)", l, tk, ok)
		}
	}
}

// TestFeedZeroAlloc: the steady-state packet path — sequencing, ITCH decode,
// book update and tick publication — allocates nothing.
func TestFeedZeroAlloc(t *testing.T) {
	h, r := newHandler(t, nil, 1024)
	h.Feed(mold("S1", 1, kDirectory(1, "AAA")), 1)
	const n = 200
	pkts := make([][]byte, 0, 2*n+2)
	seq := uint64(2)
	for i := uint64(0); i < n+2; i++ {
		pkts = append(pkts, mold("S1", seq,
			kAdd(1, 10+i, 'B', 100, "AAA", uint32(500000+i*100)),
			kExec(1, 10+i, 10, i),
			kReplace(1, 10+i, 100000+i, 50, uint32(490000+i)),
			kDelete(1, 100000+i)))
		seq += 4
	}
	i := 0
	allocs := testing.AllocsPerRun(n, func() {
		h.Feed(pkts[i], int64(i))
		i++
		for {
			if _, ok := r.TryPop(); !ok {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("Feed allocates %.1f times per packet", allocs)
	}
}
