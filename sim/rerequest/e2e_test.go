package rerequest

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// scenario describes one end-to-end run over loopback UDP: a sender that
// stores every message and transmits packets (dropping or duplicating some),
// a re-request server on the store, and a receiver whose Sequencer requests
// what it misses through the socket it receives on.
type scenario struct {
	messages    uint64
	store       StoreConfig
	payloadMax  int
	drop        func(h moldudp64.Header) bool // packets never sent
	dup         func(h moldudp64.Header) bool // packets sent twice
	pause       func(h moldudp64.Header) bool // sender pauses 50ms after it
	heartbeats  bool                          // heartbeat after the last packet
	endSession  bool                          // end of session after the last packet
	server      netip.AddrPort                // overrides the re-request server
	seq         moldudp64.Config              // Sequencer knobs
	waitLost    bool                          // finish once all is delivered or lost
	maxDuration time.Duration
}

type result struct {
	delivered []uint64
	lost      []moldudp64.Gap
	seq       *moldudp64.Sequencer
	srv       *Server
}

func (sc scenario) run(t *testing.T) result {
	t.Helper()
	sc.store.Session = testSession
	store, err := NewStore(sc.store)
	if err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(t, Config{Store: store, PayloadBytesMax: sc.payloadMax})
	stop := serve(t, srv)
	defer stop()

	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	_ = rx.SetReadBuffer(4 << 20)
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	rxAddr := rx.LocalAddr().(*net.UDPAddr).AddrPort()

	server := srv.Addr()
	if sc.server.IsValid() {
		server = sc.server
	}
	var res result
	res.srv = srv
	next := uint64(1)
	cfg := sc.seq
	cfg.StartSeq = 1
	cfg.Requester = moldudp64.NewUDPRequester(rx, server)
	cfg.Handler = moldudp64.HandlerFunc(func(seq uint64, msg []byte) {
		if seq != next {
			t.Fatalf("delivered %d, want %d", seq, next)
		}
		if !bytes.Equal(msg, msgFor(seq)) {
			t.Fatalf("message %d corrupted", seq)
		}
		next++
		res.delivered = append(res.delivered, seq)
	})
	cfg.Events = lostEvents{func(g moldudp64.Gap) {
		if g.First != next {
			t.Fatalf("lost gap %v does not start at %d", g, next)
		}
		next = g.Last + 1
		res.lost = append(res.lost, g)
	}}
	seq, err := moldudp64.NewSequencer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res.seq = seq

	// Sender.
	var sendErr atomic.Value
	var wg sync.WaitGroup
	wg.Add(1)
	senderDone := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(senderDone)
		sent := 0
		send := func(pkt []byte) {
			if _, err := tx.WriteToUDPAddrPort(pkt, rxAddr); err != nil {
				sendErr.Store(err)
			}
			sent++
			if sent%16 == 0 {
				time.Sleep(200 * time.Microsecond) // pace: stay within socket buffers
			}
		}
		pk, err := moldudp64.NewPacketizer(moldudp64.PacketizerConfig{Session: testSession, PayloadBytesMax: sc.payloadMax},
			func(pkt []byte, h moldudp64.Header) error {
				if sc.drop != nil && sc.drop(h) {
					return nil
				}
				send(pkt)
				if sc.dup != nil && sc.dup(h) {
					send(pkt)
				}
				if sc.pause != nil && sc.pause(h) {
					time.Sleep(50 * time.Millisecond)
				}
				return nil
			})
		if err != nil {
			sendErr.Store(err)
			return
		}
		for q := uint64(1); q <= sc.messages; q++ {
			msg := msgFor(q)
			if err := store.Append(q, msg); err != nil {
				sendErr.Store(err)
				return
			}
			if _, err := pk.Append(msg); err != nil {
				sendErr.Store(err)
				return
			}
		}
		_ = pk.Flush()
		for i := 0; i < 3; i++ {
			time.Sleep(2 * time.Millisecond)
			if sc.heartbeats {
				send(pk.AppendHeartbeat(nil))
			}
			if sc.endSession {
				send(pk.AppendEndOfSession(nil))
			}
		}
	}()
	defer wg.Wait()

	// Receiver: the caller's loop owns the clock.
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	buf := make([]byte, 65536)
	limit := sc.maxDuration
	if limit == 0 {
		limit = 10 * time.Second
	}
	for {
		if err, _ := sendErr.Load().(error); err != nil {
			t.Fatalf("sender: %v", err)
		}
		done := next == sc.messages+1 && len(seq.AppendOpenGaps(nil)) == 0
		if done {
			select {
			case <-senderDone:
				return res
			default:
			}
		}
		if time.Since(start) > limit {
			t.Fatalf("no convergence after %v: next %d, open %v, stats %+v, server %+v",
				limit, next, seq.AppendOpenGaps(nil), seq.Stats(), srv.Stats())
		}
		_ = rx.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		n, err := rx.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
		} else if err := seq.Feed(buf[:n], now()); err != nil {
			t.Fatalf("Feed: %v", err)
		}
		seq.Poll(now())
	}
}

