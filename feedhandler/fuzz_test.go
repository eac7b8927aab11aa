package feedhandler_test

import (
	"bytes"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// FuzzFeed feeds arbitrary packet sequences (the input split at 0xFF 0xFE
// markers) through the whole handler: it must never panic, and its
// counters must stay consistent with each other and with the ring.
func FuzzFeed(f *testing.F) {
	f.Add(mold("S1", 1, kDirectory(1, "A"), kAdd(1, 1, 'B', 10, "A", 100)))
	f.Add(append(append(mold("S1", 1, kAdd(1, 1, 'B', 10, "A", 100)), 0xFF, 0xFE),
		mold("S1", 1, kAdd(1, 1, 'B', 10, "A", 100), kExec(1, 1, 5, 1))...))
	f.Add(append(append(mold("S1", 3, kDelete(1, 1)), 0xFF, 0xFE), moldEnd("S1", 9)...))
	f.Add(mold("S2", 1, []byte{'z', 0, 0}, kReplace(1, 1, 2, 3, 4)[:20]))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ring.New[ring.Tick](8, ring.BusySpin{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := feedhandler.New(feedhandler.Config{
			Books: book.Config{OrdersMax: 256, BooksMax: 16, LevelsMax: 4},
			Ticks: r,
		})
		if err != nil {
			t.Fatal(err)
		}
		var popped uint64
		for i, pkt := range bytes.Split(data, []byte{0xFF, 0xFE}) {
			now := int64(i + 1)
			h.Feed(pkt, now)
			if i%3 == 2 {
				for {
					if _, ok := r.TryPop(); !ok {
						break
					}
					popped++
				}
			}
			h.Poll(now)
		}
		for {
			if _, ok := r.TryPop(); !ok {
				break
			}
			popped++
		}
		c := h.Counters()
		sum := uint64(0)
		s := h.Summary(sourceStats())
		for _, n := range s.ByType {
			sum += n
		}
		if sum != c.Messages || s.Messages != c.Messages {
			t.Fatalf("by_type sums to %d, messages %d", sum, c.Messages)
		}
		if popped != c.Ticks {
			t.Fatalf("popped %d ticks, published %d", popped, c.Ticks)
		}
		if seq := h.SequencerStats(); seq.Messages != c.Messages+c.BadMessages {
			t.Fatalf("sequencer delivered %d, handler decoded %d + bad %d", seq.Messages, c.Messages, c.BadMessages)
		}
	})
}

func sourceStats() source.Stats { return source.Stats{} }
