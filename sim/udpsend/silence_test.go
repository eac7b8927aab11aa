package udpsend

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/sim/itchgen"
)

// writeClock is a fakeClock that also records, for every socket write the
// sender makes, the simulated time of the write (the sender reads its
// clock right after each write).
type writeClock struct {
	fakeClock
	s      *Sender
	seen   uint64
	writes []int64
}

func (c *writeClock) Now() int64 {
	if c.s != nil && c.s.stats.Writes != c.seen {
		c.seen = c.s.stats.Writes
		c.writes = append(c.writes, c.now)
	}
	return c.now
}

// silentRun sends a session paced at 1,000 messages/s with heartbeats
// every 100 ms, asking for a silence of d before message number at.
func silentRun(t *testing.T, at int, d time.Duration) (*Sender, *writeClock, decoded, int) {
	t.Helper()
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, itchgen.MinMessages(4)+1500)
	clk := &writeClock{}
	session := moldudp64.MakeSession("OUTAGE")
	s, err := New(conn, Config{Session: session, MessagesPerSec: 1000, Burst: 1, Heartbeat: 100 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	clk.s = s
	n := 0
	outage := func(dst []byte) ([]byte, bool) {
		n++
		if n == at {
			s.Silence(d)
		}
		return next(dst)
	}
	if err := s.Run(context.Background(), outage); err != nil {
		t.Fatal(err)
	}
	return s, clk, decode(t, session, r.wait(t)), len(want)
}

func TestSilence(t *testing.T) {
	const d = 3 * time.Second
	s, clk, got, total := silentRun(t, 500, d)
	// Every message arrives once, in one unbroken sequence: silence, no gap.
	if len(got.msgs) != total || got.endNext != uint64(total)+1 {
		t.Fatalf("received %d of %d messages, end of session announces %d", len(got.msgs), total, got.endNext)
	}
	for seq := uint64(1); seq <= uint64(total); seq++ {
		if _, ok := got.msgs[seq]; !ok {
			t.Fatalf("sequence %d missing", seq)
		}
	}
	// Paced at one message a millisecond, the feed is never idle for a
	// heartbeat: none before, during or after the silence.
	st := s.Stats()
	if st.Heartbeats != 0 || got.heartbeats != 0 {
		t.Fatalf("%d heartbeats sent, %d received", st.Heartbeats, got.heartbeats)
	}
	if st.Silences != 1 || st.SilencedNs != int64(d) {
		t.Fatalf("stats: %d silences, %d ns", st.Silences, st.SilencedNs)
	}
	// Exactly one quiet stretch, of the silence's length (plus at most a
	// message interval), and it falls after message 499.
	var gaps []int64
	var before int
	for i := 1; i < len(clk.writes); i++ {
		if g := clk.writes[i] - clk.writes[i-1]; g > int64(50*time.Millisecond) {
			gaps = append(gaps, g)
			before = i
		}
	}
	if len(gaps) != 1 || gaps[0] < int64(d) || gaps[0] > int64(d+2*time.Millisecond) {
		t.Fatalf("quiet stretches %v ns, want one of %v", gaps, d)
	}
	if before < 490 || before > 500 {
		t.Fatalf("the silence came after write %d, want about 499", before)
	}
	// The whole run took the paced time plus the silence.
	if want := int64(total-1)*int64(time.Millisecond) + int64(d); clk.now < want-int64(5*time.Millisecond) || clk.now > want+int64(5*time.Millisecond) {
		t.Fatalf("run took %d ns of simulated time, want about %d", clk.now, want)
	}
}

func TestSilenceIdleHeartbeatsStop(t *testing.T) {
	// At 0.5 messages/s heartbeats fill each idle 100 ms, except during the
	// silence.
	r := listen(t)
	conn, err := Dial(DialConfig{Addr: r.addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, want := feed(t, itchgen.MinMessages(4)+4)
	clk := &fakeClock{}
	session := moldudp64.MakeSession("IDLE")
	s, err := New(conn, Config{Session: session, MessagesPerSec: 0.5, Burst: 1, Heartbeat: 100 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = s.Run(context.Background(), func(dst []byte) ([]byte, bool) {
		if n++; n == 10 {
			s.Silence(time.Second)
		}
		return next(dst)
	})
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, session, r.wait(t))
	if len(d.msgs) != len(want) {
		t.Fatalf("received %d of %d", len(d.msgs), len(want))
	}
	// (n−1) idle gaps of 2 s hold 19 heartbeats each; the silence adds 1 s
	// with none.
	if wantHB := 19 * (len(want) - 1); d.heartbeats != wantHB {
		t.Fatalf("%d heartbeats, want %d", d.heartbeats, wantHB)
	}
	if wantNs := int64(len(want)-1)*2e9 + 1e9; clk.now != wantNs {
		t.Fatalf("run took %d ns, want %d", clk.now, wantNs)
	}
}

func TestSilenceCancelled(t *testing.T) {
	conn, err := Dial(DialConfig{Addr: "127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next, _ := feed(t, itchgen.MinMessages(4)+10)
	ctx, cancel := context.WithCancel(context.Background())
	clk := &cancelClock{cancel: cancel}
	s, err := New(conn, Config{Session: moldudp64.MakeSession("CANCEL"), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	s.Silence(time.Hour)
	s.Silence(SilenceMax) // clamped
	if err := s.Run(ctx, next); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if st := s.Stats(); st.Packets != 0 || st.Silences != 0 {
		t.Fatalf("sent %d packets, %d silences during a cancelled silence", st.Packets, st.Silences)
	}
	if s.silenceNs != int64(SilenceMax)-clk.now {
		t.Fatalf("remaining silence %d, want %d", s.silenceNs, int64(SilenceMax)-clk.now)
	}
}

// cancelClock advances a second per wait and cancels on the third.
type cancelClock struct {
	now    int64
	waits  int
	cancel func()
}

func (c *cancelClock) Now() int64 { return c.now }
func (c *cancelClock) WaitUntil(ns int64, _ bool) {
	c.now += int64(time.Second)
	if c.waits++; c.waits == 3 {
		c.cancel()
	}
}
