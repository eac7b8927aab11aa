package verdict

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/busypoll"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// Service is what the server needs from the risk engine. Every method must be
// safe for concurrent use; Check and Status are on the hot path and should
// not allocate.
type Service interface {
	// Check fills v (ReqID and Account are already set) with the verdict on
	// order o.
	Check(o *sbe.OrderCheck, v *sbe.Verdict)
	// Status fills st (ReqID and Account are already set) with the
	// account's margin status, or returns a non-zero code (UNKNOWN_ACCOUNT,
	// INTERNAL).
	Status(account uint64, st *sbe.AccountStatus) sbe.ErrorCode
	// Fill books f durably and returns only once it is on stable storage
	// and applied, or returns a non-zero code (UNKNOWN_ACCOUNT,
	// UNKNOWN_INSTRUMENT, INVALID_FILL, DUPLICATE_FILL, INTERNAL).
	Fill(ctx context.Context, f *sbe.Fill) sbe.ErrorCode
	// FirmOf returns the firm owning account, false when it is unknown.
	FirmOf(account uint64) (string, bool)
	// Sweep returns the margin state changes since the previous call.
	Sweep() []sbe.MarginNotice
}

// Defaults for zero Config fields.
const (
	// DefaultConnsMax is the default connection limit.
	DefaultConnsMax = 256
	// DefaultPendingMax is the default per-connection queue, in frames.
	DefaultPendingMax = 4096
	// DefaultIdleTimeout is the default silence allowed on a connection.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultWriteTimeout is the default time a peer has to take a batch.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultNoticeInterval is the default Sweep polling period.
	DefaultNoticeInterval = 100 * time.Millisecond
	// DefaultFillTimeout is the default bound on one Fill's journal wait.
	DefaultFillTimeout = 5 * time.Second
	// DefaultReadBufferBytes is the default per-connection read buffer.
	DefaultReadBufferBytes = 64 << 10
)

// Bounds of Config.BusyPoll and Config.BusyPollers (busypoll's).
const (
	// BusyPollMax bounds Config.BusyPoll.
	BusyPollMax = busypoll.SpinMax
	// BusyPollersMax bounds Config.BusyPollers.
	BusyPollersMax = busypoll.SpinnersMax
)

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Tokens maps a bearer token to a role: "admin", "ops" or "firm:<id>".
	Tokens map[string]string
	// FrameBytesMax bounds an inbound frame; at least
	// sbe.MessageFrameBytesMax, which is also the default.
	FrameBytesMax int
	// ReadBufferBytes sizes each connection's bufio.Reader: one read
	// system call takes up to this many bytes of pipelined requests. At
	// least FrameBytesMax.
	ReadBufferBytes int
	// ConnsMax bounds concurrent connections; extra connections get an
	// Error INTERNAL frame ("connection limit") and are closed.
	ConnsMax int
	// PendingMax bounds the response and notice frames queued on one
	// connection; a full queue stops the reader (requests) or drops the
	// notice (pushes).
	PendingMax int
	// IdleTimeout closes a connection that sends nothing for this long
	// (also the time allowed to log in).
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose peer does not take a batch
	// of responses within this time.
	WriteTimeout time.Duration
	// NoticeInterval is how often Service.Sweep is polled; negative
	// disables notices.
	NoticeInterval time.Duration
	// FillTimeout bounds how long one Fill may wait for the journal.
	FillTimeout time.Duration
	// BusyPoll, when positive, makes a TCP connection's reader try its
	// socket without waiting for up to this long (at most
	// busypoll.SpinMax) before it parks in the network poller, so that a
	// connection whose requests keep coming is served without a wake-up
	// per request. It burns a core while it spins; BusyPollers bounds how
	// many readers may spin at once. Zero: readers park at once.
	BusyPoll time.Duration
	// BusyPollers bounds the readers spinning at once under BusyPoll
	// (default 1, at most busypoll.SpinnersMax).
	BusyPollers int
}

// Errors.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("verdict: invalid configuration")
	// ErrServerClosed is returned by Serve after Shutdown.
	ErrServerClosed = errors.New("verdict: server closed")
)

type roleKind uint8

const (
	roleAdmin roleKind = iota + 1
	roleOps
	roleFirm
)

type role struct {
	kind roleKind
	firm string
}