// firstAfter returns a predicate true for the first packet it sees that
// starts after seq.
func firstAfter(seq uint64) func(moldudp64.Header) bool {
	done := false
	return func(h moldudp64.Header) bool {
		if done || h.Seq <= seq {
			return false
		}
		done = true
		return true
	}
}

type lostEvents struct{ lost func(moldudp64.Gap) }

func (lostEvents) GapOpened(moldudp64.Gap)                {}
func (lostEvents) GapRecovered(moldudp64.Gap)             {}
func (e lostEvents) GapLost(g moldudp64.Gap)              { e.lost(g) }
func (lostEvents) SessionEnded(moldudp64.Session, uint64) {}

func TestEndToEndRecoversDroppedPackets(t *testing.T) {
	res := scenario{
		messages:   3000,
		payloadMax: 300,
		drop:       func(h moldudp64.Header) bool { return h.Seq%5 == 1 || (h.Seq > 1000 && h.Seq < 1300) },
		dup:        func(h moldudp64.Header) bool { return h.Seq%7 == 0 },
		endSession: true,
		seq:        moldudp64.Config{RequestTimeout: 20 * time.Millisecond, RequestMessagesMax: 100},
	}.run(t)
	st := res.seq.Stats()
	if len(res.lost) != 0 || uint64(len(res.delivered)) != 3000 {
		t.Fatalf("lost %v, delivered %d; stats %+v", res.lost, len(res.delivered), st)
	}
	if st.Recovered == 0 || st.GapsRecovered == 0 || st.Requests == 0 {
		t.Fatalf("nothing recovered: %+v", st)
	}
	if st.Duplicates == 0 {
		t.Fatalf("duplicates not seen: %+v", st)
	}
	if ended, next := res.seq.Ended(); !ended || next != 3001 {
		t.Fatalf("ended %v next %d", ended, next)
	}
	if s := res.srv.Stats(); s.Answered == 0 || s.MessagesSent < st.Recovered {
		t.Fatalf("server %+v vs recovered %d", s, st.Recovered)
	}
	if res.seq.Stale() {
		t.Fatal("stale after full recovery")
	}
	t.Logf("sequencer %+v", st)
	t.Logf("server %+v", res.srv.Stats())
}

func TestEndToEndGapBeyondStore(t *testing.T) {
	// The store keeps 100 messages; 50..1500 never arrive. The sender
	// pauses right after the gap, so when the receiver asks, the store
	// still holds the gap's last messages: those are recovered, the rest is
	// declared lost, and delivery goes on in order.
	res := scenario{
		messages:   2500,
		payloadMax: 300,
		store:      StoreConfig{MessagesMax: 100},
		drop:       func(h moldudp64.Header) bool { return h.Next() > 50 && h.Seq <= 1500 },
		pause:      firstAfter(1500),
		endSession: true,
		seq: moldudp64.Config{RequestTimeout: 10 * time.Millisecond, RequestRetries: 2,
			RequestMessagesMax: moldudp64.MessageCountMax},
	}.run(t)
	var lostMsgs uint64
	for _, g := range res.lost {
		lostMsgs += g.Messages()
	}
	if len(res.lost) == 0 || uint64(len(res.delivered))+lostMsgs != 2500 {
		t.Fatalf("delivered %d + lost %d (%v)", len(res.delivered), lostMsgs, res.lost)
	}
	if !slices.Equal(res.seq.Gaps(), res.lost) || !res.seq.Stale() {
		t.Fatalf("Gaps %v vs events %v, stale %v", res.seq.Gaps(), res.lost, res.seq.Stale())
	}
	if len(res.lost) != 1 || res.lost[0].First > 50 || res.lost[0].Last >= 1500 {
		t.Fatalf("lost %v, want one gap from before 50 to the store's low mark", res.lost)
	}
	if st := res.seq.Stats(); st.Recovered == 0 {
		t.Fatalf("the held part of the gap was not recovered: %+v", st)
	}
	if s := res.srv.Stats(); s.Partial == 0 {
		t.Fatalf("server never ran out of range: %+v", s)
	}
	t.Logf("lost %v; sequencer %+v; server %+v", res.lost, res.seq.Stats(), res.srv.Stats())
}

