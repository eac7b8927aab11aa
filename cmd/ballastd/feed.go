package main

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

const (
	// snapshotEveryNs is how often the feed goroutine publishes its
	// counters for the reporter.
	snapshotEveryNs = int64(50 * time.Millisecond)
	// ringDrainTimeout bounds the wait, at shutdown, for the consumer to
	// empty the ring before the last deferred ticks are published.
	ringDrainTimeout = time.Second
	// ringDrainPoll is the sleep between checks of that wait.
	ringDrainPoll = time.Millisecond
)

// feedSnapshot is a copy of the feed handler's counters taken on its
// goroutine.
type feedSnapshot struct {
	atNs     int64 // source.Now() when taken
	counters feedhandler.Counters
	seq      moldudp64.Stats
	stale    bool
	ended    bool // an end-of-session packet was seen
	books    int  // books that exist
}

// symbolDir maps instruments (stock locates) to their symbols as the feed's
// stock directory named them, for display. The feed goroutine writes it, any
// goroutine reads it.
type symbolDir struct {
	syms []atomic.Uint64 // the 8 ASCII bytes of each symbol, big-endian
}

func newSymbolDir(instruments int) *symbolDir {
	return &symbolDir{syms: make([]atomic.Uint64, instruments)}
}

func (d *symbolDir) set(locate uint16, sym [8]byte) {
	if int(locate) < len(d.syms) {
		d.syms[locate].Store(binary.BigEndian.Uint64(sym[:]))
	}
}

// name returns the symbol of locate without padding, or "" when unknown.
func (d *symbolDir) name(locate uint32) string {
	if uint64(locate) >= uint64(len(d.syms)) {
		return ""
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], d.syms[locate].Load())
	n := len(b)
	for n > 0 && (b[n-1] == ' ' || b[n-1] == 0) {
		n--
	}
	return string(b[:n])
}

// feedLoop owns the feed handler and runs it on one goroutine with
// feedhandler.Run. After each batch, on that goroutine, the loop publishes
// snapshots of the handler's counters for other goroutines and ends the run
// once a finished session has been fully delivered (the drain).
type feedLoop struct {
	h     *feedhandler.Handler
	src   *source.UDP
	ticks *ring.Ring[ring.Tick]
	syms  *symbolDir
	// bind, when set, is told each book's symbol as the stock directory
	// names it (the engine binds the locate to its underlying).
	bind   func(locate uint16, sym string)
	cancel context.CancelFunc // ends Run

	// target is the number of messages of the ended session (the sender's
	// last sequence number) once known, 0 before: the run ends when the
	// end-of-session packet was received and every message was delivered
	// or declared lost.
	target  atomic.Uint64
	drained atomic.Bool

	nextSnapNs int64 // feed goroutine only
	symsBooks  int   // books in the symbol directory

	mu   sync.Mutex
	snap feedSnapshot
}

// afterBatch is feedhandler.Run's per-batch hook.
func (f *feedLoop) afterBatch(*feedhandler.Handler) {
	now := source.Now()
	if now >= f.nextSnapNs {
		f.publish(now)
		f.nextSnapNs = now + snapshotEveryNs
	}
	if t := f.target.Load(); t != 0 && !f.drained.Load() {
		seq := f.h.SequencerStats()
		if seq.EndOfSession > 0 && seq.Messages+seq.LostMessages >= t {
			f.drained.Store(true)
			f.cancel()
		}
	}
}

// publish copies the handler's counters into the shared snapshot and
// refreshes the symbol directory when books were added. It runs on the feed
// goroutine.
func (f *feedLoop) publish(now int64) {
	s := feedSnapshot{
		atNs:     now,
		counters: f.h.Counters(),
		seq:      f.h.SequencerStats(),
		stale:    f.h.Stale(),
		books:    f.h.Books().Stats().Books,
	}
	s.ended = s.seq.EndOfSession > 0
	if s.books != f.symsBooks {
		// New books: a stock directory message names each before its
		// orders arrive, so the symbols are known by now.
		f.h.Books().Each(func(locate uint16, sym [8]byte, _ book.Top) {
			f.syms.set(locate, sym)
			if f.bind != nil {
				f.bind(locate, f.syms.name(uint32(locate)))
			}
		})
		f.symsBooks = s.books
	}
	f.mu.Lock()
	f.snap = s
	f.mu.Unlock()
}

// snapshot returns the latest published snapshot. Safe from any goroutine.
func (f *feedLoop) snapshot() feedSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}

// run feeds the handler from the source until ctx is done, the drain
// completes or the source fails; then it lets the consumer empty the ring,
// publishes the ticks the handler deferred while the ring was full, takes a
// last snapshot and closes the ring. A nil error means a normal stop.
func (f *feedLoop) run(ctx context.Context) error {
	err := feedhandler.Run(ctx, f.h, f.src, feedhandler.RunOptions{Now: source.Now, AfterBatch: f.afterBatch})
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil
	}
	deadline := time.Now().Add(ringDrainTimeout)
	for f.ticks.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(ringDrainPoll)
	}
	// The ring holds at least one slot per possible book, so an empty
	// ring takes every deferred tick.
	f.h.Poll(source.Now())
	f.publish(source.Now())
	f.ticks.Close()
	return err
}
