package verdict

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

func ctx5(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestNewServerConfig(t *testing.T) {
	bad := []Config{
		{Tokens: map[string]string{"x": "root"}},
		{Tokens: map[string]string{"x": "firm:"}},
		{Tokens: map[string]string{"": "admin"}},
		{Tokens: map[string]string{"a\x00b": "admin"}},
		{FrameBytesMax: 20},
		{PendingMax: -1},
		{BusyPoll: time.Second},
		{BusyPoll: -time.Millisecond},
		{BusyPoll: time.Millisecond, BusyPollers: 1 << 10},
	}
	for i, cfg := range bad {
		if _, err := NewServer(cfg, newFake()); !errors.Is(err, ErrConfig) {
			t.Errorf("config %d: err %v, want ErrConfig", i, err)
		}
	}
	if _, err := NewServer(Config{}, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil service: %v", err)
	}
}

func TestLogin(t *testing.T) {
	srv, addr := startServer(t, Config{}, newFake())
	c := dial(t, addr, "adm")
	if c.SessionID() == 0 {
		t.Error("session id 0")
	}
	_, err := client.Dial(ctx5(t), addr, "nope", client.Options{})
	if !errors.Is(err, client.ErrLoginDenied) {
		t.Fatalf("bad token: %v", err)
	}
	// The server closes a denied session.
	r := dialRaw(t, addr)
	if ack := r.login("nope"); ack.Status != sbe.LoginStatusDenied || ack.SessionID != 0 {
		t.Fatalf("denied ack %+v", ack)
	}
	r.expectEOF()
	// A second Login is refused.
	r = dialRaw(t, addr)
	if ack := r.login("tokA"); ack.Status != sbe.LoginStatusOK {
		t.Fatalf("ack %+v", ack)
	}
	var lg sbe.Login
	copy(lg.Token[:], "adm")
	r.send(&lg)
	if e := r.readError(); e.Code != sbe.ErrorCodeUnexpectedTemplate {
		t.Fatalf("second login: code %v", e.Code)
	}
	st := srv.Stats()
	if st.Logins != 2 || st.LoginsDenied != 2 {
		t.Errorf("stats logins %d denied %d", st.Logins, st.LoginsDenied)
	}
}

func TestRequestBeforeLogin(t *testing.T) {
	_, addr := startServer(t, Config{}, newFake())
	r := dialRaw(t, addr)
	reqs := []sbe.Message{
		&sbe.OrderCheck{ReqID: 11, Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1},
		&sbe.AccountQuery{ReqID: 12, Account: 1},
		&sbe.Fill{ReqID: 13, Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 1},
	}
	for i, m := range reqs {
		r.send(m)
		e := r.readError()
		if e.Code != sbe.ErrorCodeNotLoggedIn || e.ReqID != uint64(11+i) {
			t.Errorf("request %d: %+v", i, e)
		}
	}
	if ack := r.login("adm"); ack.Status != sbe.LoginStatusOK {
		t.Fatal("login after refusals failed")
	}
}

func checkFrame(reqID uint64) []byte {
	return (&sbe.OrderCheck{ReqID: reqID, Account: 1, Instrument: 4, Side: sbe.SideBuy, Qty: 5, Price: 10}).AppendFrame(nil)
}

func TestMalformed(t *testing.T) {
	srv, addr := startServer(t, Config{}, newFake())
	bystander := dial(t, addr, "adm")
	type tc struct {
		name   string
		frame  func() []byte
		code   sbe.ErrorCode
		reqID  uint64
		closes bool
	}
	cases := []tc{
		{"encoding type", func() []byte { b := checkFrame(1); b[4], b[5] = 0x12, 0x34; return b }, sbe.ErrorCodeEncodingType, 0, true},
		{"schema id", func() []byte { b := checkFrame(42); binary.LittleEndian.PutUint16(b[10:], 0xBA12); return b }, sbe.ErrorCodeSchemaID, 42, false},
		{"version", func() []byte { b := checkFrame(43); binary.LittleEndian.PutUint16(b[12:], 2); return b }, sbe.ErrorCodeSchemaVersion, 43, false},
		{"unknown template", func() []byte { b := checkFrame(1); binary.LittleEndian.PutUint16(b[8:], 77); return b }, sbe.ErrorCodeUnknownTemplate, 0, false},
		{"block length", func() []byte {
			b := checkFrame(44)
			b = b[:len(b)-1]
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			binary.LittleEndian.PutUint16(b[6:], sbe.OrderCheckBlockLength-1)
			return b
		}, sbe.ErrorCodeBlockLength, 44, false},
		{"trailing bytes", func() []byte {
			b := append(checkFrame(45), 0)
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			return b
		}, sbe.ErrorCodeBlockLength, 45, false},
		{"too long", func() []byte {
			b := make([]byte, 200)
			binary.BigEndian.PutUint32(b[0:], uint32(sbe.MessageFrameBytesMax+1))
			binary.BigEndian.PutUint16(b[4:], sbe.EncodingType)
			return b
		}, sbe.ErrorCodeFrameTooLong, 0, true},
		{"short sofh", func() []byte {
			b := checkFrame(1)[:12]
			binary.BigEndian.PutUint32(b[0:], 12)
			return b
		}, sbe.ErrorCodeShortFrame, 0, true},
		{"short block", func() []byte {
			b := checkFrame(46)[:sbe.OrderCheckFrameBytes-8]
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			return b
		}, sbe.ErrorCodeShortFrame, 46, false},
		{"response as request", func() []byte { return (&sbe.Verdict{ReqID: 9}).AppendFrame(nil) }, sbe.ErrorCodeUnexpectedTemplate, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, addr)
			r.login("adm")
			before := srv.Stats().Errors[c.code]
			r.write(c.frame())
			e := r.readError()
			if e.Code != c.code || e.ReqID != c.reqID {
				t.Fatalf("got code %v reqId %d, want %v %d", e.Code, e.ReqID, c.code, c.reqID)
			}
			if c.closes {
				r.expectEOF()
			} else {
				r.write(checkFrame(99))
				f := r.read()
				var v sbe.Verdict
				if f.Header.TemplateID != sbe.VerdictTemplateID || v.DecodeBlock(f.Block) != nil || v.ReqID != 99 {
					t.Fatalf("connection did not continue: template %d", f.Header.TemplateID)
				}
			}
			if got := srv.Stats().Errors[c.code]; got != before+1 {
				t.Errorf("error counter %d, want %d", got, before+1)
			}
			if _, err := bystander.Check(ctx5(t), sbe.OrderCheck{Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1}); err != nil {
				t.Fatalf("bystander affected: %v", err)
			}
		})
	}
}