func TestEndToEndHeartbeatRevealsGap(t *testing.T) {
	// The last packets are dropped; only heartbeats tell the receiver.
	res := scenario{
		messages:   500,
		payloadMax: 200,
		drop:       func(h moldudp64.Header) bool { return h.Next() > 480 },
		heartbeats: true,
		seq:        moldudp64.Config{RequestTimeout: 20 * time.Millisecond},
	}.run(t)
	st := res.seq.Stats()
	if len(res.lost) != 0 || len(res.delivered) != 500 || st.Heartbeats == 0 || st.Recovered == 0 {
		t.Fatalf("lost %v delivered %d stats %+v", res.lost, len(res.delivered), st)
	}
}

func TestEndToEndEndOfSessionRevealsGap(t *testing.T) {
	res := scenario{
		messages:   500,
		payloadMax: 200,
		drop:       func(h moldudp64.Header) bool { return h.Next() > 490 },
		endSession: true,
		seq:        moldudp64.Config{RequestTimeout: 20 * time.Millisecond},
	}.run(t)
	st := res.seq.Stats()
	if len(res.lost) != 0 || len(res.delivered) != 500 || st.EndOfSession == 0 || st.Recovered == 0 {
		t.Fatalf("lost %v delivered %d stats %+v", res.lost, len(res.delivered), st)
	}
	if ended, next := res.seq.Ended(); !ended || next != 501 {
		t.Fatalf("ended %v next %d", ended, next)
	}
}

func TestEndToEndSilentServer(t *testing.T) {
	// A "server" that reads requests and never answers: the receiver sends
	// the request, retries RequestRetries times at each time-out, then
	// declares the gap lost and delivers what follows.
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var reqs []moldudp64.Request
	var mu sync.Mutex
	go func() {
		buf := make([]byte, 2048)
		for {
			n, err := silent.Read(buf)
			if err != nil {
				return
			}
			r, err := moldudp64.ParseRequest(buf[:n])
			if err != nil {
				t.Errorf("bad request from the Sequencer: %v", err)
				return
			}
			mu.Lock()
			reqs = append(reqs, r)
			mu.Unlock()
		}
	}()
	const retries = 3
	res := scenario{
		messages:   300,
		payloadMax: 200,
		drop:       func(h moldudp64.Header) bool { return h.Seq <= 100 && h.Next() > 100 },
		endSession: true,
		server:     silent.LocalAddr().(*net.UDPAddr).AddrPort(),
		seq:        moldudp64.Config{RequestTimeout: 15 * time.Millisecond, RequestRetries: retries},
	}.run(t)
	if len(res.lost) != 1 || res.lost[0].First > 100 || res.lost[0].Last < 100 {
		t.Fatalf("lost %v", res.lost)
	}
	st := res.seq.Stats()
	if st.Requests != 1+retries || st.Timeouts != 1+retries {
		t.Fatalf("stats %+v", st)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(reqs)
		mu.Unlock()
		if n == 1+retries {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("silent server saw %d requests, want %d", n, 1+retries)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reqs {
		if r.Session != testSession || r.Seq != res.lost[0].First || uint64(r.Count) != res.lost[0].Messages() {
			t.Fatalf("request %+v for lost gap %v", r, res.lost[0])
		}
	}
}
