package feedhandler_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/book"
	"github.com/ballast-risk/ballast/feedhandler/itch"
	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
	"github.com/ballast-risk/ballast/feedhandler/ring"
	"github.com/ballast-risk/ballast/feedhandler/source"
	"github.com/ballast-risk/ballast/sim/itchgen"
	"github.com/ballast-risk/ballast/sim/rerequest"
	"github.com/ballast-risk/ballast/sim/udpsend"
)

// TestLiveRetransmission runs the whole live path over loopback UDP: the
// simulator sends with 2% of packets deliberately dropped, the feed handler
// requests every gap from the re-request server through the source's own
// socket, and ends with every message applied in order, no gap lost, books
// equal to the simulator's, and ticks on the ring.
func TestLiveRetransmission(t *testing.T) {
	const messages = 40_000
	session := moldudp64.MakeSession("LIVE01")
	g, err := itchgen.New(itchgen.Config{SymbolCount: 8, Messages: messages, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	store, err := rerequest.NewStore(rerequest.StoreConfig{Session: session})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := rerequest.Listen("127.0.0.1:0", rerequest.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = srv.Serve(ctx) }()
	defer func() { srv.Close(); wg.Wait() }()

	src, err := source.ListenUDP(source.UDPConfig{Addr: []byte{127, 0, 0, 1}, ReadTimeout: 5 * time.Millisecond, RecvBufferBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ticks, err := ring.New[ring.Tick](1<<12, ring.DefaultWait)
	if err != nil {
		t.Fatal(err)
	}
	h, err := feedhandler.New(feedhandler.Config{
		Books: book.Config{OrdersMax: 1 << 16, BooksMax: 64, LevelsMax: 256},
		Sequencer: moldudp64.Config{
			Requester: moldudp64.NewUDPRequester(src.Conn(), srv.Addr()),
			StartSeq:  1,
			// Generous: -race on two shared cores slows every party.
			RequestTimeout: 100 * time.Millisecond,
			RequestRetries: 20,
		},
		Ticks: ticks,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Consumer: count ticks (the ring must never block the feed).
	var consumed int
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		buf := make([]ring.Tick, 256)
		for {
			n, err := ticks.PollWait(buf)
			consumed += n
			if errors.Is(err, ring.ErrClosed) {
				return
			}
		}
	}()

	conn, err := udpsend.Dial(udpsend.DialConfig{Addr: src.LocalAddr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	snd, err := udpsend.New(conn, udpsend.Config{
		Session: session, PacketsPerSec: 4_000, Store: store, DropRate: 0.02, Seed: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		var m itch.Message
		sendErr <- snd.Run(ctx, func(dst []byte) ([]byte, bool) {
			if !g.Next(&m) {
				return dst, false
			}
			return m.Append(dst), true
		})
	}()

	// Receive until every message is applied and the session ended; the
	// handler is only touched by this goroutine.
	runErr := make(chan error, 1)
	go func() {
		pkts := make([]source.Packet, feedhandler.BatchMax)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			n, err := src.ReadBatch(pkts)
			if err != nil {
				runErr <- err
				return
			}
			for i := 0; i < n; i++ {
				h.HandlePacket(&pkts[i])
			}
			h.Poll(source.Now())
			if h.Counters().Messages >= messages {
				runErr <- nil
				return
			}
		}
		runErr <- errors.New("timed out before every message was applied")
	}()
	if err := <-sendErr; err != nil {
		t.Fatalf("sender: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Errorf("receive: %v", err)
	}
	ticks.Close()
	<-consumerDone

	st := h.SequencerStats()
	c := h.Counters()
	if c.Messages != messages || st.GapsLost != 0 || h.Stale() {
		t.Fatalf("messages %d/%d, sequencer %+v, stale %v", c.Messages, messages, st, h.Stale())
	}
	if snd.Stats().DroppedPackets == 0 || st.GapsRecovered == 0 || st.Requests == 0 {
		t.Fatalf("no gap was exercised: sender %+v, sequencer %+v", snd.Stats(), st)
	}
	if consumed == 0 || uint64(consumed) != c.Ticks {
		t.Fatalf("ticks consumed %d, published %d", consumed, c.Ticks)
	}
	compareBooks(t, h.Summary(src.Stats()), g)
	t.Logf("dropped %d packets, %d gaps recovered with %d requests; %d ticks", snd.Stats().DroppedPackets, st.GapsRecovered, st.Requests, consumed)
}