func parseRole(s string) (role, error) {
	switch {
	case s == "admin":
		return role{kind: roleAdmin}, nil
	case s == "ops":
		return role{kind: roleOps}, nil
	case strings.HasPrefix(s, "firm:") && len(s) > len("firm:"):
		return role{kind: roleFirm, firm: s[len("firm:"):]}, nil
	}
	return role{}, fmt.Errorf("%w: role %q (want admin, ops or firm:<id>)", ErrConfig, s)
}

type tokenRole struct {
	token []byte
	role  role
}

// Server serves the verdict protocol on any number of listeners.
type Server struct {
	cfg Config
	svc Service
	// tokens is the token set, swapped whole by SetTokens; Login loads it
	// once.
	tokens atomic.Pointer[[]tokenRole]
	stats  counters
	// poll is the TCP readers' shared busy-polling budget (Config.BusyPoll).
	poll *busypoll.Budget

	mu        sync.Mutex
	sessions  map[*session]struct{}
	listeners map[net.Listener]struct{}
	shmSlots  map[*shmSlot]struct{}
	shmSess   map[*shmSession]struct{}
	closed    bool
	nextID    uint64

	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

// NewServer validates cfg and returns a server over svc; its notifier starts
// at once.
func NewServer(cfg Config, svc Service) (*Server, error) {
	if svc == nil {
		return nil, fmt.Errorf("%w: nil Service", ErrConfig)
	}
	if cfg.FrameBytesMax == 0 {
		cfg.FrameBytesMax = sbe.MessageFrameBytesMax
	}
	if cfg.ReadBufferBytes == 0 {
		cfg.ReadBufferBytes = max(DefaultReadBufferBytes, cfg.FrameBytesMax)
	}
	if cfg.ConnsMax == 0 {
		cfg.ConnsMax = DefaultConnsMax
	}
	if cfg.PendingMax == 0 {
		cfg.PendingMax = DefaultPendingMax
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.NoticeInterval == 0 {
		cfg.NoticeInterval = DefaultNoticeInterval
	}
	if cfg.FillTimeout == 0 {
		cfg.FillTimeout = DefaultFillTimeout
	}
	switch {
	case cfg.FrameBytesMax < sbe.MessageFrameBytesMax:
		return nil, fmt.Errorf("%w: FrameBytesMax %d under %d", ErrConfig, cfg.FrameBytesMax, sbe.MessageFrameBytesMax)
	case cfg.ReadBufferBytes < cfg.FrameBytesMax:
		return nil, fmt.Errorf("%w: ReadBufferBytes %d under FrameBytesMax %d", ErrConfig, cfg.ReadBufferBytes, cfg.FrameBytesMax)
	case cfg.ConnsMax < 0, cfg.PendingMax < 1, cfg.IdleTimeout < 0, cfg.WriteTimeout < 0, cfg.FillTimeout < 0:
		return nil, fmt.Errorf("%w: negative bound", ErrConfig)
	}
	if cfg.BusyPoll > 0 && cfg.BusyPollers == 0 {
		cfg.BusyPollers = 1
	}
	poll, err := busypoll.NewBudget(cfg.BusyPoll, cfg.BusyPollers)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s := &Server{cfg: cfg, svc: svc, poll: poll, sessions: map[*session]struct{}{}, listeners: map[net.Listener]struct{}{},
		shmSlots: map[*shmSlot]struct{}{}, shmSess: map[*shmSession]struct{}{}, stop: make(chan struct{})}
	tokens, err := parseTokens(cfg.Tokens)
	if err != nil {
		return nil, err
	}
	s.tokens.Store(&tokens)
	if cfg.NoticeInterval > 0 {
		s.wg.Add(1)
		go s.notifier()
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown (it then returns
// ErrServerClosed) or an accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.accept(nc)
	}
}

func (s *Server) accept(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	s.mu.Lock()
	if s.closed || (s.cfg.ConnsMax > 0 && len(s.sessions) >= s.cfg.ConnsMax) {
		closing := s.closed
		s.mu.Unlock()
		s.stats.connsRefused.Add(1)
		s.stats.errors[sbe.ErrorCodeInternal].Add(1)
		s.stats.framesOut.Add(1)
		e := sbe.Error{Code: sbe.ErrorCodeInternal}
		if closing {
			copy(e.Text[:], "server closing")
		} else {
			copy(e.Text[:], "connection limit")
		}
		var buf [sbe.ErrorFrameBytes]byte
		_, _ = e.EncodeFrame(buf[:])
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write(buf[:])
		_ = nc.Close()
		return
	}
	s.nextID++
	ss := newSession(s, nc, s.nextID)
	s.sessions[ss] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	s.stats.connsAccepted.Add(1)
	go ss.readLoop()
	go ss.writeLoop()
}

func (s *Server) remove(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// Shutdown stops accepting, closes every connection, every shared-memory
// slot (removing its file) and the notifier, and waits for their goroutines
// or ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	for ss := range s.sessions {
		ss.abort()
	}
	slots := make([]*shmSlot, 0, len(s.shmSlots))
	for sl := range s.shmSlots {
		slots = append(slots, sl)
	}
	s.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() {
		// Closing an Endpoint waits for its blocked calls to return (an
		// idle Accept looks every few milliseconds), so the slots close
		// in parallel, beside ctx rather than before it.
		var closing sync.WaitGroup
		for _, sl := range slots {
			closing.Go(func() { sl.closeEndpoint(nil) })
		}
		closing.Wait()
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parseTokens validates a token → role map and returns it as a list.
func parseTokens(m map[string]string) ([]tokenRole, error) {
	tokens := make([]tokenRole, 0, len(m))
	for tok, r := range m {
		if tok == "" || len(tok) > len(sbe.Login{}.Token) || strings.IndexByte(tok, 0) >= 0 {
			return nil, fmt.Errorf("%w: token must be 1..64 bytes without NUL", ErrConfig)
		}
		ro, err := parseRole(r)
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, tokenRole{token: []byte(tok), role: ro})
	}
	return tokens, nil
}

// SetTokens replaces the token set (bearer token → role, as
// Config.Tokens) for the logins that follow; sessions already logged in
// keep the role they logged in with. The whole set is validated first: on
// an error nothing changes. It is safe to call while the server runs.
func (s *Server) SetTokens(tokens map[string]string) error {
	parsed, err := parseTokens(tokens)
	if err != nil {
		return err
	}
	s.tokens.Store(&parsed)
	return nil
}

// login returns the role of token (constant-time comparison against every
// configured token).
func (s *Server) login(token []byte) (role, bool) {
	var found role
	ok := 0
	tokens := *s.tokens.Load()
	for i := range tokens {
		if subtle.ConstantTimeCompare(tokens[i].token, token) == 1 {
			found, ok = tokens[i].role, 1
		}
	}
	return found, ok == 1
}

// noticeTarget is a session of either transport, as the notifier sees it.
type noticeTarget interface {
	// loggedRole returns the session's role once it has logged in.
	loggedRole() (role, bool)
	// pushNotice queues a MarginNotice frame unless the session's queue is
	// full or the session is gone; it never waits.
	pushNotice(frame []byte) bool
}

// notifier polls Sweep and fans notices out.
func (s *Server) notifier() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.NoticeInterval)
	defer t.Stop()
	var frame [sbe.MarginNoticeFrameBytes]byte
	var targets []noticeTarget
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		notices := s.svc.Sweep()
		if len(notices) == 0 {
			continue
		}
		s.mu.Lock()
		targets = targets[:0]
		for ss := range s.sessions {
			targets = append(targets, ss)
		}
		for ss := range s.shmSess {
			targets = append(targets, ss)
		}
		s.mu.Unlock()
		for i := range notices {
			n := &notices[i]
			firm, known := s.svc.FirmOf(n.Account)
			if _, err := n.EncodeFrame(frame[:]); err != nil {
				panic("verdict: MarginNotice frame buffer too small")
			}
			for _, ss := range targets {
				r, ok := ss.loggedRole()
				if !ok || (r.kind == roleFirm && (!known || r.firm != firm)) {
					continue
				}
				if ss.pushNotice(frame[:]) {
					s.stats.noticesSent.Add(1)
				} else {
					s.stats.noticesDropped.Add(1)
				}
			}
		}
		clear(targets)
	}
}

