package moldudp64

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// recorder is a Handler that checks each message against msgFor and keeps
// the delivered sequence numbers.
type recorder struct {
	t    testing.TB
	seqs []uint64
}

func (r *recorder) Message(seq uint64, msg []byte) {
	if !bytes.Equal(msg, msgFor(seq)) {
		r.t.Fatalf("message %d delivered with wrong bytes % x", seq, msg)
	}
	r.seqs = append(r.seqs, seq)
}

// eventLog records Events.
type eventLog struct {
	opened, recovered, lost []Gap
	ended                   []uint64
}

func (e *eventLog) GapOpened(g Gap)                  { e.opened = append(e.opened, g) }
func (e *eventLog) GapRecovered(g Gap)               { e.recovered = append(e.recovered, g) }
func (e *eventLog) GapLost(g Gap)                    { e.lost = append(e.lost, g) }
func (e *eventLog) SessionEnded(_ Session, n uint64) { e.ended = append(e.ended, n) }

// fakeRequester records requests.
type fakeRequester struct {
	reqs []Request
	err  error
}

func (f *fakeRequester) Request(s Session, seq uint64, count uint16) error {
	f.reqs = append(f.reqs, Request{Session: s, Seq: seq, Count: count})
	return f.err
}

func (f *fakeRequester) take() []Request {
	r := f.reqs
	f.reqs = nil
	return r
}

// seqRange returns first..last.
func seqRange(first, last uint64) []uint64 {
	var out []uint64
	for q := first; q <= last; q++ {
		out = append(out, q)
	}
	return out
}

type fixture struct {
	t   *testing.T
	rec *recorder
	ev  *eventLog
	req *fakeRequester
	seq *Sequencer
	now int64
}

func newFixture(t *testing.T, cfg Config, rerequest bool) *fixture {
	t.Helper()
	f := &fixture{t: t, rec: &recorder{t: t}, ev: &eventLog{}}
	cfg.Handler = f.rec
	cfg.Events = f.ev
	if rerequest {
		f.req = &fakeRequester{}
		cfg.Requester = f.req
	}
	s, err := NewSequencer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.seq = s
	return f
}

// feed feeds a data packet first..first+n-1 and expects no error.
func (f *fixture) feed(first uint64, n int) {
	f.t.Helper()
	if err := f.seq.Feed(packet(testSession, first, n), f.now); err != nil {
		f.t.Fatalf("Feed(%d,%d): %v", first, n, err)
	}
}

func (f *fixture) heartbeat(next uint64) {
	f.t.Helper()
	if err := f.seq.Feed(AppendHeartbeat(nil, testSession, next), f.now); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) wantDelivered(want []uint64) {
	f.t.Helper()
	if !slices.Equal(f.rec.seqs, want) {
		f.t.Fatalf("delivered %v, want %v", f.rec.seqs, want)
	}
}

func (f *fixture) wantRequests(want ...Request) {
	f.t.Helper()
	got := f.req.take()
	for i := range want {
		want[i].Session = testSession
	}
	if !slices.Equal(got, want) {
		f.t.Fatalf("requests %+v, want %+v", got, want)
	}
}

func gap(first, last uint64) Gap { return Gap{Session: testSession, First: first, Last: last} }

func TestNewSequencerConfig(t *testing.T) {
	h := HandlerFunc(func(uint64, []byte) {})
	bad := []Config{
		{},
		{Handler: h, LostGapsMax: -1},
		{Handler: h, Requester: &fakeRequester{}, RequestMessagesMax: MessageCountMax + 1},
		{Handler: h, Requester: &fakeRequester{}, BufferedMessagesMax: -5},
		{Handler: h, Requester: &fakeRequester{}, BufferedBytesMax: BufferedBytesLimit + 1},
		{Handler: h, Requester: &fakeRequester{}, OpenGapsMax: OpenGapsLimit + 1},
		{Handler: h, Requester: &fakeRequester{}, RequestRetries: -2},
		{Handler: h, Requester: &fakeRequester{}, RequestTimeout: -time.Second},
	}
	for _, c := range bad {
		if _, err := NewSequencer(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := NewSequencer(Config{Handler: h, Requester: &fakeRequester{}}); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

func TestReplayInOrderAndDuplicates(t *testing.T) {
	f := newFixture(t, Config{}, false)
	f.feed(1, 5)
	f.feed(6, 5)
	f.feed(1, 5)  // whole duplicate
	f.feed(8, 6)  // partial overlap: 8..10 duplicate, 11..13 new
	f.feed(13, 1) // duplicate
	f.wantDelivered(seqRange(1, 13))
	st := f.seq.Stats()
	if st.Messages != 13 || st.Duplicates != 9 || st.Packets != 5 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
	if f.seq.Stale() || len(f.seq.Gaps()) != 0 || f.seq.Expected() != 14 {
		t.Fatalf("stale %v gaps %v expected %d", f.seq.Stale(), f.seq.Gaps(), f.seq.Expected())
	}
	if s, ok := f.seq.Session(); !ok || s != testSession {
		t.Fatalf("session %q %v", s, ok)
	}
}

func TestReplayGapAndLate(t *testing.T) {
	f := newFixture(t, Config{}, false)
	f.feed(1, 5)
	f.feed(9, 2) // 6..8 missing
	f.wantDelivered(append(seqRange(1, 5), 9, 10))
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(6, 8)}) || !slices.Equal(f.ev.lost, []Gap{gap(6, 8)}) {
		t.Fatalf("gaps %v events %v", f.seq.Gaps(), f.ev.lost)
	}
	if !f.seq.Stale() {
		t.Fatal("not stale after a lost gap")
	}
	f.seq.ClearStale()
	if f.seq.Stale() {
		t.Fatal("stale after ClearStale")
	}
	f.feed(5, 4) // 5 duplicate, 6..8 late
	f.wantDelivered(append(seqRange(1, 5), 9, 10))
	st := f.seq.Stats()
	if st.Late != 3 || st.Duplicates != 1 || st.GapsLost != 1 || st.LostMessages != 3 {
		t.Fatalf("stats %+v", st)
	}
	// Heartbeat: behind or equal is fine, ahead reveals a gap.
	f.heartbeat(5)
	f.heartbeat(11)
	f.heartbeat(14) // 11..13 missing
	f.feed(14, 1)
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(6, 8), gap(11, 13)}) {
		t.Fatalf("gaps %v", f.seq.Gaps())
	}
	if st := f.seq.Stats(); st.Heartbeats != 3 {
		t.Fatalf("heartbeats %d", st.Heartbeats)
	}
	f.wantDelivered(append(seqRange(1, 5), 9, 10, 14))
}

