package verdict

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/verdict/client"
)

// fakeService is a deterministic Service: accounts 1 and 2 belong to firm
// "A", 3 to "B"; orders over 100 units are rejected for margin.
type fakeService struct {
	firms map[uint64]string

	mu      sync.Mutex
	fills   []sbe.Fill
	execs   map[uint64]bool
	notices []sbe.MarginNotice
	block   chan struct{} // when set, Fill waits on it
}

func newFake() *fakeService {
	return &fakeService{firms: map[uint64]string{1: "A", 2: "A", 3: "B"}, execs: map[uint64]bool{}}
}

func (f *fakeService) Check(o *sbe.OrderCheck, v *sbe.Verdict) {
	if _, ok := f.firms[o.Account]; !ok {
		v.Decision, v.Reason = sbe.DecisionReject, sbe.ReasonUnknownAccount
		return
	}
	v.Epoch = 7
	v.Equity = int64(o.Account) * 1_000_000
	v.InitialMargin = o.Qty * 100
	v.MaintenanceMargin = o.Qty * 50
	v.PostTradeInitialMargin = o.Qty*100 + int64(o.Instrument)
	if o.Qty > 100 {
		v.Decision, v.Reason = sbe.DecisionReject, sbe.ReasonInsufficientMargin
	}
}

func (f *fakeService) Status(account uint64, st *sbe.AccountStatus) sbe.ErrorCode {
	if _, ok := f.firms[account]; !ok {
		return sbe.ErrorCodeUnknownAccount
	}
	st.State, st.Epoch, st.Equity, st.HealthFactor = sbe.StateMarginCall, 7, int64(account)*10, 15000
	return sbe.ErrorCodeNone
}

func (f *fakeService) Fill(ctx context.Context, fl *sbe.Fill) sbe.ErrorCode {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return sbe.ErrorCodeInternal
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.execs[fl.ExecID] {
		return sbe.ErrorCodeDuplicateFill
	}
	f.execs[fl.ExecID] = true
	f.fills = append(f.fills, *fl)
	return sbe.ErrorCodeNone
}

func (f *fakeService) applied() []sbe.Fill {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sbe.Fill(nil), f.fills...)
}

func (f *fakeService) FirmOf(account uint64) (string, bool) {
	firm, ok := f.firms[account]
	return firm, ok
}

func (f *fakeService) Sweep() []sbe.MarginNotice {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.notices
	f.notices = nil
	return n
}

func (f *fakeService) notify(n ...sbe.MarginNotice) {
	f.mu.Lock()
	f.notices = append(f.notices, n...)
	f.mu.Unlock()
}

var testTokens = map[string]string{"adm": "admin", "ops": "ops", "tokA": "firm:A", "tokB": "firm:B"}

func startServer(t testing.TB, cfg Config, svc Service) (*Server, string) {
	t.Helper()
	return startServerOn(t, cfg, svc, nil)
}

// smallSendBuffers wraps a listener so that every accepted connection's
// send buffer is bytes (the kernel doubles it): a server writing to a peer
// that does not read blocks at once.
type smallSendBuffers struct {
	net.Listener
	bytes int
}

func (l smallSendBuffers) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if tc, ok := nc.(*net.TCPConn); ok && err == nil {
		_ = tc.SetWriteBuffer(l.bytes)
	}
	return nc, err
}

// startServerOn is startServer with the listener wrapped by wrap (nil:
// as it is).
func startServerOn(t testing.TB, cfg Config, svc Service, wrap func(net.Listener) net.Listener) (*Server, string) {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens
	}
	srv, err := NewServer(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, ln.Addr().String()
}

func dial(t testing.TB, addr, token string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// raw is a hand-driven connection for malformed input.
type raw struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	buf []byte
}

func dialRaw(t testing.TB, addr string) *raw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return &raw{t: t, nc: nc, br: bufio.NewReader(nc), buf: make([]byte, 4096)}
}

func (r *raw) write(b []byte) {
	r.t.Helper()
	if _, err := r.nc.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) send(m sbe.Message) { r.t.Helper(); r.write(m.AppendFrame(nil)) }

// read returns the next frame (failing the test on error or after 5 s).
func (r *raw) read() sbe.Frame {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := sbe.ReadFrame(r.br, r.buf, len(r.buf))
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (r *raw) readError() sbe.Error {
	r.t.Helper()
	f := r.read()
	if f.Header.TemplateID != sbe.ErrorTemplateID {
		r.t.Fatalf("got template %d, want Error", f.Header.TemplateID)
	}
	var e sbe.Error
	if err := e.DecodeBlock(f.Block); err != nil {
		r.t.Fatal(err)
	}
	return e
}

// expectEOF asserts the server closed the connection.
func (r *raw) expectEOF() {
	r.t.Helper()
	_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.br.ReadByte(); !errors.Is(err, io.EOF) {
		var ne net.Error
		if !(errors.As(err, &ne) && !ne.Timeout()) {
			r.t.Fatalf("want the server to close, got %v", err)
		}
	}
}

func (r *raw) login(token string) sbe.LoginAck {
	r.t.Helper()
	var lg sbe.Login
	copy(lg.Token[:], token)
	r.send(&lg)
	f := r.read()
	var ack sbe.LoginAck
	if f.Header.TemplateID != sbe.LoginAckTemplateID {
		r.t.Fatalf("got template %d, want LoginAck", f.Header.TemplateID)
	}
	_ = ack.DecodeBlock(f.Block)
	return ack
}

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