func TestTemplates(t *testing.T) {
	fake := newFake()
	srv, addr := startServer(t, Config{}, fake)
	c := dial(t, addr, "adm")
	ctx := ctx5(t)
	v, err := c.Check(ctx, sbe.OrderCheck{Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 10, Price: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := sbe.Verdict{ReqID: v.ReqID, Account: 2, Epoch: 7, Equity: 2_000_000, InitialMargin: 1000, MaintenanceMargin: 500, PostTradeInitialMargin: 1003}
	if v != want || v.ReqID == 0 {
		t.Fatalf("verdict %+v, want %+v", v, want)
	}
	v, _ = c.Check(ctx, sbe.OrderCheck{Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 101})
	if v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonInsufficientMargin {
		t.Fatalf("big order %+v", v)
	}
	st, err := c.Query(ctx, 3)
	if err != nil || st.Account != 3 || st.State != sbe.StateMarginCall || st.Equity != 30 || st.HealthFactor != 15000 {
		t.Fatalf("status %+v %v", st, err)
	}
	_, err = c.Query(ctx, 99)
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != sbe.ErrorCodeUnknownAccount {
		t.Fatalf("unknown account query: %v", err)
	}
	if err := c.Fill(ctx, sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 3, Price: 100, ExecID: 5}); err != nil {
		t.Fatal(err)
	}
	err = c.Fill(ctx, sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 3, Price: 100, ExecID: 5})
	if !errors.As(err, &se) || se.Code != sbe.ErrorCodeDuplicateFill {
		t.Fatalf("duplicate fill: %v", err)
	}
	if fills := fake.applied(); len(fills) != 1 {
		t.Fatalf("fills applied %d", len(fills))
	}
	s := srv.Stats()
	if s.Verdicts[sbe.ReasonNone] != 1 || s.Verdicts[sbe.ReasonInsufficientMargin] != 1 || s.Queries != 1 ||
		s.FillsApplied != 1 || s.FillsRefused != 1 || s.Errors[sbe.ErrorCodeDuplicateFill] != 1 || s.Errors[sbe.ErrorCodeUnknownAccount] != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestFirmIsolation(t *testing.T) {
	fake := newFake()
	_, addr := startServer(t, Config{}, fake)
	a := dial(t, addr, "tokA")
	ctx := ctx5(t)
	var se *client.ServerError
	if v, err := a.Check(ctx, sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil || v.Decision != sbe.DecisionAccept {
		t.Fatalf("own account %+v %v", v, err)
	}
	for _, acct := range []uint64{3, 99} {
		v, err := a.Check(ctx, sbe.OrderCheck{Account: acct, Instrument: 1, Side: sbe.SideBuy, Qty: 1})
		if err != nil || v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonNotAuthorised || v.Equity != 0 || v.Epoch != 0 {
			t.Fatalf("account %d: verdict %+v %v", acct, v, err)
		}
		if _, err := a.Query(ctx, acct); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
			t.Fatalf("account %d query: %v", acct, err)
		}
		if err := a.Fill(ctx, sbe.Fill{Account: acct, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 100 + acct}); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
			t.Fatalf("account %d fill: %v", acct, err)
		}
	}
	// A firm reads and checks its own accounts but books no fill, not
	// even on them (DESIGN §5.3: fills are the exchange's).
	if err := a.Fill(ctx, sbe.Fill{Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1, ExecID: 1}); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("firm fill on its own account: %v", err)
	}
	// ops is metrics, health and the dashboard: no account's data, no
	// check, no fill.
	ops := dial(t, addr, "ops")
	if _, err := ops.Query(ctx, 3); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("ops query: %v", err)
	}
	if v, err := ops.Check(ctx, sbe.OrderCheck{Account: 3, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil ||
		v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonNotAuthorised || v.Equity != 0 {
		t.Fatalf("ops check: %+v %v", v, err)
	}
	if err := ops.Fill(ctx, sbe.Fill{Account: 3, Instrument: 1, Side: sbe.SideSell, Qty: 1, ExecID: 2}); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("ops fill: %v", err)
	}
	adm := dial(t, addr, "adm")
	if err := adm.Fill(ctx, sbe.Fill{Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1, ExecID: 3}); err != nil {
		t.Fatal(err)
	}
	if fills := fake.applied(); len(fills) != 1 || fills[0].Account != 2 {
		t.Fatalf("fills %+v", fills)
	}
}