func TestStartSeq(t *testing.T) {
	join := newFixture(t, Config{}, false)
	join.feed(100, 2)
	join.wantDelivered([]uint64{100, 101})
	if len(join.seq.Gaps()) != 0 {
		t.Fatalf("late join reported %v", join.seq.Gaps())
	}
	whole := newFixture(t, Config{StartSeq: 1}, false)
	whole.feed(100, 2)
	if !slices.Equal(whole.seq.Gaps(), []Gap{gap(1, 99)}) {
		t.Fatalf("gaps %v", whole.seq.Gaps())
	}
	// With a re-request server the missing start is requested.
	rr := newFixture(t, Config{StartSeq: 1}, true)
	rr.feed(100, 2)
	rr.wantRequests(Request{Seq: 1, Count: 99})
	rr.feed(1, 99)
	rr.wantDelivered(seqRange(1, 101))
	// A heartbeat can start a joined session.
	hb := newFixture(t, Config{}, false)
	hb.heartbeat(50)
	hb.feed(50, 1)
	hb.wantDelivered([]uint64{50})
}

func TestMalformedCounted(t *testing.T) {
	f := newFixture(t, Config{}, false)
	f.feed(1, 2)
	bad := packet(testSession, 3, 2)
	if err := f.seq.Feed(bad[:len(bad)-1], 0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	if err := f.seq.Feed([]byte{1, 2, 3}, 0); !errors.Is(err, ErrShort) {
		t.Fatalf("short: %v", err)
	}
	if st := f.seq.Stats(); st.Malformed != 2 || st.Packets != 3 || st.Messages != 2 {
		t.Fatalf("stats %+v", st)
	}
	f.feed(3, 2)
	f.wantDelivered(seqRange(1, 4))
}

func TestSessionRules(t *testing.T) {
	f := newFixture(t, Config{}, true)
	other := MakeSession("OTHER")
	f.feed(1, 3)
	if err := f.seq.Feed(packet(other, 1, 3), 0); !errors.Is(err, ErrOtherSession) {
		t.Fatalf("other session: %v", err)
	}
	f.feed(5, 2) // gap 4 opens
	f.wantRequests(Request{Seq: 4, Count: 1})
	// End of session: announced next 7, no new gap; repeated EOS reported once.
	eos := AppendEndOfSession(nil, testSession, 7)
	for i := 0; i < 3; i++ {
		if err := f.seq.Feed(eos, 0); err != nil {
			t.Fatal(err)
		}
	}
	if ended, next := f.seq.Ended(); !ended || next != 7 || !slices.Equal(f.ev.ended, []uint64{7}) {
		t.Fatalf("ended %v %d events %v", ended, next, f.ev.ended)
	}
	// Retransmissions of the ended session are still taken.
	f.feed(4, 1)
	f.wantDelivered(seqRange(1, 6))
	f.feed(8, 1) // gap 7 after EOS
	// A new session after EOS starts it: the open gap is lost.
	if err := f.seq.Feed(packet(other, 1, 2), 0); err != nil {
		t.Fatalf("new session after end: %v", err)
	}
	if !slices.Equal(f.ev.lost, []Gap{gap(7, 7)}) {
		t.Fatalf("lost %v", f.ev.lost)
	}
	if s, _ := f.seq.Session(); s != other {
		t.Fatalf("session %q", s)
	}
	if ended, _ := f.seq.Ended(); ended {
		t.Fatal("new session marked ended")
	}
	// Now the old session is the other one.
	if err := f.seq.Feed(packet(testSession, 9, 1), 0); !errors.Is(err, ErrOtherSession) {
		t.Fatalf("old session after switch: %v", err)
	}
	st := f.seq.Stats()
	if st.Sessions != 2 || st.OtherSession != 2 || st.EndOfSession != 3 {
		t.Fatalf("stats %+v", st)
	}
	// Reset follows a restarted sender without end of session.
	f.seq.Reset(0)
	if _, ok := f.seq.Session(); ok {
		t.Fatal("session kept after Reset")
	}
	f.feed(1, 1)
	if s, _ := f.seq.Session(); s != testSession {
		t.Fatalf("session after Reset %q", s)
	}
}

func TestRequestRecover(t *testing.T) {
	f := newFixture(t, Config{}, true)
	f.feed(1, 5)
	f.feed(11, 5) // 6..10 missing
	f.wantRequests(Request{Seq: 6, Count: 5})
	f.wantDelivered(seqRange(1, 5))
	if !f.seq.Stale() || !slices.Equal(f.seq.AppendOpenGaps(nil), []Gap{gap(6, 10)}) {
		t.Fatalf("stale %v open %v", f.seq.Stale(), f.seq.AppendOpenGaps(nil))
	}
	if m, b := f.seq.Buffered(); m != 5 || b == 0 {
		t.Fatalf("buffered %d msgs %d bytes", m, b)
	}
	f.feed(13, 5) // 13..15 duplicates of buffered, 16..17 buffered
	f.feed(6, 5)  // the response
	f.wantDelivered(seqRange(1, 17))
	if f.seq.Stale() || len(f.seq.Gaps()) != 0 {
		t.Fatalf("stale %v gaps %v", f.seq.Stale(), f.seq.Gaps())
	}
	if !slices.Equal(f.ev.opened, []Gap{gap(6, 10)}) || !slices.Equal(f.ev.recovered, []Gap{gap(6, 10)}) {
		t.Fatalf("events %+v", f.ev)
	}
	st := f.seq.Stats()
	if st.Recovered != 5 || st.Duplicates != 3 || st.GapsRecovered != 1 || st.Requests != 1 || st.RequestedMessages != 5 {
		t.Fatalf("stats %+v", st)
	}
	if m, b := f.seq.Buffered(); m != 0 || b != 0 {
		t.Fatalf("buffer not empty: %d %d", m, b)
	}
	// A duplicate retransmission later is a duplicate.
	f.feed(6, 5)
	if st := f.seq.Stats(); st.Duplicates != 8 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
	f.t.Log(f.seq.Stats())
}

func TestRequestChunksAndProgress(t *testing.T) {
	f := newFixture(t, Config{RequestMessagesMax: 4, RequestTimeout: 10 * time.Millisecond, RequestRetries: 1}, true)
	f.feed(1, 1)
	f.feed(12, 1) // 2..11 missing
	f.wantRequests(Request{Seq: 2, Count: 4})
	f.feed(2, 4) // chunk answered in full: next chunk at once
	f.wantRequests(Request{Seq: 6, Count: 4})
	f.feed(6, 2) // partial answer: wait for the time-out
	f.wantRequests()
	f.now += int64(10 * time.Millisecond)
	f.seq.Poll(f.now) // progress since the send: not a failed try
	f.wantRequests(Request{Seq: 8, Count: 4})
	f.now += int64(10 * time.Millisecond)
	f.seq.Poll(f.now) // no progress: retry 1 of 1
	f.wantRequests(Request{Seq: 8, Count: 4})
	f.feed(8, 1) // progress again
	f.now += int64(10 * time.Millisecond)
	f.seq.Poll(f.now)
	f.wantRequests(Request{Seq: 9, Count: 3})
	f.feed(9, 3)
	f.wantDelivered(seqRange(1, 12))
	if st := f.seq.Stats(); st.Timeouts != 3 || st.GapsLost != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRequestRetriesExhausted(t *testing.T) {
	f := newFixture(t, Config{RequestTimeout: 10 * time.Millisecond, RequestRetries: 2}, true)
	f.feed(1, 2)
	f.feed(6, 2) // 3..5 missing
	f.wantRequests(Request{Seq: 3, Count: 3})
	step := int64(10 * time.Millisecond)
	f.now += step - 1
	f.seq.Poll(f.now)
	f.wantRequests() // not yet due
	f.now++
	f.seq.Poll(f.now)
	f.wantRequests(Request{Seq: 3, Count: 3})
	f.now += step
	f.seq.Poll(f.now)
	f.wantRequests(Request{Seq: 3, Count: 3})
	if len(f.ev.lost) != 0 || !f.seq.Stale() {
		t.Fatal("lost too early")
	}
	f.now += step
	f.seq.Poll(f.now) // retries exhausted
	f.wantRequests()
	if !slices.Equal(f.ev.lost, []Gap{gap(3, 5)}) || !slices.Equal(f.seq.Gaps(), []Gap{gap(3, 5)}) {
		t.Fatalf("lost %v gaps %v", f.ev.lost, f.seq.Gaps())
	}
	f.wantDelivered([]uint64{1, 2, 6, 7})
	if !f.seq.Stale() || len(f.seq.AppendOpenGaps(nil)) != 0 {
		t.Fatal("stale latch not set after lost gap")
	}
	f.seq.ClearStale()
	if f.seq.Stale() {
		t.Fatal("stale after ClearStale")
	}
	st := f.seq.Stats()
	if st.Requests != 3 || st.Timeouts != 3 || st.GapsLost != 1 || st.LostMessages != 3 {
		t.Fatalf("stats %+v", st)
	}
	// A late answer is counted, not delivered.
	f.feed(3, 3)
	if st := f.seq.Stats(); st.Late != 3 {
		t.Fatalf("late %d", st.Late)
	}
	f.wantDelivered([]uint64{1, 2, 6, 7})
}

func TestNoRetries(t *testing.T) {
	f := newFixture(t, Config{RequestTimeout: time.Millisecond, RequestRetries: NoRetries}, true)
	f.feed(1, 1)
	f.feed(3, 1)
	f.wantRequests(Request{Seq: 2, Count: 1})
	f.now += int64(time.Millisecond)
	f.seq.Poll(f.now)
	f.wantRequests()
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(2, 2)}) {
		t.Fatalf("gaps %v", f.seq.Gaps())
	}
}

