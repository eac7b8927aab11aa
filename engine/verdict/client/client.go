// Package client is the Go client of Ballast's binary verdict protocol
// (DESIGN §5.2), for matching engines and trading firms.
//
// Dial connects over TCP and logs in; DialShm does the same over the
// same-host shared-memory transport (a free slot file of the server's
// ServeShm directory). Both return the same *Conn, so callers do not depend
// on the transport. A Conn then serves two styles of use, which may be
// mixed:
//
//   - Request/response: Check, Query and Fill send one request and wait for
//     its answer; any number of goroutines may call them at once, and
//     answers are matched to callers by reqId. These calls assign reqIds with
//     the top bit set.
//   - Pipelined: Send queues requests carrying the caller's own reqIds (top
//     bit clear), Flush writes them, and Recv returns responses in the order
//     the server sends them (the server answers in request order).
//
// MarginNotice pushes arrive on Notices(); when that channel is full a notice
// is dropped and counted (NoticesDropped), so a slow notice reader never
// stalls responses.
//
// DialShmDirect is the low-latency alternative over shared memory: a
// *Direct has no goroutines of its own; its caller writes requests with
// Send and polls for responses and notices with Poll, on one goroutine.
package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/sbe"
)

// Defaults for zero Options fields.
const (
	// DefaultNoticesMax is the default Notices channel capacity.
	DefaultNoticesMax = 1024
	// DefaultRecvMax is the default Recv queue capacity.
	DefaultRecvMax = 4096
	// callerReqIDBit marks the reqIds Check, Query and Fill assign.
	callerReqIDBit = 1 << 63
)

// Options configures a Conn. Zero fields take the defaults.
type Options struct {
	// FrameBytesMax bounds an inbound frame (default and minimum
	// sbe.MessageFrameBytesMax).
	FrameBytesMax int
	// NoticesMax is the capacity of the Notices channel.
	NoticesMax int
	// RecvMax is the capacity of the queue Recv reads; when it is full the
	// reader waits, so pipelined users must keep calling Recv.
	RecvMax int
}

// Errors.
var (
	// ErrLoginDenied: the server refused the token.
	ErrLoginDenied = errors.New("verdict client: login denied")
	// ErrClosed: the connection is closed.
	ErrClosed = errors.New("verdict client: connection closed")
	// ErrProtocol: the server sent something the protocol does not allow.
	ErrProtocol = errors.New("verdict client: protocol violation")
	// ErrToken: the token is empty, longer than 64 bytes or holds a NUL.
	ErrToken = errors.New("verdict client: bad token")
)

// ServerError is an Error frame (or a Fill's non-zero Ack status).
type ServerError struct {
	ReqID uint64
	Code  sbe.ErrorCode
	Text  string
}

// Error implements error.
func (e *ServerError) Error() string {
	return fmt.Sprintf("verdict server: %s (code %d, reqId %d): %s", e.Code, uint16(e.Code), e.ReqID, e.Text)
}

// Response is one response frame: TemplateID says which field is set.
// Notice is set only by Direct.Poll, which returns MarginNotice pushes
// (ReqID 0) in line with responses; a Conn delivers them on Notices.
type Response struct {
	TemplateID uint16
	ReqID      uint64
	Verdict    sbe.Verdict
	Status     sbe.AccountStatus
	Ack        sbe.Ack
	Error      sbe.Error
	Notice     sbe.MarginNotice
}