// exchange is the transport-independent half of a session: its login state
// and role, and the request and response scratch of its request handler.
// One goroutine (the session's reader) calls serve and refuse; loggedRole
// may be called from any goroutine.
type exchange struct {
	srv *Server
	id  uint64

	roleMu sync.Mutex
	role   role
	logged atomic.Bool

	// beforeWait, when set, runs before a Fill blocks on the journal (TCP
	// writes the responses served so far, so they need not wait for the
	// fsync).
	beforeWait func()

	// Request and response scratch: passing them by pointer through the
	// Service interface, or returning them as sbe.Message, would otherwise
	// move them to the heap on every request.
	oc   sbe.OrderCheck
	v    sbe.Verdict
	q    sbe.AccountQuery
	st   sbe.AccountStatus
	fl   sbe.Fill
	ack  sbe.Ack
	lack sbe.LoginAck
	er   sbe.Error
}

// session is one TCP connection.
type session struct {
	exchange
	nc net.Conn

	mu        sync.Mutex
	cond      sync.Cond
	out       []byte // queued frames
	outFrames int
	finishing bool   // writer closes the connection once out is drained
	writing   bool   // a write is in progress (by the writer or the reader)
	free      []byte // the second buffer while no write is in progress
	dead      bool   // connection closed; enqueue drops
	wake      chan struct{}

	rbuf []byte // reader-owned frame buffer
}