func TestPipelining(t *testing.T) {
	for _, busy := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprintf("busypoll=%v", busy), func(t *testing.T) { testPipelining(t, busy) })
	}
}

func testPipelining(t *testing.T, busy time.Duration) {
	const n = 10000
	srv, addr := startServer(t, Config{PendingMax: 64, BusyPoll: busy}, newFake())
	c := dial(t, addr, "adm")
	ctx := ctx5(t)
	sendErr := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if err := c.Send(&sbe.OrderCheck{ReqID: uint64(i), Account: uint64(1 + i%3), Instrument: 1, Side: sbe.SideBuy, Qty: int64(i % 200)}); err != nil {
				sendErr <- err
				return
			}
			if i%100 == 0 {
				if err := c.Flush(); err != nil {
					sendErr <- err
					return
				}
			}
		}
		sendErr <- c.Flush()
	}()
	for i := 1; i <= n; i++ {
		r, err := c.Recv(ctx)
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		wantDecision := sbe.DecisionAccept
		if i%200 > 100 {
			wantDecision = sbe.DecisionReject
		}
		if r.TemplateID != sbe.VerdictTemplateID || r.ReqID != uint64(i) || r.Verdict.Account != uint64(1+i%3) || r.Verdict.Decision != wantDecision {
			t.Fatalf("response %d: %+v", i, r)
		}
	}
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if busy > 0 && st.BusyPollSpun+st.BusyPollParked == 0 {
		t.Errorf("busy polling counted no reads: %+v", st)
	}
	if busy == 0 && st.BusyPollSpun+st.BusyPollParked != 0 {
		t.Errorf("reads counted as busy-polled without BusyPoll: %+v", st)
	}
}