func TestRequestDelayAndReorder(t *testing.T) {
	f := newFixture(t, Config{RequestDelay: 2 * time.Millisecond}, true)
	f.feed(1, 1)
	f.feed(3, 1) // 2 missing, perhaps only reordered
	f.wantRequests()
	f.now += int64(time.Millisecond)
	f.seq.Poll(f.now)
	f.wantRequests()
	f.feed(2, 1) // the reordered packet
	f.wantDelivered(seqRange(1, 3))
	f.now += int64(time.Millisecond)
	f.seq.Poll(f.now)
	f.wantRequests()
	f.feed(5, 1) // 4 missing for real
	f.now += int64(2 * time.Millisecond)
	f.seq.Poll(f.now)
	f.wantRequests(Request{Seq: 4, Count: 1})
}

func TestHoleSplit(t *testing.T) {
	f := newFixture(t, Config{}, true)
	f.feed(1, 1)
	f.feed(10, 1) // 2..9 missing
	f.wantRequests(Request{Seq: 2, Count: 8})
	f.feed(5, 1) // late in-between packet splits the range
	if !slices.Equal(f.seq.AppendOpenGaps(nil), []Gap{gap(2, 4), gap(6, 9)}) {
		t.Fatalf("open gaps %v", f.seq.AppendOpenGaps(nil))
	}
	f.wantRequests() // both parts are covered by the outstanding request
	f.feed(9, 1)     // shrink the right part from its end
	f.feed(2, 3)
	f.wantDelivered(seqRange(1, 5))
	f.feed(6, 3)
	f.wantDelivered(seqRange(1, 10))
	if !slices.Equal(f.ev.recovered, []Gap{gap(2, 4), gap(6, 9)}) {
		t.Fatalf("recovered %v", f.ev.recovered)
	}
	if st := f.seq.Stats(); st.Recovered != 8 || st.GapsOpened != 1 || st.GapsRecovered != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSplitRequestsUncoveredPart(t *testing.T) {
	f := newFixture(t, Config{RequestMessagesMax: 3}, true)
	f.feed(1, 1)
	f.feed(20, 1) // 2..19 missing; request covers 2..4
	f.wantRequests(Request{Seq: 2, Count: 3})
	f.feed(10, 1) // split: 2..9 (request outstanding), 11..19 (not covered)
	f.wantRequests(Request{Seq: 11, Count: 3})
}

func TestBufferOverflowMessages(t *testing.T) {
	f := newFixture(t, Config{BufferedMessagesMax: 8}, true)
	f.feed(1, 1)
	f.feed(3, 8) // 2 missing; 3..10 buffered (span 8)
	if st := f.seq.Stats(); st.Overflows != 0 {
		t.Fatalf("overflow too early: %+v", st)
	}
	f.feed(11, 1) // span would be 9: the gap is lost
	f.wantDelivered(append([]uint64{1}, seqRange(3, 11)...))
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(2, 2)}) {
		t.Fatalf("gaps %v", f.seq.Gaps())
	}
	if st := f.seq.Stats(); st.Overflows != 1 || st.GapsLost != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A gap larger than the buffer is fine while few messages follow it.
	f.feed(1000, 1)
	f.wantRequests(Request{Seq: 2, Count: 1}, Request{Seq: 12, Count: 988})
	f.feed(12, 988)
	f.wantDelivered(append([]uint64{1}, seqRange(3, 1000)...))
}