func newSession(s *Server, nc net.Conn, id uint64) *session {
	queueBytes := min(s.cfg.PendingMax, 256) * sbe.MessageFrameBytesMax
	ss := &session{exchange: exchange{srv: s, id: id}, nc: nc, wake: make(chan struct{}, 1),
		out: make([]byte, 0, queueBytes), free: make([]byte, 0, queueBytes),
		rbuf: make([]byte, s.cfg.FrameBytesMax)}
	ss.cond.L = &ss.mu
	ss.beforeWait = ss.flush
	return ss
}

// loggedRole returns the session's role once it has logged in.
func (ex *exchange) loggedRole() (role, bool) {
	if !ex.logged.Load() {
		return role{}, false
	}
	ex.roleMu.Lock()
	r := ex.role
	ex.roleMu.Unlock()
	return r, true
}

func (ss *session) signal() {
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

// begin waits for room in the queue and returns with ss.mu held, or false
// (unlocked) when the connection is dead.
func (ss *session) begin() bool {
	ss.mu.Lock()
	for ss.outFrames >= ss.srv.cfg.PendingMax && !ss.dead {
		ss.signal()
		ss.cond.Wait()
	}
	if ss.dead {
		ss.mu.Unlock()
		return false
	}
	return true
}

// commit ends an enqueue begun by begin. The reader flushes its own
// responses (flush) once it has no whole request left to serve.
func (ss *session) commit() {
	ss.outFrames++
	ss.mu.Unlock()
}

// take claims the write token and the queued frames; with ss.mu held.
func (ss *session) take() (batch []byte, frames int) {
	batch, frames = ss.out, ss.outFrames
	ss.out, ss.free, ss.outFrames, ss.writing = ss.free[:0], nil, 0, true
	ss.cond.Broadcast()
	return batch, frames
}

// put writes a batch claimed by take and hands the token back; false when
// the connection failed.
func (ss *session) put(batch []byte, frames int) bool {
	if len(batch) > 0 {
		if ss.srv.cfg.WriteTimeout > 0 {
			_ = ss.nc.SetWriteDeadline(time.Now().Add(ss.srv.cfg.WriteTimeout))
		}
		if _, err := ss.nc.Write(batch); err != nil {
			ss.srv.stats.writeErrors.Add(1)
			ss.abort()
			return false
		}
		ss.srv.stats.framesOut.Add(uint64(frames))
		ss.srv.stats.writeBatches.Add(1)
	}
	ss.mu.Lock()
	ss.free, ss.writing = batch[:0], false
	more := ss.outFrames > 0 || ss.finishing
	ss.mu.Unlock()
	if more {
		ss.signal()
	}
	return true
}

// flush writes the queued frames from the reader's goroutine, saving the
// hand-off to the writer; when a write is already in progress its owner
// picks the frames up.
func (ss *session) flush() {
	ss.mu.Lock()
	if ss.writing || ss.dead || ss.outFrames == 0 {
		ss.mu.Unlock()
		return
	}
	batch, n := ss.take()
	ss.mu.Unlock()
	ss.put(batch, n)
}

// pushNotice queues a notice frame unless the queue is full; it never waits.
func (ss *session) pushNotice(frame []byte) bool {
	ss.mu.Lock()
	if ss.dead || ss.finishing || ss.outFrames >= ss.srv.cfg.PendingMax {
		ss.mu.Unlock()
		return false
	}
	ss.out = append(ss.out, frame...)
	ss.outFrames++
	ss.mu.Unlock()
	ss.signal()
	return true
}

// finish asks the writer to close the connection once the queue is drained.
func (ss *session) finish() {
	ss.mu.Lock()
	ss.finishing = true
	ss.mu.Unlock()
	ss.signal()
}

// abort closes the connection at once.
func (ss *session) abort() {
	ss.mu.Lock()
	ss.dead = true
	ss.cond.Broadcast()
	ss.mu.Unlock()
	_ = ss.nc.Close()
	ss.signal()
}

func (ss *session) writeLoop() {
	defer ss.srv.wg.Done()
	for {
		<-ss.wake
		ss.mu.Lock()
		if ss.dead {
			ss.mu.Unlock()
			return
		}
		if ss.writing {
			ss.mu.Unlock()
			continue // the owner signals again when it is done
		}
		if ss.outFrames == 0 {
			finishing := ss.finishing
			ss.mu.Unlock()
			if finishing {
				if tc, ok := ss.nc.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				ss.abort()
				return
			}
			continue
		}
		batch, n := ss.take()
		ss.mu.Unlock()
		if !ss.put(batch, n) {
			return
		}
	}
}

func (ss *session) readLoop() {
	s := ss.srv
	defer func() {
		s.remove(ss)
		s.stats.connsClosed.Add(1)
		s.wg.Done()
	}()
	var src io.Reader = ss.nc
	if s.poll.Spins() {
		if pc, err := busypoll.NewConn(ss.nc, s.poll); err == nil {
			src = pc
		}
	}
	br := bufio.NewReaderSize(src, s.cfg.ReadBufferBytes)
	for {
		if s.cfg.IdleTimeout > 0 && br.Buffered() == 0 {
			_ = ss.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		if !ss.step(br) {
			ss.finish()
			return
		}
		if !frameBuffered(br) {
			ss.flush() // the next read may block: answer what was served
		}
	}
}

// frameBuffered reports whether br holds the whole next frame (or at least
// a SOFH that ReadFrame rejects without reading further).
func frameBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n < sbe.SOFHBytes {
		return false
	}
	b, _ := br.Peek(sbe.SOFHBytes)
	return int64(binary.BigEndian.Uint32(b)) <= int64(n)
}

// step reads and serves one frame; false ends the connection (end of
// stream, read error, a desynchronising protocol error or a denied Login).
func (ss *session) step(br *bufio.Reader) bool {
	s := ss.srv
	f, err := sbe.ReadFrame(br, ss.rbuf, s.cfg.FrameBytesMax)
	if err != nil {
		code, proto := sbe.CodeOf(err)
		if !proto {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.stats.idleClosed.Add(1)
			}
			return false
		}
		s.stats.framesIn.Add(1)
		ss.sendError(reqIDOf(f), code, err.Error())
		// A SOFH-level error leaves no frame header behind: the stream
		// is out of step.
		return !(code == sbe.ErrorCodeEncodingType || code == sbe.ErrorCodeFrameTooLong ||
			(code == sbe.ErrorCodeShortFrame && f.Header.TemplateID == 0 && len(f.Block) == 0))
	}
	s.stats.framesIn.Add(1)
	return ss.handle(f)
}

