package verdict

import (
	"bufio"
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// hotSession returns a logged-in admin session with no connection, for
// driving the request path directly.
func hotSession(t testing.TB, svc Service) *session {
	t.Helper()
	srv, err := NewServer(Config{Tokens: testTokens, NoticeInterval: -1}, svc)
	if err != nil {
		t.Fatal(err)
	}
	ss := newSession(srv, nil, 1)
	ss.role = role{kind: roleFirm, firm: "A"}
	ss.logged.Store(true)
	return ss
}

// serveOne runs the steady-state per-request path: read and validate a
// frame, decode, authorise, Service.Check, encode into the write queue.
func serveOne(t testing.TB, ss *session, br *bufio.Reader) {
	f, err := sbe.ReadFrame(br, ss.rbuf, ss.srv.cfg.FrameBytesMax)
	if err != nil {
		t.Fatal(err)
	}
	if !ss.handle(f) {
		t.Fatal("handle ended the session")
	}
	ss.mu.Lock()
	ss.out, ss.outFrames = ss.out[:0], 0
	ss.mu.Unlock()
	select {
	case <-ss.wake:
	default:
	}
}

func TestRequestPathAllocs(t *testing.T) {
	ss := hotSession(t, newFake())
	frame := (&sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 10, Price: 5}).AppendFrame(nil)
	rd := bytes.NewReader(frame)
	br := bufio.NewReaderSize(rd, ss.srv.cfg.FrameBytesMax)
	allocs := testing.AllocsPerRun(1000, func() {
		rd.Reset(frame)
		br.Reset(rd)
		serveOne(t, ss, br)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per OrderCheck, want 0", allocs)
	}
	// The query path and a refused (other firm's) check allocate nothing
	// either.
	for _, m := range []sbe.Message{&sbe.AccountQuery{ReqID: 2, Account: 1}, &sbe.OrderCheck{ReqID: 3, Account: 3, Side: sbe.SideBuy, Qty: 1}} {
		fr := m.AppendFrame(nil)
		allocs := testing.AllocsPerRun(1000, func() {
			rd.Reset(fr)
			br.Reset(rd)
			serveOne(t, ss, br)
		})
		if allocs != 0 {
			t.Errorf("template %d: %.1f allocations, want 0", m.SBETemplateID(), allocs)
		}
	}
}

// BenchmarkRequestPath is the server's per-request CPU cost without the
// network: decode → Service.Check → encode.
func BenchmarkRequestPath(b *testing.B) {
	ss := hotSession(b, newFake())
	frame := (&sbe.OrderCheck{ReqID: 1, Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 10, Price: 5}).AppendFrame(nil)
	rd := bytes.NewReader(frame)
	br := bufio.NewReaderSize(rd, ss.srv.cfg.FrameBytesMax)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(frame)
		br.Reset(rd)
		serveOne(b, ss, br)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkPipelinedChecks is closed-loop throughput over loopback TCP: one
// client keeps `window` checks in flight (Send/Flush/Recv) against the fake
// Service.
func BenchmarkPipelinedChecks(b *testing.B) {
	_, addr := startServer(b, Config{NoticeInterval: -1}, newFake())
	benchPipelined(b, dial(b, addr, "adm"))
}

// BenchmarkShmPipelinedChecks is BenchmarkPipelinedChecks over the
// shared-memory transport.
func BenchmarkShmPipelinedChecks(b *testing.B) {
	_, dir := startShm(b, Config{NoticeInterval: -1}, newFake(), ShmConfig{Slots: 1})
	benchPipelined(b, dialShm(b, dir, "adm"))
}

// benchPipelined keeps a window of checks in flight on c.
func benchPipelined(b *testing.B, c *client.Conn) {
	const window = 256
	ctx := context.Background()
	oc := sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 5, Price: 10}
	b.ReportAllocs()
	b.ResetTimer()
	sent, recvd := 0, 0
	for recvd < b.N {
		for sent < b.N && sent-recvd < window {
			sent++
			oc.ReqID = uint64(sent)
			if err := c.Send(&oc); err != nil {
				b.Fatal(err)
			}
		}
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
		// Drain half a window before refilling, so writes stay batched.
		for target := min(recvd+window/2, sent); recvd < target; {
			r, err := c.Recv(ctx)
			if err != nil {
				b.Fatal(err)
			}
			recvd++
			if r.ReqID != uint64(recvd) {
				b.Fatalf("reqId %d, want %d", r.ReqID, recvd)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkCheckLatency is the round trip of one Check at a time over
// loopback TCP (no pipelining), with p50/p99 from an HDR histogram.
func BenchmarkCheckLatency(b *testing.B) {
	_, addr := startServer(b, Config{NoticeInterval: -1}, newFake())
	c := dial(b, addr, "adm")
	ctx := context.Background()
	rec := latency.NewRecorder()
	oc := sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 5, Price: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Check(ctx, oc); err != nil {
			b.Fatal(err)
		}
		rec.Record(time.Since(t0).Nanoseconds())
	}
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
	b.ReportMetric(float64(rec.Max()), "max-ns")
}