func TestBufferOverflowBytes(t *testing.T) {
	f := newFixture(t, Config{BufferedBytesMax: 64}, true)
	f.feed(1, 1)
	f.feed(3, 2) // 2 missing; msgFor(3), msgFor(4) = 11+12 bytes
	if _, b := f.seq.Buffered(); b != 23 {
		t.Fatalf("buffered %d bytes", b)
	}
	f.feed(5, 3) // +13+14+15 = 65 > 64: overflow at 7
	f.wantDelivered(append([]uint64{1}, seqRange(3, 7)...))
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(2, 2)}) {
		t.Fatalf("gaps %v", f.seq.Gaps())
	}
	// A message larger than the whole buffer behind a gap.
	big := newFixture(t, Config{BufferedBytesMax: 8}, true)
	big.feed(1, 1)
	big.feed(3, 1) // 11 bytes > 8
	big.wantDelivered([]uint64{1, 3})
	if !slices.Equal(big.seq.Gaps(), []Gap{gap(2, 2)}) || !slices.Equal(big.ev.opened, []Gap{gap(2, 2)}) {
		t.Fatalf("gaps %v opened %v", big.seq.Gaps(), big.ev.opened)
	}
}

func TestArenaCompaction(t *testing.T) {
	// Two gaps roll forward so the buffer never empties: messages leave the
	// bump arena in a different order than they entered and it compacts.
	f := newFixture(t, Config{BufferedBytesMax: 200, BufferedMessagesMax: 1000}, true)
	f.feed(1, 1)
	base := uint64(2)
	for round := 0; round < 60; round++ {
		f.feed(base+1, 2) // base missing
		if round > 0 {
			f.feed(base-3, 1) // fill the previous round's gap
		}
		if m, b := f.seq.Buffered(); m != 2 || b > 200 {
			t.Fatalf("round %d: buffered %d msgs %d bytes", round, m, b)
		}
		base += 3
	}
	f.feed(base-3, 1)
	f.wantDelivered(seqRange(1, base-1))
	if st := f.seq.Stats(); st.GapsLost != 0 || st.Overflows != 0 || st.GapsRecovered != 60 {
		t.Fatalf("stats %+v", st)
	}
	if f.seq.compactions == 0 {
		t.Fatal("the arena never compacted")
	}
	t.Logf("%d compactions", f.seq.compactions)
}