// reqIDOf reads a best-effort reqId from a (possibly malformed) request.
func reqIDOf(f sbe.Frame) uint64 {
	switch f.Header.TemplateID {
	case sbe.OrderCheckTemplateID, sbe.AccountQueryTemplateID, sbe.FillTemplateID:
		if len(f.Block) >= 8 {
			return uint64(f.Block[0]) | uint64(f.Block[1])<<8 | uint64(f.Block[2])<<16 | uint64(f.Block[3])<<24 |
				uint64(f.Block[4])<<32 | uint64(f.Block[5])<<40 | uint64(f.Block[6])<<48 | uint64(f.Block[7])<<56
		}
	}
	return 0
}

// sendError queues an Error frame.
func (ss *session) sendError(reqID uint64, code sbe.ErrorCode, text string) {
	ss.send(ss.refuse(reqID, code, text))
}

// send queues one response; false when the connection is dead.
func (ss *session) send(m sbe.Message) bool {
	if !ss.begin() {
		return false
	}
	ss.out = m.AppendFrame(ss.out)
	ss.commit()
	return true
}

// handle serves one well-formed frame; false ends the connection.
func (ss *session) handle(f sbe.Frame) bool {
	resp, keep := ss.serve(f)
	return ss.send(resp) && keep
}

// refuse counts an Error frame and returns it (in the exchange's scratch).
func (ex *exchange) refuse(reqID uint64, code sbe.ErrorCode, text string) sbe.Message {
	ex.srv.stats.errors[codeIndex(code)].Add(1)
	ex.er = sbe.Error{ReqID: reqID, Code: code}
	copy(ex.er.Text[:], text)
	return &ex.er
}

