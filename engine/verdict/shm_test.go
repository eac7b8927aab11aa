package verdict

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
	"github.com/ballast-risk/ballast/engine/verdict/client"
	"github.com/ballast-risk/ballast/feedhandler/latency"
)

// serveShm runs ServeShm on srv in a fresh directory and waits for its slot
// files. Its cleanup shuts srv down, checks ServeShm's result and that the
// files are gone.
func serveShm(t testing.TB, srv *Server, cfg ShmConfig) string {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeShm(cfg) }()
	waitFor(t, "slot files", func() bool {
		select {
		case err := <-served:
			t.Fatalf("ServeShm: %v", err)
		default:
		}
		return srv.Stats().ShmSlots == cfg.Slots
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeShm returned %v", err)
		}
		if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "*")); len(left) != 0 {
			t.Errorf("files left after Shutdown: %v", left)
		}
	})
	return cfg.Dir
}

// startShm is a server with only the shared-memory transport.
func startShm(t testing.TB, cfg Config, svc Service, shmCfg ShmConfig) (*Server, string) {
	t.Helper()
	if cfg.Tokens == nil {
		cfg.Tokens = testTokens
	}
	srv, err := NewServer(cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	if shmCfg.Slots == 0 {
		shmCfg.Slots = 4
	}
	return srv, serveShm(t, srv, shmCfg)
}

// dialShm logs in over shared memory, retrying while every slot is busy
// (a slot freed by a client is re-created asynchronously).
func dialShm(t testing.TB, dir, token string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c *client.Conn
	var err error
	waitFor(t, "a free slot", func() bool {
		c, err = client.DialShm(ctx, dir, token, client.Options{})
		return !errors.Is(err, client.ErrNoShmSlot)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawShm is a hand-driven shared-memory client: it claims a slot with
// shmring.Dial, reads through it, and writes raw ring records, so that it
// can send what shmring's own writer refuses (a bad SOFH).
type rawShm struct {
	t    testing.TB
	c    *shmring.Conn
	m    *shm.Mapping
	tail *atomic.Uint64
	data []byte
	buf  []byte
}

// Request ring geometry, from shmring's documented file layout.
const (
	rawOffRingBytes = 16
	rawOffRing0     = 256
	rawRingCtlBytes = 256
)

func dialRawShm(t testing.TB, dir string) *rawShm {
	t.Helper()
	r := openRawShm(t, dir)
	t.Cleanup(r.close)
	return r
}

func (r *rawShm) close() { _ = r.c.Close(); _ = r.m.Unmap() }

// openRawShm is dialRawShm without the cleanup.
func openRawShm(t testing.TB, dir string) *rawShm {
	t.Helper()
	var c *shmring.Conn
	var path string
	waitFor(t, "a free slot", func() bool {
		paths, _ := filepath.Glob(filepath.Join(dir, client.ShmSlotPattern))
		for _, p := range paths {
			var err error
			if c, err = shmring.Dial(p); err == nil {
				path = p
				return true
			}
		}
		return false
	})
	m, err := shm.Open(path, rawOffRing0+rawRingCtlBytes)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bytes()
	ringBytes := int(binary.LittleEndian.Uint32(b[rawOffRingBytes:]))
	tail, err := shm.Uint64(b, rawOffRing0)
	if err != nil {
		t.Fatal(err)
	}
	return &rawShm{t: t, c: c, m: m, tail: tail, data: b[rawOffRing0+rawRingCtlBytes : rawOffRing0+rawRingCtlBytes+ringBytes],
		buf: make([]byte, sbe.MessageFrameBytesMax)}
}

// write publishes p as one request record. It does not wait for room:
// callers read the answer to each record before writing the next, and the
// server releases a record before it answers.
func (r *rawShm) write(p []byte) {
	r.t.Helper()
	tl := r.tail.Load()
	off := int(tl) & (len(r.data) - 1)
	rec := (4 + len(p) + 7) &^ 7
	if off+rec > len(r.data) { // wrap marker, then the record at offset 0
		binary.LittleEndian.PutUint32(r.data[off:], 0xFFFFFFFF)
		tl += uint64(len(r.data) - off)
		off = 0
	}
	binary.LittleEndian.PutUint32(r.data[off:], uint32(len(p)))
	copy(r.data[off+4:], p)
	r.tail.Store(tl + uint64(rec))
}

func (r *rawShm) send(m sbe.Message) { r.t.Helper(); r.write(m.AppendFrame(nil)) }

// read returns the next frame; the server never leaves a client waiting
// here in a passing test.
func (r *rawShm) read() sbe.Frame {
	r.t.Helper()
	f, _, err := r.c.ReadFrame(r.buf)
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (r *rawShm) readError() sbe.Error {
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

func (r *rawShm) readVerdict() sbe.Verdict {
	r.t.Helper()
	f := r.read()
	var v sbe.Verdict
	if f.Header.TemplateID != sbe.VerdictTemplateID || v.DecodeBlock(f.Block) != nil {
		r.t.Fatalf("got template %d, want Verdict", f.Header.TemplateID)
	}
	return v
}

func (r *rawShm) login(token string) sbe.LoginAck {
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

// expectEnd asserts the server ended the session.
func (r *rawShm) expectEnd() {
	r.t.Helper()
	if _, _, err := r.c.ReadFrame(r.buf); !errors.Is(err, shmring.ErrPeerClosed) {
		r.t.Fatalf("want the server to end the session, got %v", err)
	}
}

func TestShmConfig(t *testing.T) {
	srv, err := NewServer(Config{Tokens: testTokens, NoticeInterval: -1}, newFake())
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []ShmConfig{{Dir: t.TempDir()}, {Dir: t.TempDir(), Slots: ShmSlotsMax + 1}, {Slots: 1}} {
		if err := srv.ServeShm(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
	// A ring too small for the frame maximum fails before serving.
	if err := srv.ServeShm(ShmConfig{Dir: t.TempDir(), Slots: 1, RingBytes: 100}); err == nil {
		t.Error("100-byte ring accepted")
	}
	dir := serveShm(t, srv, ShmConfig{Dir: t.TempDir(), Slots: 2})
	for i := range 2 {
		if ok, _ := filepath.Match(client.ShmSlotPattern, ShmSlotName(i)); !ok {
			t.Fatalf("%s does not match the client's %s", ShmSlotName(i), client.ShmSlotPattern)
		}
		if _, err := os.Stat(filepath.Join(dir, ShmSlotName(i))); err != nil {
			t.Fatal(err)
		}
	}
	// Another server cannot take over a live directory.
	other, _ := NewServer(Config{Tokens: testTokens, NoticeInterval: -1}, newFake())
	if err := other.ServeShm(ShmConfig{Dir: dir, Slots: 1}); !errors.Is(err, shmring.ErrInUse) {
		t.Errorf("second server on %s: %v, want ErrInUse", dir, err)
	}
	_ = other.Shutdown(context.Background())
	if err := other.ServeShm(ShmConfig{Dir: t.TempDir(), Slots: 1}); !errors.Is(err, ErrServerClosed) {
		t.Errorf("after Shutdown: %v", err)
	}
}

func TestShmLogin(t *testing.T) {
	srv, dir := startShm(t, Config{}, newFake(), ShmConfig{Slots: 2})
	c := dialShm(t, dir, "adm")
	if c.SessionID() == 0 {
		t.Error("session id 0")
	}
	if _, err := client.DialShm(ctx5(t), dir, "nope", client.Options{}); !errors.Is(err, client.ErrLoginDenied) {
		t.Fatalf("bad token: %v", err)
	}
	// Requests before Login are refused with their reqId.
	r := dialRawShm(t, dir)
	reqs := []sbe.Message{
		&sbe.OrderCheck{ReqID: 11, Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1},
		&sbe.AccountQuery{ReqID: 12, Account: 1},
		&sbe.Fill{ReqID: 13, Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 1},
	}
	for i, m := range reqs {
		r.send(m)
		if e := r.readError(); e.Code != sbe.ErrorCodeNotLoggedIn || e.ReqID != uint64(11+i) {
			t.Errorf("request %d: %+v", i, e)
		}
	}
	if ack := r.login("tokA"); ack.Status != sbe.LoginStatusOK || ack.SessionID == 0 {
		t.Fatalf("ack %+v", ack)
	}
	var lg sbe.Login
	copy(lg.Token[:], "adm")
	r.send(&lg)
	if e := r.readError(); e.Code != sbe.ErrorCodeUnexpectedTemplate {
		t.Fatalf("second login: code %v", e.Code)
	}
	_ = r.c.Close()
	// A denied Login is answered and ends the session.
	r = dialRawShm(t, dir)
	if ack := r.login("nope"); ack.Status != sbe.LoginStatusDenied || ack.SessionID != 0 {
		t.Fatalf("denied ack %+v", ack)
	}
	r.expectEnd()
	st := srv.Stats()
	if st.Logins != 2 || st.LoginsDenied != 2 || st.Conns != 0 {
		t.Errorf("stats logins %d denied %d conns %d", st.Logins, st.LoginsDenied, st.Conns)
	}
}

func TestShmTemplates(t *testing.T) {
	fake := newFake()
	srv, dir := startShm(t, Config{}, fake, ShmConfig{})
	c := dialShm(t, dir, "adm")
	ctx := ctx5(t)
	v, err := c.Check(ctx, sbe.OrderCheck{Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 10, Price: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := sbe.Verdict{ReqID: v.ReqID, Account: 2, Epoch: 7, Equity: 2_000_000, InitialMargin: 1000, MaintenanceMargin: 500, PostTradeInitialMargin: 1003}
	if v != want || v.ReqID == 0 {
		t.Fatalf("verdict %+v, want %+v", v, want)
	}
	if v, _ = c.Check(ctx, sbe.OrderCheck{Account: 2, Instrument: 3, Side: sbe.SideBuy, Qty: 101}); v.Decision != sbe.DecisionReject || v.Reason != sbe.ReasonInsufficientMargin {
		t.Fatalf("big order %+v", v)
	}
	st, err := c.Query(ctx, 3)
	if err != nil || st.Account != 3 || st.State != sbe.StateMarginCall || st.Equity != 30 || st.HealthFactor != 15000 {
		t.Fatalf("status %+v %v", st, err)
	}
	var se *client.ServerError
	if _, err = c.Query(ctx, 99); !errors.As(err, &se) || se.Code != sbe.ErrorCodeUnknownAccount {
		t.Fatalf("unknown account query: %v", err)
	}
	fill := sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 3, Price: 100, ExecID: 5}
	if err := c.Fill(ctx, fill); err != nil {
		t.Fatal(err)
	}
	if got := fake.applied(); len(got) != 1 || got[0].ExecID != 5 {
		t.Fatalf("applied %+v", got)
	}
	if err := c.Fill(ctx, fill); !errors.As(err, &se) || se.Code != sbe.ErrorCodeDuplicateFill {
		t.Fatalf("duplicate fill: %v", err)
	}
	// Roles: a firm sees only its accounts, ops may not fill.
	a := dialShm(t, dir, "tokA")
	if v, err := a.Check(ctx, sbe.OrderCheck{Account: 3, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil || v.Reason != sbe.ReasonNotAuthorised || v.Account != 3 {
		t.Fatalf("other firm's check: %+v %v", v, err)
	}
	if _, err := a.Query(ctx, 3); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("other firm's query: %v", err)
	}
	if _, err := a.Query(ctx, 1); err != nil {
		t.Fatalf("own query: %v", err)
	}
	ops := dialShm(t, dir, "ops")
	if err := ops.Fill(ctx, sbe.Fill{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1, ExecID: 6}); !errors.As(err, &se) || se.Code != sbe.ErrorCodeNotAuthorised {
		t.Fatalf("ops fill: %v", err)
	}
	s := srv.Stats()
	if s.ShmSessions != 3 || s.ShmAccepted != 3 || s.Queries != 2 || s.FillsApplied != 1 || s.FillsRefused != 2 ||
		s.Verdicts[sbe.ReasonNotAuthorised] != 1 || s.ShmFramesIn != s.ShmFramesOut || s.ShmFramesIn != 13 || s.FramesIn != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestShmPipelining(t *testing.T) {
	_, dir := startShm(t, Config{}, newFake(), ShmConfig{Slots: 1, RingBytes: 1 << 12})
	c := dialShm(t, dir, "adm")
	ctx := ctx5(t)
	const n = 3000 // far more than the 4 KiB rings hold: both sides wait for room
	errs := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			var m sbe.Message
			switch i % 3 {
			case 0:
				m = &sbe.OrderCheck{ReqID: uint64(i), Account: 1, Instrument: uint32(i), Side: sbe.SideBuy, Qty: int64(i % 200)}
			case 1:
				m = &sbe.AccountQuery{ReqID: uint64(i), Account: 2}
			default:
				m = &sbe.Fill{ReqID: uint64(i), Account: 1, Instrument: 1, Side: sbe.SideSell, Qty: 1, Price: 1, ExecID: uint64(i)}
			}
			if err := c.Send(m); err != nil {
				errs <- err
				return
			}
		}
		errs <- c.Flush()
	}()
	for i := 1; i <= n; i++ {
		r, err := c.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantT := [...]uint16{sbe.VerdictTemplateID, sbe.AccountStatusTemplateID, sbe.AckTemplateID}[i%3]
		if r.ReqID != uint64(i) || r.TemplateID != wantT || r.Err() != nil {
			t.Fatalf("response %d: reqId %d template %d err %v", i, r.ReqID, r.TemplateID, r.Err())
		}
		if r.TemplateID == sbe.VerdictTemplateID && r.Verdict.PostTradeInitialMargin != int64(i%200)*100+int64(i) {
			t.Fatalf("verdict %d for another order: %+v", i, r.Verdict)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	// Concurrent request/response callers share the session.
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			for i := range 50 {
				v, err := c.Check(ctx, sbe.OrderCheck{Account: 2, Instrument: uint32(g), Side: sbe.SideBuy, Qty: int64(i)})
				if err == nil && v.PostTradeInitialMargin != int64(i)*100+int64(g) {
					err = fmt.Errorf("caller %d got %+v", g, v)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestShmMalformed(t *testing.T) {
	srv, dir := startShm(t, Config{}, newFake(), ShmConfig{Slots: 2})
	bystander := dialShm(t, dir, "adm")
	type tc struct {
		name  string
		frame func() []byte
		code  sbe.ErrorCode
		reqID uint64
	}
	cases := []tc{
		{"encoding type", func() []byte { b := checkFrame(1); b[4], b[5] = 0x12, 0x34; return b }, sbe.ErrorCodeEncodingType, 0},
		{"schema id", func() []byte { b := checkFrame(42); binary.LittleEndian.PutUint16(b[10:], 0xBA12); return b }, sbe.ErrorCodeSchemaID, 42},
		{"version", func() []byte { b := checkFrame(43); binary.LittleEndian.PutUint16(b[12:], 2); return b }, sbe.ErrorCodeSchemaVersion, 43},
		{"unknown template", func() []byte { b := checkFrame(1); binary.LittleEndian.PutUint16(b[8:], 77); return b }, sbe.ErrorCodeUnknownTemplate, 0},
		{"block length", func() []byte {
			b := checkFrame(44)
			b = b[:len(b)-1]
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			binary.LittleEndian.PutUint16(b[6:], sbe.OrderCheckBlockLength-1)
			return b
		}, sbe.ErrorCodeBlockLength, 44},
		{"trailing bytes", func() []byte {
			b := append(checkFrame(45), 0)
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			return b
		}, sbe.ErrorCodeBlockLength, 45},
		{"record longer than its SOFH", func() []byte { return append(checkFrame(47), 0, 0) }, sbe.ErrorCodeBlockLength, 47},
		{"too long", func() []byte {
			b := make([]byte, 64)
			binary.BigEndian.PutUint32(b[0:], uint32(sbe.MessageFrameBytesMax+1))
			binary.BigEndian.PutUint16(b[4:], sbe.EncodingType)
			return b
		}, sbe.ErrorCodeFrameTooLong, 0},
		{"short sofh", func() []byte {
			b := checkFrame(1)[:12]
			binary.BigEndian.PutUint32(b[0:], 12)
			return b
		}, sbe.ErrorCodeShortFrame, 0},
		{"record shorter than its SOFH", func() []byte { return checkFrame(1)[:20] }, sbe.ErrorCodeShortFrame, 0},
		{"short block", func() []byte {
			b := checkFrame(46)[:sbe.OrderCheckFrameBytes-8]
			binary.BigEndian.PutUint32(b[0:], uint32(len(b)))
			return b
		}, sbe.ErrorCodeShortFrame, 46},
		{"response as request", func() []byte { return (&sbe.Verdict{ReqID: 9}).AppendFrame(nil) }, sbe.ErrorCodeUnexpectedTemplate, 0},
	}
	r := dialRawShm(t, dir)
	r.login("adm")
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.t = t
			before := srv.Stats().Errors[c.code]
			r.write(c.frame())
			if e := r.readError(); e.Code != c.code || e.ReqID != c.reqID {
				t.Fatalf("got code %v reqId %d, want %v %d", e.Code, e.ReqID, c.code, c.reqID)
			}
			// The ring keeps the framing: the session goes on.
			r.write(checkFrame(uint64(100 + i)))
			if v := r.readVerdict(); v.ReqID != uint64(100+i) {
				t.Fatalf("session did not continue: reqId %d", v.ReqID)
			}
			if got := srv.Stats().Errors[c.code]; got != before+1 {
				t.Errorf("error counter %d, want %d", got, before+1)
			}
			if _, err := bystander.Check(ctx5(t), sbe.OrderCheck{Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1}); err != nil {
				t.Fatalf("bystander affected: %v", err)
			}
		})
	}
	// A record length the layout forbids corrupts the ring: that session
	// ends, the slot is re-created and the bystander carries on.
	r.t = t
	binary.LittleEndian.PutUint32(r.data[int(r.tail.Load())&(len(r.data)-1):], 1<<20)
	r.tail.Add(8)
	r.expectEnd()
	waitFor(t, "slot re-created", func() bool { return srv.Stats().ShmClosed == 1 })
	c2 := dialShm(t, dir, "tokB")
	if _, err := c2.Check(ctx5(t), sbe.OrderCheck{Account: 3, Instrument: 1, Side: sbe.SideSell, Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := bystander.Check(ctx5(t), sbe.OrderCheck{Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1}); err != nil {
		t.Fatalf("bystander affected: %v", err)
	}
}

func TestShmNotices(t *testing.T) {
	fake := newFake()
	srv, dir := startShm(t, Config{NoticeInterval: time.Millisecond}, fake, ShmConfig{Slots: 3})
	adm, a, b := dialShm(t, dir, "adm"), dialShm(t, dir, "tokA"), dialShm(t, dir, "tokB")
	tcpSrvLn := srv.Stats().Conns
	fake.notify(sbe.MarginNotice{Account: 1, State: sbe.StateMarginCall, Epoch: 7}, sbe.MarginNotice{Account: 3, State: sbe.StateLiquidate, Epoch: 7})
	recv := func(c *client.Conn) sbe.MarginNotice {
		t.Helper()
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
	if n := recv(a); n.Account != 1 || n.State != sbe.StateMarginCall {
		t.Fatalf("firm A notice %+v", n)
	}
	if n := recv(b); n.Account != 3 {
		t.Fatalf("firm B notice %+v", n)
	}
	// Requests and notices share the response ring without mixing up.
	if _, err := a.Check(ctx5(t), sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-a.Notices():
		t.Fatalf("firm A got another firm's notice %+v", n)
	case n := <-b.Notices():
		t.Fatalf("firm B got a second notice %+v", n)
	case <-time.After(20 * time.Millisecond):
	}
	if st := srv.Stats(); st.NoticesSent != 4 || st.NoticesDropped != 0 || tcpSrvLn != 0 {
		t.Errorf("notices sent %d dropped %d", st.NoticesSent, st.NoticesDropped)
	}
}

func TestShmSlotReuse(t *testing.T) {
	srv, dir := startShm(t, Config{}, newFake(), ShmConfig{Slots: 2})
	ctx := ctx5(t)
	c1, err := client.DialShm(ctx, dir, "adm", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c2 := dialShm(t, dir, "tokA")
	if _, err := client.DialShm(ctx, dir, "adm", client.Options{}); !errors.Is(err, client.ErrNoShmSlot) {
		t.Fatalf("third client: %v, want ErrNoShmSlot", err)
	}
	if _, err := client.DialShm(ctx, t.TempDir(), "adm", client.Options{}); !errors.Is(err, client.ErrNoShmSlot) {
		t.Fatalf("empty directory: %v, want ErrNoShmSlot", err)
	}
	id1 := c1.SessionID()
	_ = c1.Close()
	var c3 *client.Conn
	waitFor(t, "the freed slot", func() bool {
		c3, err = client.DialShm(ctx, dir, "tokB", client.Options{})
		return err == nil
	})
	defer c3.Close()
	if c3.SessionID() == id1 || c3.SessionID() == c2.SessionID() {
		t.Fatalf("session ids %d %d %d", id1, c2.SessionID(), c3.SessionID())
	}
	for _, c := range []*client.Conn{c2, c3} {
		if _, err := c.Query(ctx, map[*client.Conn]uint64{c2: 1, c3: 3}[c]); err != nil {
			t.Fatal(err)
		}
	}
	if st := srv.Stats(); st.ShmAccepted != 3 || st.ShmClosed != 1 || st.ShmSessions != 2 {
		t.Errorf("stats accepted %d closed %d sessions %d", st.ShmAccepted, st.ShmClosed, st.ShmSessions)
	}
	// The server closing the session is seen by the client.
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Check(ctx, sbe.OrderCheck{Account: 1, Side: sbe.SideBuy, Qty: 1}); err == nil {
		t.Fatal("check after Shutdown succeeded")
	}
	waitFor(t, "client sees the end", func() bool { return errors.Is(c3.Err(), shmring.ErrPeerClosed) })
}

const shmPeerEnv = "VERDICT_SHM_PEER_DIR"

// TestShmHelperPeer is the body of a re-executed test binary that logs in
// over shared memory and waits to be killed; it does nothing in a normal
// run.
func TestShmHelperPeer(t *testing.T) {
	dir := os.Getenv(shmPeerEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	c, err := client.DialShm(context.Background(), dir, "tokA", client.Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	if _, err := c.Check(context.Background(), sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// TestShmClientDies: a client process killed mid-session frees its slot
// for the next client.
func TestShmClientDies(t *testing.T) {
	srv, dir := startShm(t, Config{}, newFake(), ShmConfig{Slots: 1})
	cmd := exec.Command(os.Args[0], "-test.run=^TestShmHelperPeer$", "-test.count=1")
	cmd.Env = append(os.Environ(), shmPeerEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		_ = cmd.Process.Kill()
		t.Fatalf("peer said %q", sc.Text())
	}
	if _, err := client.DialShm(ctx5(t), dir, "adm", client.Options{}); !errors.Is(err, client.ErrNoShmSlot) {
		t.Fatalf("slot held by the peer: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	var c *client.Conn
	waitFor(t, "the dead client's slot", func() bool {
		c, err = client.DialShm(ctx5(t), dir, "adm", client.Options{})
		return err == nil
	})
	defer c.Close()
	if _, err := c.Check(ctx5(t), sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.ShmClosed != 1 || st.ShmAccepted != 2 || st.Logins != 2 {
		t.Errorf("stats closed %d accepted %d logins %d", st.ShmClosed, st.ShmAccepted, st.Logins)
	}
}

func TestShmIdleTimeout(t *testing.T) {
	srv, dir := startShm(t, Config{IdleTimeout: 50 * time.Millisecond}, newFake(), ShmConfig{Slots: 1})
	r := dialRawShm(t, dir) // attaches, never logs in
	r.expectEnd()
	waitFor(t, "idle close counted", func() bool { st := srv.Stats(); return st.ShmIdleClosed == 1 && st.ShmClosed == 1 })
	c := dialShm(t, dir, "adm")
	for range 5 { // a session in use is not idle
		time.Sleep(20 * time.Millisecond)
		if _, err := c.Query(ctx5(t), 1); err != nil {
			t.Fatal(err)
		}
	}
}

// TestShmWriteTimeout: a client that pipelines requests but never reads the
// responses is disconnected after WriteTimeout.
func TestShmWriteTimeout(t *testing.T) {
	srv, dir := startShm(t, Config{WriteTimeout: 50 * time.Millisecond}, newFake(), ShmConfig{Slots: 1, RingBytes: 1 << 12})
	rc := shmLogin(t, dir, "adm")
	errs := make(chan error, 1)
	go func() {
		for i := uint64(1); ; i++ {
			if err := rc.WriteFrame(checkFrame(i)); err != nil {
				errs <- err
				return
			}
		}
	}()
	waitFor(t, "write timeout", func() bool { return srv.Stats().ShmWriteTimeouts == 1 })
	if err := <-errs; !errors.Is(err, shmring.ErrPeerClosed) {
		t.Fatalf("writer ended with %v", err)
	}
	c := dialShm(t, dir, "adm")
	if _, err := c.Check(ctx5(t), sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestShmSameVerdictAsTCP: both transports of one server give the same
// verdict for the same order.
func TestShmSameVerdictAsTCP(t *testing.T) {
	srv, addr := startServer(t, Config{}, newFake())
	dir := serveShm(t, srv, ShmConfig{Dir: t.TempDir(), Slots: 1})
	tc, sc := dial(t, addr, "tokA"), dialShm(t, dir, "tokA")
	ctx := ctx5(t)
	for i, oc := range []sbe.OrderCheck{
		{Account: 1, Instrument: 3, Side: sbe.SideBuy, Qty: 10, Price: 5},
		{Account: 2, Instrument: 9, Side: sbe.SideSell, Qty: 150, Price: 5},
		{Account: 3, Instrument: 1, Side: sbe.SideBuy, Qty: 1},
		{Account: 99, Instrument: 1, Side: sbe.SideBuy, Qty: 1},
	} {
		vt, err := tc.Check(ctx, oc)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := sc.Check(ctx, oc)
		if err != nil {
			t.Fatal(err)
		}
		vt.ReqID, vs.ReqID = 0, 0
		if vt != vs {
			t.Errorf("order %d: TCP %+v, shm %+v", i, vt, vs)
		}
	}
	st := srv.Stats()
	if st.Conns != 1 || st.ShmSessions != 1 || st.FramesIn != 5 || st.ShmFramesIn != 5 {
		t.Errorf("stats %+v", st)
	}
}

// shmLoggedIn is a shmring client logged in as firm A on a one-slot server
// without notices.
func shmLoggedIn(t testing.TB) *shmring.Conn {
	_, dir := startShm(t, Config{NoticeInterval: -1}, newFake(), ShmConfig{Slots: 1})
	return shmLogin(t, dir, "tokA")
}

// shmLogin claims slot 0 of dir with a bare shmring client and logs in.
func shmLogin(t testing.TB, dir, token string) *shmring.Conn {
	t.Helper()
	var c *shmring.Conn
	waitFor(t, "slot", func() bool {
		var err error
		c, err = shmring.Dial(filepath.Join(dir, ShmSlotName(0)))
		return err == nil
	})
	t.Cleanup(func() { _ = c.Close() })
	var lg sbe.Login
	copy(lg.Token[:], token)
	if err := c.WriteFrame(lg.AppendFrame(nil)); err != nil {
		t.Fatal(err)
	}
	if f, _, err := c.ReadFrame(make([]byte, sbe.MessageFrameBytesMax)); err != nil || f.Header.TemplateID != sbe.LoginAckTemplateID {
		t.Fatalf("login: template %d, %v", f.Header.TemplateID, err)
	}
	return c
}

// TestShmRoundTripAllocs: a whole OrderCheck → Verdict round trip over
// shared memory, server session included, allocates nothing.
func TestShmRoundTripAllocs(t *testing.T) {
	c := shmLoggedIn(t)
	oc := sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 5, Price: 10}
	allocs := testing.AllocsPerRun(1000, func() {
		oc.ReqID++
		v, err := c.Check(oc)
		if err != nil || v.PostTradeInitialMargin != 501 {
			t.Fatalf("%+v %v", v, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per round trip, want 0", allocs)
	}
}

// BenchmarkShmCheckRaw is the round trip of one OrderCheck at a time over
// shared memory through the verdict server, with shmring's synchronous
// Check on the client side (no client goroutines).
func BenchmarkShmCheckRaw(b *testing.B) {
	c := shmLoggedIn(b)
	rec := latency.NewRecorder()
	oc := sbe.OrderCheck{Account: 1, Instrument: 1, Side: sbe.SideBuy, Qty: 5, Price: 10}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		oc.ReqID++
		t0 := time.Now()
		if _, err := c.Check(oc); err != nil {
			b.Fatal(err)
		}
		rec.Record(time.Since(t0).Nanoseconds())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
}

// BenchmarkShmCheckClient is the same round trip through the client
// library's Conn.Check (its reader goroutine hands each answer over).
func BenchmarkShmCheckClient(b *testing.B) {
	_, dir := startShm(b, Config{NoticeInterval: -1}, newFake(), ShmConfig{Slots: 1})
	c := dialShm(b, dir, "adm")
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64(rec.Percentile(50)), "p50-ns")
	b.ReportMetric(float64(rec.Percentile(99)), "p99-ns")
}

// FuzzShmSession writes arbitrary bytes as one ring record into a live
// shared-memory session and checks that each gets exactly one well-formed
// response (a request with a readable reqId gets it echoed) and that the
// session survives everything but a denied Login.
func FuzzShmSession(f *testing.F) {
	var lg sbe.Login
	copy(lg.Token[:], "tokA")
	f.Add(lg.AppendFrame(nil))
	f.Add((&sbe.OrderCheck{ReqID: 1, Account: 1, Instrument: 2, Side: sbe.SideBuy, Qty: 5}).AppendFrame(nil))
	f.Add((&sbe.Fill{ReqID: 3, Account: 2, Instrument: 1, Side: sbe.SideSell, Qty: 1, ExecID: 9}).AppendFrame(nil))
	f.Add([]byte{0, 0, 0, 14, 0xEB, 0x50, 0, 0, 0, 0, 0x11, 0xBA, 1, 0})
	f.Add([]byte{0, 0, 0, 5, 0xEB, 0x50})
	_, dir := startShm(f, Config{NoticeInterval: -1}, newFake(), ShmConfig{Slots: 1, RingBytes: shmring.RingBytesMin})
	var r *rawShm
	f.Cleanup(func() {
		if r != nil {
			r.close()
		}
	})
	f.Fuzz(func(t *testing.T, rec []byte) {
		if len(rec) == 0 || len(rec) > sbe.MessageFrameBytesMax {
			return // not a record shmring lets through: the ring is poisoned
		}
		if r == nil {
			r = openRawShm(t, dir)
			r.login("adm")
		}
		r.t = t
		r.write(rec)
		resp := r.read()
		req, _, reqErr := sbe.ParseFrame(rec, sbe.MessageFrameBytesMax)
		switch resp.Header.TemplateID {
		case sbe.LoginAckTemplateID:
			var ack sbe.LoginAck
			_ = ack.DecodeBlock(resp.Block)
			if ack.Status != sbe.LoginStatusOK {
				r.expectEnd()
				r.close()
				r = nil
			}
			return
		case sbe.VerdictTemplateID, sbe.AccountStatusTemplateID, sbe.AckTemplateID:
			if reqErr != nil {
				t.Fatalf("answered a malformed record (%v) with template %d", reqErr, resp.Header.TemplateID)
			}
		case sbe.ErrorTemplateID:
			var e sbe.Error
			_ = e.DecodeBlock(resp.Block)
			if !e.Code.Valid() || e.Code == sbe.ErrorCodeNone {
				t.Fatalf("error code %d", e.Code)
			}
			return
		default:
			t.Fatalf("server wrote template %d", resp.Header.TemplateID)
		}
		if got, want := binary.LittleEndian.Uint64(resp.Block), binary.LittleEndian.Uint64(req.Block); got != want {
			t.Fatalf("reqId %d echoed as %d", want, got)
		}
	})
}