func TestOpenGapsMax(t *testing.T) {
	f := newFixture(t, Config{OpenGapsMax: 2}, true)
	f.feed(1, 1)
	f.feed(3, 1)
	f.feed(5, 1)
	f.feed(7, 1) // third range: 2 is lost
	f.wantDelivered([]uint64{1, 3})
	if !slices.Equal(f.seq.Gaps(), []Gap{gap(2, 2)}) {
		t.Fatalf("gaps %v", f.seq.Gaps())
	}
	// Splitting with no room loses the oldest too.
	f.feed(20, 1) // ranges 4, 6 open -> 4 lost; ranges 6, 8..19
	f.feed(10, 1) // split of 8..19 needs room: 6 lost
	f.wantDelivered([]uint64{1, 3, 5, 7})
	if !slices.Equal(f.seq.AppendOpenGaps(nil), []Gap{gap(8, 9), gap(11, 19)}) {
		t.Fatalf("open %v", f.seq.AppendOpenGaps(nil))
	}
	if st := f.seq.Stats(); st.Overflows != 3 {
		t.Fatalf("overflows %d", st.Overflows)
	}
}

func TestHeartbeatRevealsGapRerequest(t *testing.T) {
	f := newFixture(t, Config{}, true)
	f.feed(1, 3)
	f.heartbeat(4)
	f.wantRequests()
	f.heartbeat(7) // 4..6 sent but lost
	f.wantRequests(Request{Seq: 4, Count: 3})
	if !f.seq.Stale() {
		t.Fatal("not stale")
	}
	f.feed(4, 3)
	f.wantDelivered(seqRange(1, 6))
	if f.seq.Stale() {
		t.Fatal("stale after recovery")
	}
	// End of session can reveal a gap too, and recovery continues after it.
	if err := f.seq.Feed(AppendEndOfSession(nil, testSession, 9), f.now); err != nil {
		t.Fatal(err)
	}
	f.wantRequests(Request{Seq: 7, Count: 2})
	f.feed(7, 2)
	f.wantDelivered(seqRange(1, 8))
}

