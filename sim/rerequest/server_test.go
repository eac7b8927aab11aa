package rerequest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/feedhandler/moldudp64"
)

// filledStore returns a store of the test session holding first..last.
func filledStore(t testing.TB, cfg StoreConfig, first, last uint64) *Store {
	t.Helper()
	cfg.Session = testSession
	s, err := NewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for q := first; q <= last; q++ {
		if err := s.Append(q, msgFor(q)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// newTestServer returns a server on an ephemeral loopback port, not serving.
func newTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	srv, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// answerOf runs the request decoder and packer without the network and
// returns the answer packets.
func answerOf(s *Server, req []byte) [][]byte {
	s.answer(req)
	var pkts [][]byte
	start := 0
	for _, end := range s.ends {
		pkts = append(pkts, s.out[start:end])
		start = end
	}
	return pkts
}

func request(seq uint64, count uint16) []byte {
	return moldudp64.AppendRequest(nil, moldudp64.Request{Session: testSession, Seq: seq, Count: count})
}

// checkAnswer validates answer packets: well formed, within the payload
// bound, consecutive from first, correct bytes. It returns the messages.
func checkAnswer(t *testing.T, pkts [][]byte, first uint64, payloadMax int) int {
	t.Helper()
	next := first
	n := 0
	for _, pkt := range pkts {
		if len(pkt) > payloadMax {
			t.Fatalf("answer packet of %d bytes > %d", len(pkt), payloadMax)
		}
		var it moldudp64.Iterator
		h, err := it.Reset(pkt)
		if err != nil || h.Session != testSession || h.Seq != next || h.Count == 0 {
			t.Fatalf("answer packet %+v: %v (want seq %d)", h, err, next)
		}
		for q, msg, ok := it.Next(); ok; q, msg, ok = it.Next() {
			if !bytes.Equal(msg, msgFor(q)) {
				t.Fatalf("message %d corrupted", q)
			}
			n++
		}
		next = h.Next()
	}
	return n
}

func TestServerConfig(t *testing.T) {
	st := filledStore(t, StoreConfig{}, 1, 1)
	for _, c := range []Config{
		{},
		{Store: st, MessagesPerRequestMax: moldudp64.MessageCountMax + 1},
		{Store: st, PacketsPerRequestMax: PacketsPerRequestLimit + 1},
		{Store: st, PayloadBytesMax: 10},
	} {
		if _, err := Listen("127.0.0.1:0", c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := Listen("not an address", Config{Store: st}); err == nil {
		t.Error("bad address accepted")
	}
}

func TestServerAnswer(t *testing.T) {
	st := filledStore(t, StoreConfig{MessagesMax: 500}, 1, 1000) // holds 501..1000
	srv := newTestServer(t, Config{Store: st, PayloadBytesMax: 300, MessagesPerRequestMax: 100, PacketsPerRequestMax: 8})

	pkts := answerOf(srv, request(600, 10))
	if n := checkAnswer(t, pkts, 600, 300); n != 10 {
		t.Fatalf("answered %d messages", n)
	}
	// Partly evicted: answered from the oldest held.
	if n := checkAnswer(t, answerOf(srv, request(495, 10)), 501, 300); n != 4 {
		t.Fatalf("partly evicted: %d messages", n)
	}
	// Partly in the future.
	if n := checkAnswer(t, answerOf(srv, request(995, 10)), 995, 300); n != 6 {
		t.Fatalf("partly future: %d messages", n)
	}
	// Capped by MessagesPerRequestMax or by PacketsPerRequestMax.
	n := checkAnswer(t, answerOf(srv, request(501, 400)), 501, 300)
	if len(srv.ends) > 8 || n > 100 || n == 0 {
		t.Fatalf("capped answer: %d messages in %d packets", n, len(srv.ends))
	}
	// Nothing.
	for _, req := range [][]byte{request(1, 100), request(1001, 5), request(2000, 1)} {
		if pkts := answerOf(srv, req); len(pkts) != 0 {
			t.Fatalf("out of range answered %d packets", len(pkts))
		}
	}
	other := moldudp64.AppendRequest(nil, moldudp64.Request{Session: moldudp64.MakeSession("X"), Seq: 600, Count: 1})
	garbage := [][]byte{nil, {1}, make([]byte, 19), make([]byte, 21), request(0, 1), request(5, 0), make([]byte, 65507)}
	for _, g := range append(garbage, other) {
		if pkts := answerOf(srv, g); len(pkts) != 0 {
			t.Fatalf("garbage %x answered", g)
		}
	}
	s := srv.Stats()
	if s.Requests != 15 || s.Answered != 4 || s.Partial != 3 || s.OutOfRange != 3 ||
		s.BadRequests != len64(garbage) || s.UnknownSession != 1 {
		t.Fatalf("stats %+v", s)
	}
	// Answering does not allocate.
	req := request(700, 50)
	if a := testing.AllocsPerRun(100, func() { srv.answer(req) }); a != 0 {
		t.Fatalf("answer allocates %v", a)
	}
}

func len64[T any](s []T) uint64 { return uint64(len(s)) }

func TestServerMessageTooLargeForPayload(t *testing.T) {
	st, _ := NewStore(StoreConfig{Session: testSession})
	_ = st.Append(1, make([]byte, 10))
	_ = st.Append(2, make([]byte, 500))
	_ = st.Append(3, make([]byte, 10))
	srv := newTestServer(t, Config{Store: st, PayloadBytesMax: 200})
	pkts := answerOf(srv, request(1, 3))
	if len(pkts) != 1 {
		t.Fatalf("%d packets", len(pkts))
	}
	if h, _ := moldudp64.Validate(pkts[0]); h.Seq != 1 || h.Count != 1 {
		t.Fatalf("answer %+v", h)
	}
	if pkts := answerOf(srv, request(2, 1)); len(pkts) != 0 {
		t.Fatal("oversized message answered")
	}
}

// serve runs srv in the background and returns a stop function that waits
// for Serve to return.
func serve(t *testing.T, srv *Server) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func TestServerOverUDP(t *testing.T) {
	st := filledStore(t, StoreConfig{}, 1, 300)
	srv := newTestServer(t, Config{Store: st})
	stop := serve(t, srv)
	defer stop()

	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Garbage first: the server must survive it and keep answering.
	for _, g := range [][]byte{{0}, make([]byte, 2000), request(0, 3)} {
		if _, err := client.WriteToUDPAddrPort(g, srv.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.WriteToUDPAddrPort(request(10, 200), srv.Addr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	next := uint64(10)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	for next < 210 {
		n, err := client.Read(buf)
		if err != nil {
			t.Fatalf("after %d: %v", next, err)
		}
		got := checkAnswer(t, [][]byte{buf[:n]}, next, moldudp64.PayloadBytesDefault)
		next += uint64(got)
	}
	// The server counts a packet after its send returns, so the last
	// packets' counts may trail what the client has already read: poll
	// (bounded) for the final figures.
	s := srv.Stats()
	for i := 0; i < 500 && (s.MessagesSent != 200 || s.Answered != 1); i++ {
		time.Sleep(2 * time.Millisecond)
		s = srv.Stats()
	}
	if s.BadRequests != 3 || s.Answered != 1 || s.MessagesSent != 200 || s.PacketsSent == 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := srv.Serve(context.Background()); !errors.Is(err, ErrServing) {
		t.Fatalf("second Serve: %v", err)
	}
}

func TestServerStops(t *testing.T) {
	st := filledStore(t, StoreConfig{}, 1, 1)
	// By context.
	srv := newTestServer(t, Config{Store: st})
	stop := serve(t, srv)
	stop()
	// By Close, twice.
	srv2 := newTestServer(t, Config{Store: st})
	done := make(chan error, 1)
	go func() { done <- srv2.Serve(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	if err := srv2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv2.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

func FuzzServerAnswer(f *testing.F) {
	f.Add(request(5, 10))
	f.Add(request(1, 65534))
	f.Add(request(90, 20))
	f.Add([]byte("garbage"))
	st := filledStore(f, StoreConfig{MessagesMax: 64}, 1, 100) // holds 37..100
	srv := newTestServer(f, Config{Store: st, PayloadBytesMax: 256, MessagesPerRequestMax: 40, PacketsPerRequestMax: 4})
	f.Fuzz(func(t *testing.T, req []byte) {
		pkts := answerOf(srv, req)
		if len(pkts) == 0 {
			return
		}
		r, err := moldudp64.ParseRequest(req)
		if err != nil || r.Session != testSession {
			t.Fatalf("answered an invalid request: %v", err)
		}
		h, _ := moldudp64.ParseHeader(pkts[0])
		n := checkAnswer(t, pkts, h.Seq, 256)
		if h.Seq < max(r.Seq, 37) || h.Seq+uint64(n) > r.Seq+uint64(r.Count) || n > 40 || len(pkts) > 4 || h.Seq+uint64(n) > 101 {
			t.Fatalf("request %+v answered %d from %d", r, n, h.Seq)
		}
	})
}

func BenchmarkServerAnswer(b *testing.B) {
	st, _ := NewStore(StoreConfig{Session: testSession})
	msg := make([]byte, 36)
	for q := uint64(1); q <= 10000; q++ {
		_ = st.Append(q, msg)
	}
	srv := newTestServer(b, Config{Store: st})
	const count = 100
	req := request(5000, count)
	b.ReportAllocs()
	for b.Loop() {
		srv.answer(req)
	}
	if srv.msgs != count {
		b.Fatalf("answered %d", srv.msgs)
	}
	b.ReportMetric(float64(b.N)*count/b.Elapsed().Seconds(), "msgs/s")
}