func TestConcurrentCallers(t *testing.T) {
	_, addr := startServer(t, Config{}, newFake())
	c := dial(t, addr, "adm")
	ctx := ctx5(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				qty := int64(g*1000 + i)
				v, err := c.Check(ctx, sbe.OrderCheck{Account: 1, Instrument: 2, Side: sbe.SideBuy, Qty: qty})
				if err != nil || v.InitialMargin != qty*100 {
					errs <- errors.Join(err, errors.New("mismatched verdict"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNotices(t *testing.T) {
	fake := newFake()
	srv, addr := startServer(t, Config{NoticeInterval: 5 * time.Millisecond}, fake)
	adm, a, b := dial(t, addr, "adm"), dial(t, addr, "tokA"), dial(t, addr, "tokB")
	waitFor(t, "logins", func() bool { return srv.Stats().Logins == 3 })
	fake.notify(sbe.MarginNotice{Account: 1, State: sbe.StateMarginCall, Epoch: 3, Equity: 10},
		sbe.MarginNotice{Account: 3, State: sbe.StateLiquidate, Epoch: 3, Equity: 20})
	recv := func(c *client.Conn) sbe.MarginNotice {
		select {
		case n := <-c.Notices():
			return n
		case <-time.After(5 * time.Second):
			t.Fatal("no notice")
		}
		return sbe.MarginNotice{}
	}
	if n1, n2 := recv(adm), recv(adm); n1.Account != 1 || n2.Account != 3 || n2.State != sbe.StateLiquidate {
		t.Fatalf("admin notices %+v %+v", n1, n2)
	}
	if n := recv(a); n.Account != 1 || n.Equity != 10 {
		t.Fatalf("firm A notice %+v", n)
	}
	if n := recv(b); n.Account != 3 {
		t.Fatalf("firm B notice %+v", n)
	}
	// Nothing else arrives for the firms (one more admin-visible notice
	// flushes the pipe first).
	fake.notify(sbe.MarginNotice{Account: 2, State: sbe.StateHealthy})
	if n := recv(a); n.Account != 2 {
		t.Fatalf("firm A second notice %+v", n)
	}
	if n := recv(adm); n.Account != 2 {
		t.Fatalf("admin third notice %+v", n)
	}
	if _, err := b.Query(ctx5(t), 3); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-b.Notices():
		t.Fatalf("firm B saw %+v", n)
	default:
	}
	// The counter moves just after the push, so the client may be ahead.
	waitFor(t, "6 notices counted", func() bool { return srv.Stats().NoticesSent == 6 })
	if s := srv.Stats(); s.NoticesDropped != 0 {
		t.Errorf("notices dropped %d", s.NoticesDropped)
	}
}

// TestSlowNoticeConsumer: a session that never reads fills its queue, its
// notices are dropped and counted, and another session still gets every one.
func TestSlowNoticeConsumer(t *testing.T) {
	fake := newFake()
	const pending = 1024
	srv, addr := startServer(t, Config{NoticeInterval: time.Millisecond, PendingMax: pending}, fake)
	slow := dialRaw(t, addr)
	if err := slow.nc.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	slow.login("adm")
	fast := dial(t, addr, "adm")
	waitFor(t, "logins", func() bool { return srv.Stats().Logins == 2 })
	// Enough notices (7.4 MB) to fill the slow session's socket buffers (send
	// buffer at most tcp_wmem max, 4 MiB by default) and its queue.
	const rounds, per = 120, 1000
	got := 0
	for r := 0; r < rounds; r++ {
		batch := make([]sbe.MarginNotice, per)
		for i := range batch {
			batch[i] = sbe.MarginNotice{Account: 1, Epoch: uint64(r*per + i)}
		}
		fake.notify(batch...)
		for i := 0; i < per; i++ {
			select {
			case n := <-fast.Notices():
				if n.Epoch != uint64(got) {
					t.Fatalf("fast consumer got epoch %d, want %d", n.Epoch, got)
				}
				got++
			case <-time.After(5 * time.Second):
				t.Fatalf("fast consumer stalled at %d", got)
			}
		}
	}
	// Every notice is either sent or dropped for each session (the
	// counters move just after the push).
	waitFor(t, "every notice counted", func() bool {
		s := srv.Stats()
		return s.NoticesSent+s.NoticesDropped == 2*rounds*per
	})
	if s := srv.Stats(); s.NoticesDropped == 0 {
		t.Fatal("slow consumer dropped nothing")
	}
}

func TestConnLimit(t *testing.T) {
	srv, addr := startServer(t, Config{ConnsMax: 2}, newFake())
	dial(t, addr, "adm")
	dial(t, addr, "tokA")
	waitFor(t, "two conns", func() bool { return srv.Stats().Conns == 2 })
	r := dialRaw(t, addr)
	e := r.readError()
	if e.Code != sbe.ErrorCodeInternal {
		t.Fatalf("code %v", e.Code)
	}
	r.expectEOF()
	if s := srv.Stats(); s.ConnsRefused != 1 {
		t.Errorf("refused %d", s.ConnsRefused)
	}
}

// TestIdleTimeout: a silent connection is closed after IdleTimeout, also
// when its reader spins first (BusyPoll). (A deadline passing during the
// spin itself is busypoll's TestTryReadWrite.)
func TestIdleTimeout(t *testing.T) {
	for _, busy := range []time.Duration{0, 10 * time.Millisecond} {
		t.Run(fmt.Sprintf("busypoll=%v", busy), func(t *testing.T) {
			srv, addr := startServer(t, Config{IdleTimeout: 50 * time.Millisecond, BusyPoll: busy}, newFake())
			r := dialRaw(t, addr)
			r.login("adm")
			r.expectEOF()
			waitFor(t, "idle close", func() bool { return srv.Stats().IdleClosed == 1 })
		})
	}
}

func TestFillTimeout(t *testing.T) {
	fake := newFake()
	fake.block = make(chan struct{})
	srv, addr := startServer(t, Config{FillTimeout: 50 * time.Millisecond}, fake)
	c := dial(t, addr, "adm")
	var se *client.ServerError
	err := c.Fill(ctx5(t), sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 1})
	if !errors.As(err, &se) || se.Code != sbe.ErrorCodeInternal {
		t.Fatalf("timed-out fill: %v", err)
	}
	close(fake.block)
	if err := c.Fill(ctx5(t), sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 2}); err != nil {
		t.Fatal(err)
	}
	if s := srv.Stats(); s.FillsApplied != 1 || s.FillsRefused != 1 {
		t.Errorf("fills applied %d refused %d", s.FillsApplied, s.FillsRefused)
	}
}

// TestWriteTimeout: a peer that pipelines requests but never reads the
// responses is disconnected after WriteTimeout; other sessions carry on.
// TestWriteTimeout: a client that sends requests but never reads the
// answers is disconnected after WriteTimeout, and others are served. The
// server's send buffer is small and the client's receive buffer bounded,
// so the server's writes block within a few hundred verdicts. (With a
// 4 KB receive buffer and the server's send buffer free to grow, loopback
// TCP sometimes stalled the client's own sends first, dropping the ACKs
// that arrive while its receive queue is full, and the server, never
// blocked, never timed out: 2 to 3 runs in 20 failed.)
func TestWriteTimeout(t *testing.T) {
	srv, addr := startServerOn(t, Config{PendingMax: 16, WriteTimeout: 50 * time.Millisecond}, newFake(),
		func(ln net.Listener) net.Listener { return smallSendBuffers{ln, 8 << 10} })
	r := dialRaw(t, addr)
	if err := r.nc.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	r.login("adm")
	go func() {
		batch := make([]byte, 0, 1000*sbe.OrderCheckFrameBytes)
		for i := 0; i < 1000; i++ {
			batch = append(batch, checkFrame(uint64(i))...)
		}
		for i := 0; i < 200; i++ { // 8 MB of requests, ~15 MB of verdicts
			if _, err := r.nc.Write(batch); err != nil {
				return
			}
		}
	}()
	waitFor(t, "write timeout", func() bool { return srv.Stats().WriteErrors == 1 })
	c := dial(t, addr, "tokA")
	if _, err := c.Check(ctx5(t), sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "slow session gone", func() bool { return srv.Stats().Conns == 1 })
}

// TestShutdown: open sessions are closed, Serve returns ErrServerClosed and
// Shutdown waits for every connection goroutine.
func TestShutdown(t *testing.T) {
	srv, err := NewServer(Config{Tokens: testTokens}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c := dial(t, ln.Addr().String(), "adm")
	r := dialRaw(t, ln.Addr().String())
	r.login("ops")
	if err := srv.Shutdown(ctx5(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	r.expectEOF()
	if _, err := c.Check(ctx5(t), sbe.OrderCheck{Account: 1}); err == nil {
		t.Fatal("check after shutdown succeeded")
	}
	if s := srv.Stats(); s.Conns != 0 || s.ConnsClosed != 2 {
		t.Fatalf("conns %d closed %d", s.Conns, s.ConnsClosed)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}
