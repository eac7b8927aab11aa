package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// svc answers every check with accept and epoch = qty; Fill waits on gate
// when it is set; Sweep hands out queued notices.
type svc struct {
	gate    chan struct{}
	mu      sync.Mutex
	notices []sbe.MarginNotice
}

func (s *svc) Check(o *sbe.OrderCheck, v *sbe.Verdict) { v.Epoch = uint64(o.Qty) }
func (s *svc) Status(a uint64, st *sbe.AccountStatus) sbe.ErrorCode {
	st.Equity = int64(a)
	return sbe.ErrorCodeNone
}
func (s *svc) Fill(ctx context.Context, f *sbe.Fill) sbe.ErrorCode {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return sbe.ErrorCodeInternal
		}
	}
	return sbe.ErrorCodeNone
}
func (s *svc) FirmOf(uint64) (string, bool) { return "A", true }
func (s *svc) Sweep() []sbe.MarginNotice {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.notices
	s.notices = nil
	return n
}

func start(t testing.TB, s *svc) (*verdict.Server, string) {
	t.Helper()
	return startCfg(t, s, verdict.Config{Tokens: map[string]string{"t": "admin"}, NoticeInterval: time.Millisecond})
}

// startCfg starts a TCP server over s with cfg.
func startCfg(t testing.TB, s *svc, cfg verdict.Config) (*verdict.Server, string) {
	t.Helper()
	srv, err := verdict.NewServer(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv, ln.Addr().String()
}

func TestDialErrors(t *testing.T) {
	_, addr := start(t, &svc{})
	ctx := context.Background()
	for _, tok := range []string{"", "a\x00", string(make([]byte, 65))} {
		if _, err := client.Dial(ctx, addr, tok, client.Options{}); !errors.Is(err, client.ErrToken) {
			t.Errorf("token %q: %v", tok, err)
		}
	}
	if _, err := client.Dial(ctx, addr, "x", client.Options{}); !errors.Is(err, client.ErrLoginDenied) {
		t.Errorf("denied: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.Dial(cctx, addr, "t", client.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled dial: %v", err)
	}
}

func TestCancelAndClose(t *testing.T) {
	s := &svc{gate: make(chan struct{})}
	_, addr := start(t, s)
	ctx := context.Background()
	c, err := client.Dial(ctx, addr, "t", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err = c.Fill(fctx, sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 1})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled fill: %v", err)
	}
	close(s.gate)
	// The abandoned Ack is dropped; the next call gets its own answer.
	v, err := c.Check(ctx, sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 42})
	if err != nil || v.Epoch != 42 {
		t.Fatalf("check after cancel: %+v %v", v, err)
	}
	st, err := c.Query(ctx, 9)
	if err != nil || st.Equity != 9 || st.Account != 9 {
		t.Fatalf("query %+v %v", st, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Check(ctx, sbe.OrderCheck{Account: 1}); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := c.Recv(ctx); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("recv after close: %v", err)
	}
}

func TestNoticesDropWhenFull(t *testing.T) {
	s := &svc{}
	srv, addr := start(t, s)
	c, err := client.Dial(context.Background(), addr, "t", client.Options{NoticesMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Logins == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	for i := 0; i < 5; i++ {
		s.notices = append(s.notices, sbe.MarginNotice{Account: uint64(i)})
	}
	s.mu.Unlock()
	for c.NoticesDropped() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := c.NoticesDropped(); got != 3 {
		t.Fatalf("dropped %d, want 3", got)
	}
	for i := 0; i < 2; i++ {
		if n := <-c.Notices(); n.Account != uint64(i) {
			t.Fatalf("notice %d: %+v", i, n)
		}
	}
}

func TestServerErrorText(t *testing.T) {
	r := client.Response{TemplateID: sbe.ErrorTemplateID, ReqID: 4, Error: sbe.Error{ReqID: 4, Code: sbe.ErrorCodeNotAuthorised}}
	copy(r.Error.Text[:], "no")
	var se *client.ServerError
	if err := r.Err(); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised || se.Text != "no" || se.ReqID != 4 {
		t.Fatalf("%v", err)
	}
	if r := (client.Response{TemplateID: sbe.AckTemplateID}); r.Err() != nil {
		t.Fatal("ok Ack is an error")
	}
}