// Err returns the response's error: a *ServerError for an Error frame or a
// Fill Ack with a non-zero status, else nil.
func (r *Response) Err() error {
	switch r.TemplateID {
	case sbe.ErrorTemplateID:
		return &ServerError{ReqID: r.ReqID, Code: r.Error.Code, Text: cString(r.Error.Text[:])}
	case sbe.AckTemplateID:
		if r.Ack.Status != 0 {
			return &ServerError{ReqID: r.ReqID, Code: sbe.ErrorCode(r.Ack.Status), Text: "fill refused"}
		}
	}
	return nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Conn is a logged-in connection.
type Conn struct {
	tr        transport
	sessionID uint64

	wmu  sync.Mutex
	wbuf []byte

	nextReq atomic.Uint64
	pmu     sync.Mutex
	pending map[uint64]chan Response

	recv           chan Response
	notices        chan sbe.MarginNotice
	noticesDropped atomic.Uint64

	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

var chanPool = sync.Pool{New: func() any { return make(chan Response, 1) }}

// Dial connects to addr over TCP, logs in with token and starts the
// reader.
func Dial(ctx context.Context, addr, token string, opts Options) (*Conn, error) {
	opts, err := prepare(token, opts)
	if err != nil {
		return nil, err
	}
	nc, err := dialTCP(ctx, addr)
	if err != nil {
		return nil, err
	}
	tr := &tcpTransport{nc: nc, br: bufio.NewReaderSize(nc, opts.FrameBytesMax),
		bw: bufio.NewWriterSize(nc, tcpWriteBufferBytes), frameBytesMax: opts.FrameBytesMax}
	c, err := login(ctx, tr, token, opts)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// dialTCP connects to addr with TCP_NODELAY; ctx's deadline, if any, is
// the connection's until the caller clears it after the login.
func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	return nc, nil
}

// prepare validates token and fills opts' defaults.
func prepare(token string, opts Options) (Options, error) {
	if token == "" || len(token) > len(sbe.Login{}.Token) {
		return opts, ErrToken
	}
	for i := 0; i < len(token); i++ {
		if token[i] == 0 {
			return opts, ErrToken
		}
	}
	if opts.FrameBytesMax < sbe.MessageFrameBytesMax {
		opts.FrameBytesMax = sbe.MessageFrameBytesMax
	}
	if opts.NoticesMax <= 0 {
		opts.NoticesMax = DefaultNoticesMax
	}
	if opts.RecvMax <= 0 {
		opts.RecvMax = DefaultRecvMax
	}
	return opts, nil
}

// login logs in over tr (see handshake) and starts the reader. tr is
// closed on failure.
func login(ctx context.Context, tr transport, token string, opts Options) (*Conn, error) {
	buf := make([]byte, opts.FrameBytesMax)
	sessionID, err := handshake(ctx, tr, token, buf)
	if err != nil {
		return nil, err
	}
	c := &Conn{tr: tr, sessionID: sessionID,
		wbuf: make([]byte, 0, sbe.MessageFrameBytesMax), pending: map[uint64]chan Response{},
		recv: make(chan Response, opts.RecvMax), notices: make(chan sbe.MarginNotice, opts.NoticesMax),
		done: make(chan struct{})}
	go c.readLoop(buf)
	return c, nil
}

// handshake sends Login over tr and reads the answer into buf, returning
// the session id; ctx bounds the exchange (tr is closed when it is done
// first). tr is closed on failure.
func handshake(ctx context.Context, tr transport, token string, buf []byte) (uint64, error) {
	stop := context.AfterFunc(ctx, func() { _ = tr.close() })
	fail := func(err error) (uint64, error) {
		stop()
		_ = tr.close()
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	var lg sbe.Login
	copy(lg.Token[:], token)
	if err := tr.send(lg.AppendFrame(nil)); err != nil {
		return fail(err)
	}
	if err := tr.flush(); err != nil {
		return fail(err)
	}
	f, err := tr.recv(buf)
	if err != nil {
		return fail(err)
	}
	var ack sbe.LoginAck
	switch f.Header.TemplateID {
	case sbe.LoginAckTemplateID:
		_ = ack.DecodeBlock(f.Block)
	case sbe.ErrorTemplateID:
		var e sbe.Error
		_ = e.DecodeBlock(f.Block)
		return fail(&ServerError{ReqID: e.ReqID, Code: e.Code, Text: cString(e.Text[:])})
	default:
		return fail(fmt.Errorf("%w: template %d in answer to Login", ErrProtocol, f.Header.TemplateID))
	}
	if ack.Status != sbe.LoginStatusOK {
		return fail(ErrLoginDenied)
	}
	if !stop() {
		_ = tr.close()
		return 0, ctx.Err()
	}
	return ack.SessionID, nil
}

// SessionID returns the id the server gave this session.
func (c *Conn) SessionID() uint64 { return c.sessionID }

// Notices returns the channel of MarginNotice pushes; it is closed when the
// connection ends.
func (c *Conn) Notices() <-chan sbe.MarginNotice { return c.notices }

// NoticesDropped counts notices dropped because Notices was full.
func (c *Conn) NoticesDropped() uint64 { return c.noticesDropped.Load() }

// Err returns why the connection ended (nil while it is up).
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close closes the connection.
func (c *Conn) Close() error {
	c.shut(ErrClosed)
	return nil
}

func (c *Conn) shut(err error) {
	c.closeOnce.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		_ = c.tr.close()
		close(c.done)
	})
}

// decodeResponse decodes a validated server frame into r (every field
// but the decoded one is left as it was). A template the server may not
// send fails with ErrProtocol.
func decodeResponse(f sbe.Frame, r *Response) error {
	r.TemplateID = f.Header.TemplateID
	switch r.TemplateID {
	case sbe.VerdictTemplateID:
		_ = r.Verdict.DecodeBlock(f.Block)
		r.ReqID = r.Verdict.ReqID
	case sbe.AccountStatusTemplateID:
		_ = r.Status.DecodeBlock(f.Block)
		r.ReqID = r.Status.ReqID
	case sbe.AckTemplateID:
		_ = r.Ack.DecodeBlock(f.Block)
		r.ReqID = r.Ack.ReqID
	case sbe.ErrorTemplateID:
		_ = r.Error.DecodeBlock(f.Block)
		r.ReqID = r.Error.ReqID
	case sbe.MarginNoticeTemplateID:
		_ = r.Notice.DecodeBlock(f.Block)
		r.ReqID = 0
	default:
		return fmt.Errorf("%w: template %d from server", ErrProtocol, r.TemplateID)
	}
	return nil
}

func (c *Conn) readLoop(buf []byte) {
	defer close(c.notices)
	defer close(c.recv)
	for {
		f, err := c.tr.recv(buf)
		if err != nil {
			c.shut(err)
			return
		}
		var r Response
		if err := decodeResponse(f, &r); err != nil {
			c.shut(err)
			return
		}
		if r.TemplateID == sbe.MarginNoticeTemplateID {
			idle := len(c.notices) == 0 // its reader may be parked
			select {
			case c.notices <- r.Notice:
				if idle {
					c.tr.yield()
				}
			default:
				c.noticesDropped.Add(1)
			}
			continue
		}
		if r.ReqID&callerReqIDBit != 0 {
			c.pmu.Lock()
			ch, ok := c.pending[r.ReqID]
			delete(c.pending, r.ReqID)
			c.pmu.Unlock()
			if ok {
				ch <- r
				c.tr.yield()
			}
			continue // an abandoned call's answer is dropped
		}
		idle := len(c.recv) == 0 // Recv may be parked
		select {
		case c.recv <- r:
			if idle {
				c.tr.yield()
			}
		case <-c.done:
			return
		}
	}
}

// Send queues a request (OrderCheck, AccountQuery or Fill carrying the
// caller's reqId, top bit clear) without flushing. Over shared memory the
// request is in the server's ring when Send returns (Flush has nothing to
// do); over TCP it waits in a buffer for Flush.
func (c *Conn) Send(m sbe.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(m)
}

func (c *Conn) writeLocked(m sbe.Message) error {
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	c.wbuf = m.AppendFrame(c.wbuf[:0])
	if err := c.tr.send(c.wbuf); err != nil {
		c.shut(err)
		return err
	}
	return nil
}

// Flush writes every queued request.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.tr.flush(); err != nil {
		c.shut(err)
		return err
	}
	return nil
}