// serve handles one well-formed frame and returns its response, which
// points into the exchange's scratch and is valid until the next call, and
// false when the session must end once the response is sent (a denied
// Login). Every frame gets exactly one response.
func (ex *exchange) serve(f sbe.Frame) (resp sbe.Message, keep bool) {
	s := ex.srv
	r, logged := ex.loggedRole()
	switch f.Header.TemplateID {
	case sbe.LoginTemplateID:
		if logged {
			return ex.refuse(0, sbe.ErrorCodeUnexpectedTemplate, "already logged in"), true
		}
		var lg sbe.Login
		_ = lg.DecodeBlock(f.Block)
		tok := lg.Token[:]
		for len(tok) > 0 && tok[len(tok)-1] == 0 {
			tok = tok[:len(tok)-1]
		}
		ro, ok := s.login(tok)
		ex.lack = sbe.LoginAck{Status: sbe.LoginStatusDenied}
		if ok {
			ex.roleMu.Lock()
			ex.role = ro
			ex.roleMu.Unlock()
			ex.logged.Store(true)
			ex.lack = sbe.LoginAck{Status: sbe.LoginStatusOK, SessionID: ex.id}
			s.stats.logins.Add(1)
		} else {
			s.stats.loginsDenied.Add(1)
		}
		return &ex.lack, ok
	case sbe.OrderCheckTemplateID, sbe.AccountQueryTemplateID, sbe.FillTemplateID:
		if !logged {
			return ex.refuse(reqIDOf(f), sbe.ErrorCodeNotLoggedIn, "log in first"), true
		}
	default:
		return ex.refuse(0, sbe.ErrorCodeUnexpectedTemplate, "not a request template"), true
	}
	switch f.Header.TemplateID {
	case sbe.OrderCheckTemplateID:
		oc, v := &ex.oc, &ex.v
		_ = oc.DecodeBlock(f.Block)
		*v = sbe.Verdict{ReqID: oc.ReqID, Account: oc.Account}
		if ex.allowed(r, oc.Account) {
			t0 := nanotime()
			s.svc.Check(oc, v)
			s.stats.checkNs.record(nanotime() - t0)
			v.ReqID, v.Account = oc.ReqID, oc.Account
		} else {
			v.Decision, v.Reason = sbe.DecisionReject, sbe.ReasonNotAuthorised
		}
		s.stats.verdicts[reasonIndex(v.Reason)].Add(1)
		return v, true
	case sbe.AccountQueryTemplateID:
		q := &ex.q
		_ = q.DecodeBlock(f.Block)
		if !ex.allowed(r, q.Account) {
			return ex.refuse(q.ReqID, sbe.ErrorCodeNotAuthorised, "not authorised for this account"), true
		}
		st := &ex.st
		*st = sbe.AccountStatus{ReqID: q.ReqID, Account: q.Account}
		if code := s.svc.Status(q.Account, st); code != sbe.ErrorCodeNone {
			return ex.refuse(q.ReqID, code, "account status unavailable"), true
		}
		st.ReqID, st.Account = q.ReqID, q.Account
		s.stats.queries.Add(1)
		return st, true
	default: // sbe.FillTemplateID
		fl := &ex.fl
		_ = fl.DecodeBlock(f.Block)
		code := sbe.ErrorCodeNone
		switch {
		case r.kind != roleAdmin: // fills are the exchange's: a firm reads and checks only
			code = sbe.ErrorCodeNotAuthorised
		default:
			if ex.beforeWait != nil {
				ex.beforeWait()
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.FillTimeout)
			code = s.svc.Fill(ctx, fl)
			cancel()
		}
		if code == sbe.ErrorCodeNone {
			s.stats.fillsApplied.Add(1)
		} else {
			s.stats.fillsRefused.Add(1)
			s.stats.errors[codeIndex(code)].Add(1)
		}
		ex.ack = sbe.Ack{ReqID: fl.ReqID, Status: uint8(code)}
		return &ex.ack, true
	}
}

// allowed reports whether role r may check orders on and query account
// (DESIGN §5.3's roles, as the HTTP API applies them): admin any account,
// a firm its own, ops none (ops is metrics, health and the dashboard).
func (ex *exchange) allowed(r role, account uint64) bool {
	switch r.kind {
	case roleAdmin:
		return true
	case roleFirm:
		firm, ok := ex.srv.svc.FirmOf(account)
		return ok && firm == r.firm
	}
	return false
}
