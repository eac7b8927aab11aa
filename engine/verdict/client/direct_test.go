package client_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// poll polls d until it returns a frame or fails, for at most 5 s.
func poll(t *testing.T, d *client.Direct, r *client.Response) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		ok, err := d.Poll(r)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if i%1024 == 0 && time.Now().After(deadline) {
			t.Fatal("no response")
		}
	}
}

func dialDirect(t testing.TB, dir string) *client.Direct {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := client.DialShmDirect(ctx, dir, "t")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDirectErrors(t *testing.T) {
	dir := startShm(t, &svc{}, 1)
	ctx := context.Background()
	if _, err := client.DialShmDirect(ctx, dir, ""); !errors.Is(err, client.ErrToken) {
		t.Errorf("empty token: %v", err)
	}
	if _, err := client.DialShmDirect(ctx, t.TempDir(), "t"); !errors.Is(err, client.ErrNoShmSlot) {
		t.Errorf("no slots: %v", err)
	}
	if _, err := client.DialShmDirect(ctx, dir, "x"); !errors.Is(err, client.ErrLoginDenied) {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.DialShmDirect(cctx, dir, "t"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
}

// directTransports are the ways to get a Direct session to an in-process
// server over svc: shared memory, TCP, and TCP to a busy-polling server.
var directTransports = []string{"shm", "tcp", "tcp-busypoll"}

// startDirect starts a server over s reachable by transport and dials a
// Direct session to it; redial dials another.
func startDirect(t testing.TB, s *svc, transport string) (d *client.Direct, redial func() (*client.Direct, error)) {
	t.Helper()
	switch transport {
	case "shm":
		dir := startShm(t, s, 1)
		return dialDirect(t, dir), func() (*client.Direct, error) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return client.DialShmDirect(ctx, dir, "t")
		}
	case "tcp", "tcp-busypoll":
		cfg := verdict.Config{Tokens: map[string]string{"t": "admin"}, NoticeInterval: time.Millisecond}
		if transport == "tcp-busypoll" {
			cfg.BusyPoll = time.Millisecond
		}
		_, addr := startCfg(t, s, cfg)
		redial = func() (*client.Direct, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return client.DialDirect(ctx, addr, "t")
		}
		d, err := redial()
		if err != nil {
			t.Fatal(err)
		}
		return d, redial
	}
	t.Fatalf("no transport %q", transport)
	return nil, nil
}

func TestDialDirectErrors(t *testing.T) {
	_, addr := start(t, &svc{})
	ctx := context.Background()
	if _, err := client.DialDirect(ctx, addr, ""); !errors.Is(err, client.ErrToken) {
		t.Errorf("empty token: %v", err)
	}
	if _, err := client.DialDirect(ctx, addr, "x"); !errors.Is(err, client.ErrLoginDenied) {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.DialDirect(cctx, addr, "t"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	if _, err := client.DialDirect(ctx, dead, "t"); err == nil {
		t.Error("dialling a closed port succeeded")
	}
}

func TestDirectRoundTrip(t *testing.T) {
	for _, tr := range directTransports {
		t.Run(tr, func(t *testing.T) { testDirectRoundTrip(t, tr) })
	}
}

func testDirectRoundTrip(t *testing.T, transport string) {
	s := &svc{}
	d, redial := startDirect(t, s, transport)
	if d.SessionID() == 0 {
		t.Error("session id 0")
	}
	var r client.Response
	if ok, err := d.Poll(&r); ok || err != nil {
		t.Fatalf("idle poll: %v %v", ok, err)
	}
	// Pipelined: three requests out, three answers back in order.
	if err := d.Send(&sbe.OrderCheck{ReqID: 1, Account: 1, Side: sbe.SideBuy, Qty: 42}); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(&sbe.AccountQuery{ReqID: 2, Account: 9}); err != nil {
		t.Fatal(err)
	}
	if err := d.Send(&sbe.Fill{ReqID: 3, Account: 1, Side: sbe.SideBuy, Qty: 1, Price: 1, ExecID: 1}); err != nil {
		t.Fatal(err)
	}
	poll(t, d, &r)
	if r.TemplateID != sbe.VerdictTemplateID || r.ReqID != 1 || r.Verdict.Epoch != 42 || r.Verdict.Account != 1 {
		t.Fatalf("check answer %+v", r)
	}
	poll(t, d, &r)
	if r.TemplateID != sbe.AccountStatusTemplateID || r.ReqID != 2 || r.Status.Equity != 9 {
		t.Fatalf("query answer %+v", r)
	}
	poll(t, d, &r)
	if r.TemplateID != sbe.AckTemplateID || r.ReqID != 3 || r.Err() != nil {
		t.Fatalf("fill answer %+v %v", r, r.Err())
	}
	// A malformed request is answered with an Error frame, a response like
	// any other.
	if err := d.Send(&sbe.OrderCheck{ReqID: 4, Account: 1, Side: 9, Qty: 1}); err != nil {
		t.Fatal(err)
	}
	poll(t, d, &r)
	if r.ReqID != 4 || (r.TemplateID != sbe.ErrorTemplateID && r.TemplateID != sbe.VerdictTemplateID) {
		t.Fatalf("bad-side answer %+v", r)
	}
	// Notices come through Poll.
	s.mu.Lock()
	s.notices = append(s.notices, sbe.MarginNotice{Account: 5, State: sbe.StateLiquidate})
	s.mu.Unlock()
	poll(t, d, &r)
	if r.TemplateID != sbe.MarginNoticeTemplateID || r.ReqID != 0 || r.Notice.Account != 5 || r.Notice.State != sbe.StateLiquidate {
		t.Fatalf("notice %+v", r)
	}
	if transport == "shm" {
		// The only slot is taken.
		if _, err := redial(); !errors.Is(err, client.ErrNoShmSlot) {
			t.Fatalf("second client: %v", err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := d.Send(&sbe.OrderCheck{ReqID: 5}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
	if _, err := d.Poll(&r); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("poll after Close: %v", err)
	}
	// Over shared memory, Close freed the slot: the server re-creates it
	// for the next client.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d2, err := redial()
		if err == nil {
			if err := d2.Send(&sbe.OrderCheck{ReqID: 6, Account: 2, Side: sbe.SideSell, Qty: 7}); err != nil {
				t.Fatal(err)
			}
			poll(t, d2, &r)
			if r.ReqID != 6 || r.Verdict.Epoch != 7 {
				t.Fatalf("after re-dial %+v", r)
			}
			d2.Close()
			break
		}
		if !errors.Is(err, client.ErrNoShmSlot) || time.Now().After(deadline) {
			t.Fatalf("re-dial after Close: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDirectAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	for _, tr := range directTransports {
		t.Run(tr, func(t *testing.T) { testDirectAllocs(t, tr) })
	}
}

func testDirectAllocs(t *testing.T, transport string) {
	d, _ := startDirect(t, &svc{}, transport)
	defer d.Close()
	oc := &sbe.OrderCheck{Account: 1, Side: sbe.SideBuy, Qty: 3}
	var r client.Response
	allocs := testing.AllocsPerRun(1000, func() {
		oc.ReqID++
		if err := d.Send(oc); err != nil {
			t.Fatal(err)
		}
		for {
			ok, err := d.Poll(&r)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			runtime.Gosched() // AllocsPerRun runs on one P: let the server's goroutine in
		}
		if r.ReqID != oc.ReqID {
			t.Fatalf("answer %d to %d", r.ReqID, oc.ReqID)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per Send+Poll of a check", allocs)
	}
}

// BenchmarkDirectCheck is an OrderCheck round trip over a Direct session to
// an in-process server: Send, then Poll until the Verdict is there, on one
// goroutine. It reports HDR percentiles of the round trip. The paced
// variants leave an idle gap (spun on the clock) before each check, as an
// open-loop client at 1/gap checks/s does, so the server's read has gone
// through part of its wait when the check arrives.
func BenchmarkDirectCheck(b *testing.B) {
	for _, tr := range directTransports {
		for _, gap := range []time.Duration{0, 20 * time.Microsecond, 100 * time.Microsecond, time.Millisecond} {
			b.Run(tr+"/gap="+gap.String(), func(b *testing.B) { benchDirectCheck(b, tr, gap) })
		}
	}
}

func benchDirectCheck(b *testing.B, transport string, gap time.Duration) {
	d, _ := startDirect(b, &svc{}, transport)
	defer d.Close()
	oc := &sbe.OrderCheck{Account: 1, Side: sbe.SideBuy, Qty: 3}
	var r client.Response
	roundTrip := func() {
		oc.ReqID++
		if err := d.Send(oc); err != nil {
			b.Fatal(err)
		}
		for {
			ok, err := d.Poll(&r)
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				return
			}
		}
	}
	for range 1000 {
		roundTrip()
	}
	rec := latency.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for t := time.Now(); time.Since(t) < gap; {
		}
		t0 := time.Now()
		roundTrip()
		rec.Record(time.Since(t0).Nanoseconds())
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
	b.ReportMetric(float64(rec.Percentile(99.9)), "p99.9-ns")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// TestDirectTCPBackpressure fills the socket while the server has stopped
// reading (its response queue is full and nobody polls): Send refuses
// with ErrRingFull once the send buffer is full, nothing is lost, and every
// request sent (the last one possibly written in part and finished by
// Poll) is answered in order once the client polls.
func TestDirectTCPBackpressure(t *testing.T) {
	cfg := verdict.Config{Tokens: map[string]string{"t": "admin"}, NoticeInterval: -1, PendingMax: 4}
	_, addr := startCfg(t, &svc{}, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := client.DialDirect(ctx, addr, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const sentMax = 1 << 22
	var sent uint64
	for {
		err := d.Send(&sbe.OrderCheck{ReqID: sent + 1, Account: 1, Side: sbe.SideBuy, Qty: int64(sent%1000 + 1)})
		if errors.Is(err, client.ErrRingFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent++
		if sent == sentMax {
			t.Fatalf("%d requests sent and the socket never filled", sent)
		}
	}
	t.Logf("%d requests sent before the socket filled", sent)
	var r client.Response
	for want := uint64(1); want <= sent; want++ {
		poll(t, d, &r)
		if r.TemplateID != sbe.VerdictTemplateID || r.ReqID != want || r.Verdict.Epoch != (want-1)%1000+1 {
			t.Fatalf("answer %d: %+v", want, r)
		}
	}
	if ok, err := d.Poll(&r); ok || err != nil {
		t.Fatalf("an extra answer: %v %v %+v", ok, err, r)
	}
	// The session goes on.
	if err := d.Send(&sbe.OrderCheck{ReqID: sent + 1, Account: 1, Side: sbe.SideBuy, Qty: 5}); err != nil {
		t.Fatal(err)
	}
	poll(t, d, &r)
	if r.ReqID != sent+1 || r.Verdict.Epoch != 5 {
		t.Fatalf("after the backlog: %+v", r)
	}
}

// TestDirectTCPServerGone: a server that closes the connection ends Poll
// with an error, and Send after Close reports ErrClosed.
func TestDirectTCPServerGone(t *testing.T) {
	srv, addr := start(t, &svc{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := client.DialDirect(ctx, addr, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var r client.Response
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := d.Poll(&r)
		if err != nil {
			break
		}
		if ok {
			t.Fatalf("a response after shutdown: %+v", r)
		}
		if time.Now().After(deadline) {
			t.Fatal("Poll never saw the server go")
		}
		time.Sleep(100 * time.Microsecond)
	}
	_ = d.Close()
	if err := d.Send(&sbe.OrderCheck{ReqID: 1}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
}