// Recv returns the next response to a Send request (or an Error frame the
// server sent with reqId 0), in the server's order.
func (c *Conn) Recv(ctx context.Context) (Response, error) {
	select {
	case r, ok := <-c.recv:
		if !ok {
			return Response{}, c.Err()
		}
		return r, nil
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
}

// call sends m with a fresh caller reqId (set by setID) and waits for its
// response.
func (c *Conn) call(ctx context.Context, m sbe.Message, setID func(uint64)) (Response, error) {
	id := c.nextReq.Add(1) | callerReqIDBit
	setID(id)
	ch := chanPool.Get().(chan Response)
	c.pmu.Lock()
	c.pending[id] = ch
	c.pmu.Unlock()
	c.wmu.Lock()
	err := c.writeLocked(m)
	if err == nil {
		if err = c.tr.flush(); err != nil {
			c.shut(err)
		}
	}
	c.wmu.Unlock()
	if err != nil {
		c.abandon(id)
		return Response{}, err
	}
	select {
	case r := <-ch:
		chanPool.Put(ch)
		return r, r.Err()
	case <-ctx.Done():
		c.abandon(id)
		return Response{}, ctx.Err()
	case <-c.done:
		c.abandon(id)
		return Response{}, c.Err()
	}
}

// abandon forgets a call; its channel is not reused (an answer may still
// land in it).
func (c *Conn) abandon(id uint64) {
	c.pmu.Lock()
	delete(c.pending, id)
	c.pmu.Unlock()
}

// Check asks for a pre-trade verdict (oc.ReqID is assigned).
func (c *Conn) Check(ctx context.Context, oc sbe.OrderCheck) (sbe.Verdict, error) {
	r, err := c.call(ctx, &oc, func(id uint64) { oc.ReqID = id })
	if err != nil {
		return sbe.Verdict{}, err
	}
	if r.TemplateID != sbe.VerdictTemplateID {
		return sbe.Verdict{}, fmt.Errorf("%w: template %d in answer to OrderCheck", ErrProtocol, r.TemplateID)
	}
	return r.Verdict, nil
}

// Query asks for an account's margin status.
func (c *Conn) Query(ctx context.Context, account uint64) (sbe.AccountStatus, error) {
	q := sbe.AccountQuery{Account: account}
	r, err := c.call(ctx, &q, func(id uint64) { q.ReqID = id })
	if err != nil {
		return sbe.AccountStatus{}, err
	}
	if r.TemplateID != sbe.AccountStatusTemplateID {
		return sbe.AccountStatus{}, fmt.Errorf("%w: template %d in answer to AccountQuery", ErrProtocol, r.TemplateID)
	}
	return r.Status, nil
}

// Fill books an execution; it returns nil once the server has made it
// durable, or a *ServerError carrying the refusal code (DUPLICATE_FILL, ...).
func (c *Conn) Fill(ctx context.Context, f sbe.Fill) error {
	r, err := c.call(ctx, &f, func(id uint64) { f.ReqID = id })
	if err != nil {
		return err
	}
	if r.TemplateID != sbe.AckTemplateID {
		return fmt.Errorf("%w: template %d in answer to Fill", ErrProtocol, r.TemplateID)
	}
	return nil
}