func TestRequestErrorCounted(t *testing.T) {
	f := newFixture(t, Config{RequestTimeout: time.Millisecond}, true)
	f.req.err = errors.New("network down")
	f.feed(1, 1)
	f.feed(3, 1)
	f.now += int64(time.Millisecond)
	f.seq.Poll(f.now)
	if st := f.seq.Stats(); st.RequestErrors != 2 || st.Requests != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLostGapsBound(t *testing.T) {
	f := newFixture(t, Config{LostGapsMax: 2}, false)
	for i := uint64(0); i < 5; i++ {
		f.feed(1+3*i, 1)
	}
	if len(f.seq.Gaps()) != 2 || f.seq.Stats().GapsDropped != 2 || f.seq.Stats().GapsLost != 4 {
		t.Fatalf("gaps %v stats %+v", f.seq.Gaps(), f.seq.Stats())
	}
	if len(f.ev.lost) != 4 {
		t.Fatalf("events %v", f.ev.lost)
	}
}

// netPacket is a packet in flight in the simulated network.
type netPacket struct {
	at  int64
	pkt []byte
}

// simNet is a deterministic lossy, duplicating, reordering network and
// re-request server around a Sequencer, in virtual time.
type simNet struct {
	rng       uint64
	queue     []netPacket
	total     uint64 // messages the sender produced: 1..total
	storeLow  uint64 // lowest sequence number the server still holds
	answerPct int    // probability the server answers a request
	now       int64
}

func (n *simNet) rand(k int) int {
	n.rng ^= n.rng << 13
	n.rng ^= n.rng >> 7
	n.rng ^= n.rng << 17
	return int(n.rng % uint64(k))
}

func (n *simNet) send(pkt []byte, dropPct, dupPct int) {
	if n.rand(100) < dropPct {
		return
	}
	copies := 1
	if n.rand(100) < dupPct {
		copies = 2
	}
	for i := 0; i < copies; i++ {
		n.queue = append(n.queue, netPacket{at: n.now + int64(n.rand(3000))*1000, pkt: pkt})
	}
}

// Request implements Requester: the server answers from its store.
func (n *simNet) Request(s Session, seq uint64, count uint16) error {
	if n.rand(100) >= n.answerPct {
		return nil
	}
	last := min(seq+uint64(count)-1, n.total)
	seq = max(seq, n.storeLow)
	for seq <= last {
		k := min(last-seq+1, uint64(1+n.rand(10)))
		n.send(packet(s, seq, int(k)), 5, 5)
		seq += k
	}
	return nil
}

// deliver feeds every packet due by now, in arrival order.
func (n *simNet) deliver(t *testing.T, s *Sequencer) {
	slices.SortStableFunc(n.queue, func(a, b netPacket) int { return int(a.at - b.at) })
	i := 0
	for ; i < len(n.queue) && n.queue[i].at <= n.now; i++ {
		if err := s.Feed(n.queue[i].pkt, n.now); err != nil {
			t.Fatal(err)
		}
	}
	n.queue = n.queue[i:]
}

func TestSequencerRandomized(t *testing.T) {
	type params struct {
		rerequest                  bool
		dropPct, dupPct, answerPct int
		storeLow                   uint64
		bufMsgs                    int
		openGaps                   int
	}
	cases := []params{
		{rerequest: false, dropPct: 5, dupPct: 5},
		{rerequest: true, dropPct: 5, dupPct: 5, answerPct: 100},
		{rerequest: true, dropPct: 20, dupPct: 10, answerPct: 70},
		{rerequest: true, dropPct: 10, dupPct: 0, answerPct: 90, storeLow: 1500},
		{rerequest: true, dropPct: 10, dupPct: 5, answerPct: 90, bufMsgs: 40, openGaps: 3},
		{rerequest: true, dropPct: 30, dupPct: 5, answerPct: 0},
	}
	for ci, p := range cases {
		for seed := uint64(1); seed <= 5; seed++ {
			net := &simNet{rng: seed*7919 + uint64(ci), total: 3000, storeLow: p.storeLow, answerPct: p.answerPct}
			var delivered []uint64
			next := uint64(1)
			var lost []Gap
			ev := &eventLog{}
			cfg := Config{
				StartSeq:            1,
				Events:              ev,
				RequestTimeout:      5 * time.Millisecond,
				RequestRetries:      3,
				RequestMessagesMax:  50,
				BufferedMessagesMax: p.bufMsgs,
				OpenGapsMax:         p.openGaps,
				Handler: HandlerFunc(func(seq uint64, msg []byte) {
					if !bytes.Equal(msg, msgFor(seq)) {
						t.Fatalf("message %d has wrong bytes", seq)
					}
					for len(ev.lost) > len(lost) {
						g := ev.lost[len(lost)]
						if g.First != next {
							t.Fatalf("lost gap %v does not start at %d", g, next)
						}
						next = g.Last + 1
						lost = append(lost, g)
					}
					if seq != next {
						t.Fatalf("case %d seed %d: delivered %d, want %d", ci, seed, seq, next)
					}
					next++
					delivered = append(delivered, seq)
				}),
			}
			if p.rerequest {
				cfg.Requester = net
			}
			s, err := NewSequencer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sent := uint64(1)
			for steps := 0; ; steps++ {
				if steps > 100000 {
					t.Fatalf("case %d seed %d: no convergence: %+v", ci, seed, s.Stats())
				}
				if sent <= net.total {
					k := min(uint64(1+net.rand(12)), net.total-sent+1)
					net.send(packet(testSession, sent, int(k)), p.dropPct, p.dupPct)
					sent += k
					if net.rand(10) == 0 {
						net.send(AppendHeartbeat(nil, testSession, sent), p.dropPct, 0)
					}
				} else if len(net.queue) == 0 {
					// The sender's end of session is reliable here, so the
					// tail is always detected.
					net.queue = append(net.queue, netPacket{at: net.now, pkt: AppendEndOfSession(nil, testSession, sent)})
				}
				net.now += 500_000
				net.deliver(t, s)
				s.Poll(net.now)
				if sent > net.total && len(net.queue) == 0 && !hasOpen(s) && s.Expected() == net.total+1 {
					break
				}
			}
			// Account for lost gaps at the very end (after the last delivery).
			for len(ev.lost) > len(lost) {
				g := ev.lost[len(lost)]
				if g.First != next {
					t.Fatalf("trailing lost gap %v does not start at %d", g, next)
				}
				next = g.Last + 1
				lost = append(lost, g)
			}
			st := s.Stats()
			var lostMsgs uint64
			for _, g := range lost {
				lostMsgs += g.Messages()
			}
			if next != net.total+1 || uint64(len(delivered))+lostMsgs != net.total {
				t.Fatalf("case %d seed %d: delivered %d + lost %d != %d (next %d)", ci, seed, len(delivered), lostMsgs, net.total, next)
			}
			if st.Messages != uint64(len(delivered)) || st.LostMessages != lostMsgs || !slices.Equal(s.Gaps(), lost) {
				t.Fatalf("case %d seed %d: stats %+v disagree", ci, seed, st)
			}
			if m, b := s.Buffered(); m != 0 || b != 0 {
				t.Fatalf("buffer not empty at the end: %d %d", m, b)
			}
			if seed == 1 {
				t.Logf("case %d: %d delivered, %d lost in %d gaps; %d dups, %d late, %d recovered, %d requests, %d overflows",
					ci, len(delivered), lostMsgs, len(lost), st.Duplicates, st.Late, st.Recovered, st.Requests, st.Overflows)
			}
			if p.rerequest && p.answerPct == 100 && p.storeLow == 0 && st.GapsLost != 0 {
				// Retransmissions can also be dropped (5%), but four tries
				// per gap make a loss vanishingly rare in 3000 messages.
				t.Logf("case %d seed %d: %d gaps lost despite a full store", ci, seed, st.GapsLost)
			}
			if p.storeLow > 0 && lostMsgs == 0 {
				t.Fatalf("case %d seed %d: nothing lost below the store's low mark", ci, seed)
			}
			if p.rerequest && p.answerPct > 0 && st.Recovered == 0 {
				t.Fatalf("case %d seed %d: nothing recovered: %+v", ci, seed, st)
			}
		}
	}
}

func hasOpen(s *Sequencer) bool { return len(s.AppendOpenGaps(nil)) > 0 }

func TestSequencerAllocs(t *testing.T) {
	var sink int
	h := HandlerFunc(func(_ uint64, msg []byte) { sink += len(msg) })
	pkt := itchLikePacket(10)
	stamp := func(seq uint64) []byte {
		AppendHeader(pkt[:0], Header{Session: testSession, Seq: seq, Count: 10})
		return pkt
	}
	for _, rerequest := range []bool{false, true} {
		cfg := Config{Handler: h, BufferedBytesMax: 1 << 16, BufferedMessagesMax: 1 << 10}
		if rerequest {
			cfg.Requester = &nopRequester{}
		}
		s, err := NewSequencer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		seq := uint64(1)
		n := testing.AllocsPerRun(200, func() {
			_ = s.Feed(stamp(seq), 0)
			seq += 10
		})
		if n != 0 {
			t.Fatalf("rerequest=%v: in-order Feed allocates %v", rerequest, n)
		}
		// With gaps: every cycle drops a packet and recovers it (or, in
		// replay mode, reports it lost and counts it late).
		var now int64
		j := 0
		n = testing.AllocsPerRun(500, func() {
			base := seq + uint64(j/5)*40
			switch j % 5 {
			case 0:
				_ = s.Feed(stamp(base), now)
			case 1: // base+10..19 dropped
				_ = s.Feed(stamp(base+20), now)
			case 2:
				_ = s.Feed(stamp(base+30), now)
			case 3:
				now += int64(time.Millisecond)
				s.Poll(now)
			case 4:
				_ = s.Feed(stamp(base+10), now)
			}
			j++
		})
		if n != 0 {
			t.Fatalf("rerequest=%v: Feed with gaps allocates %v", rerequest, n)
		}
		st := s.Stats()
		if rerequest && (st.GapsRecovered == 0 || st.GapsLost != 0) || !rerequest && st.Late == 0 {
			t.Fatalf("rerequest=%v: gap path not exercised: %+v", rerequest, st)
		}
	}
	_ = sink
}

type nopRequester struct{ n int }

func (r *nopRequester) Request(Session, uint64, uint16) error { r.n++; return nil }

// funcEvents adapts functions to Events.
type funcEvents struct {
	NopEvents
	lost func(Gap)
}

func (e funcEvents) GapLost(g Gap) { e.lost(g) }

func FuzzSequencer(f *testing.F) {
	f.Add([]byte{0, 0, 3, 0, 9, 2, 1, 5, 2, 2, 0, 4, 3})
	f.Add([]byte{1, 0, 3, 0, 9, 2, 1, 5, 2, 2, 0, 4, 3, 3, 0, 200, 7, 2, 40, 0, 6, 1})
	f.Add([]byte{1, 1, 30, 0, 0, 5, 4, 9, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) < 1 {
			return
		}
		rerequest := ops[0]&1 == 1
		ops = ops[1:]
		// Delivery invariant: within a session, messages arrive as 1, 2, 3...
		// except that a lost gap, which must start at the next undelivered
		// number, skips its range. A new session restarts at 1.
		var s *Sequencer
		var cur Session
		next := uint64(1)
		var delivered, lost uint64
		follow := func(sess Session) {
			if sess != cur {
				cur = sess
				next = 1
			}
		}
		req := &fakeRequester{}
		cfg := Config{
			StartSeq:            1,
			RequestTimeout:      time.Millisecond,
			RequestRetries:      1,
			RequestMessagesMax:  5,
			BufferedMessagesMax: 16,
			BufferedBytesMax:    200,
			OpenGapsMax:         3,
			LostGapsMax:         4,
		}
		cfg.Events = funcEvents{lost: func(g Gap) {
			follow(g.Session)
			if g.First != next || g.Last < g.First {
				t.Fatalf("lost gap %v does not start at %d", g, next)
			}
			next = g.Last + 1
			lost++
		}}
		cfg.Handler = HandlerFunc(func(seq uint64, msg []byte) {
			sess, _ := s.Session()
			follow(sess)
			if seq != next {
				t.Fatalf("delivered %d, want %d", seq, next)
			}
			if sess == testSession && !bytes.Equal(msg, msgFor(seq)) {
				t.Fatalf("message %d has wrong bytes", seq)
			}
			next++
			delivered++
		})
		if rerequest {
			cfg.Requester = req
		}
		s, err := NewSequencer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var now int64
		for len(ops) >= 3 {
			op, a, b := ops[0]%4, uint64(ops[1]), ops[2]
			ops = ops[3:]
			base := s.Expected()
			sessions := s.Stats().Sessions
			switch op {
			case 0: // data packet near the expected sequence number
				first := max(1, base+a) - min(base, uint64(b>>4))
				_ = s.Feed(packet(testSession, max(first, 1), 1+int(b&15)), now)
			case 1: // heartbeat or end of session
				if b == 0xFF {
					_ = s.Feed(AppendEndOfSession(nil, testSession, max(1, base+a)), now)
				} else {
					_ = s.Feed(AppendHeartbeat(nil, testSession, max(1, base+a)), now)
				}
			case 2: // time passes
				now += int64(a) * int64(time.Millisecond) / 4
				s.Poll(now)
			case 3: // answer the oldest request, or feed raw bytes
				if len(req.reqs) > 0 {
					r := req.reqs[0]
					req.reqs = req.reqs[1:]
					n := min(int(r.Count), 1+int(b&7))
					_ = s.Feed(packet(r.Session, r.Seq, n), now)
				} else {
					_ = s.Feed(ops, now)
				}
			}
			m, by := s.Buffered()
			if m > 16 || by > 200 || len(s.AppendOpenGaps(nil)) > 3 || len(s.Gaps()) > 4 {
				t.Fatalf("bounds exceeded: %d msgs %d bytes %d open %d gaps", m, by, len(s.AppendOpenGaps(nil)), len(s.Gaps()))
			}
			if s.Expected() < base && s.Stats().Sessions == sessions {
				t.Fatalf("expected went back from %d to %d", base, s.Expected())
			}
		}
		st := s.Stats()
		if st.Messages != delivered || st.GapsLost != lost {
			t.Fatalf("stats %+v vs %d delivered %d lost", st, delivered, lost)
		}
		if !rerequest && st.Requests != 0 {
			t.Fatalf("replay mode requested: %+v", st)
		}
	})
}

func BenchmarkSequencerInOrder(b *testing.B) {
	const perPacket = 36
	pkt := itchLikePacket(perPacket)
	var sink int
	for _, mode := range []string{"replay", "rerequest"} {
		b.Run(mode, func(b *testing.B) {
			cfg := Config{Handler: HandlerFunc(func(_ uint64, msg []byte) { sink += len(msg) })}
			if mode == "rerequest" {
				cfg.Requester = &nopRequester{}
			}
			s, _ := NewSequencer(cfg)
			seq := uint64(1)
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				// Restamp the sequence number so each packet is new.
				AppendHeader(pkt[:0], Header{Session: testSession, Seq: seq, Count: perPacket})
				seq += perPacket
				if err := s.Feed(pkt, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*perPacket/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	_ = sink
}

// BenchmarkSequencerGapRecovery drops one packet in 16 and answers its
// request after three more packets, so every message passes through the
// out-of-order buffer path a sixteenth of the time.
func BenchmarkSequencerGapRecovery(b *testing.B) {
	const perPacket = 36
	var sink int
	s, _ := NewSequencer(Config{
		Handler:   HandlerFunc(func(_ uint64, msg []byte) { sink += len(msg) }),
		Requester: &nopRequester{},
	})
	pkt := itchLikePacket(perPacket)
	retrans := itchLikePacket(perPacket)
	seq := uint64(1)
	var dropped uint64
	i := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		switch {
		case i%16 == 0:
			dropped = seq
		default:
			AppendHeader(pkt[:0], Header{Session: testSession, Seq: seq, Count: perPacket})
			if err := s.Feed(pkt, 0); err != nil {
				b.Fatal(err)
			}
		}
		if i%16 == 3 {
			AppendHeader(retrans[:0], Header{Session: testSession, Seq: dropped, Count: perPacket})
			if err := s.Feed(retrans, 0); err != nil {
				b.Fatal(err)
			}
		}
		seq += perPacket
		i++
	}
	if st := s.Stats(); st.GapsLost != 0 {
		b.Fatalf("lost gaps: %+v", st)
	}
	b.ReportMetric(float64(b.N)*perPacket/b.Elapsed().Seconds(), "msgs/s")
	_ = sink
}
