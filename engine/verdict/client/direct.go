package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/busypoll"
	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
)

// ErrRingFull reports a Direct.Send that found no room for the request:
// the request ring (shared memory) or the socket's send buffer (TCP) is
// full, so the server is that far behind. Nothing was written; Poll the
// responses and send again.
var ErrRingFull = errors.New("verdict client: request ring full")

// Direct is a session driven entirely by its caller, for a matching engine
// or load generator that wants one goroutine and no hand-offs: Send writes
// a request straight into the server's request ring (shared memory,
// DialShmDirect) or socket (TCP, DialDirect), and Poll takes the next
// frame off the response ring or out of the socket if one is there. It
// starts no goroutine, takes no lock and never waits (only the Dial
// functions wait, for the Login answer); Send and Poll of an OrderCheck and
// its Verdict do not allocate.
//
// Responses come back in request order. MarginNotice pushes are returned
// by Poll in line with responses (TemplateID sbe.MarginNoticeTemplateID,
// ReqID 0, the notice in Response.Notice); nothing is dropped, so a caller
// must keep polling or the server's response queue fills and it stops
// serving this session.
//
// Direct is not safe for concurrent use: one goroutine calls its methods.
// The one exception is one goroutine calling Send while another calls
// Poll, over shared memory only; Close may be called from any goroutine.
type Direct struct {
	link      directLink
	sessionID uint64
	wbuf      []byte // Send-owned
	rbuf      []byte // Poll-owned
	rerr      error  // why Poll stopped (Poll-owned)
}

// directLink is the transport under a Direct: calls that never wait.
type directLink interface {
	// trySend writes one whole frame, or returns false (nil error) with
	// nothing written when there is no room now.
	trySend(frame []byte) (bool, error)
	// tryRecv returns the next whole frame (ok), or ok false when none is
	// there now. n > 0 with an error: a malformed frame.
	tryRecv(buf []byte) (f sbe.Frame, n int, ok bool, err error)
	close() error
}

// DialShmDirect claims a free slot file in dir exactly as DialShm does,
// logs in with token (ctx bounds the wait for the answer) and returns the
// session. It fails with ErrToken, ErrNoShmSlot, ErrLoginDenied, a
// *ServerError, or ctx's error.
func DialShmDirect(ctx context.Context, dir, token string) (*Direct, error) {
	if _, err := prepare(token, Options{}); err != nil {
		return nil, err
	}
	sc, err := claimShmSlot(ctx, dir)
	if err != nil {
		return nil, err
	}
	rbuf := make([]byte, sbe.MessageFrameBytesMax)
	sessionID, err := handshake(ctx, &shmTransport{c: sc}, token, rbuf)
	if err != nil {
		return nil, err
	}
	return &Direct{link: shmLink{sc}, sessionID: sessionID, wbuf: make([]byte, 0, sbe.MessageFrameBytesMax), rbuf: rbuf}, nil
}

// DialDirect connects to addr over TCP (TCP_NODELAY), logs in with token
// (ctx bounds the connection and the wait for the answer) and returns the
// session. Its Send writes each request with one non-blocking system call
// and its Poll reads whatever the socket holds without waiting. It fails
// as Dial does.
func DialDirect(ctx context.Context, addr, token string) (*Direct, error) {
	if _, err := prepare(token, Options{}); err != nil {
		return nil, err
	}
	nc, pc, err := dialPolled(ctx, addr)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(nc, sbe.MessageFrameBytesMax)
	tr := &tcpTransport{nc: nc, br: br, bw: bufio.NewWriterSize(nc, sbe.MessageFrameBytesMax),
		frameBytesMax: sbe.MessageFrameBytesMax}
	rbuf := make([]byte, sbe.MessageFrameBytesMax)
	sessionID, err := handshake(ctx, tr, token, rbuf)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	l := &tcpLink{pc: pc, in: make([]byte, directInBytes), out: make([]byte, 0, sbe.MessageFrameBytesMax)}
	// Whatever the handshake's reader took beyond the LoginAck (a notice
	// pushed at once) is the start of the stream.
	l.w = copy(l.in, bufferedBytes(br))
	return &Direct{link: l, sessionID: sessionID, wbuf: make([]byte, 0, sbe.MessageFrameBytesMax), rbuf: rbuf}, nil
}

// dialPolled connects to addr as dialTCP does and wraps the connection
// for non-blocking reads and writes.
func dialPolled(ctx context.Context, addr string) (net.Conn, *busypoll.Conn, error) {
	nc, err := dialTCP(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	pc, err := busypoll.NewConn(nc, nil)
	if err != nil {
		_ = nc.Close()
		return nil, nil, err
	}
	return nc, pc, nil
}

// bufferedBytes returns the bytes br holds without reading more.
func bufferedBytes(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Buffered())
	return b
}

// SessionID returns the id the server gave this session.
func (d *Direct) SessionID() uint64 { return d.sessionID }

// Send writes the request m (OrderCheck, AccountQuery or Fill, carrying
// the caller's reqId; any value is echoed) into the request ring now. It
// returns ErrRingFull when the ring has no room, ErrClosed after Close,
// and shmring.ErrPeerClosed or shmring.ErrPeerDead when the server is gone.
func (d *Direct) Send(m sbe.Message) error {
	d.wbuf = m.AppendFrame(d.wbuf[:0])
	ok, err := d.link.trySend(d.wbuf)
	if err != nil {
		if errors.Is(err, shmring.ErrClosed) || errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		return err
	}
	if !ok {
		return ErrRingFull
	}
	return nil
}

// Poll stores the next queued response or notice in r and returns true,
// or returns false at once when the server has queued nothing. Only
// TemplateID, ReqID and the field TemplateID names are written; r's other
// fields keep what they held. An Error frame is a response like any other
// (r.Err() gives it as a *ServerError). Poll fails with ErrClosed after
// Close; once the server is gone and its frames are read, with
// shmring.ErrPeerClosed or shmring.ErrPeerDead (shared memory) or io.EOF
// or the socket's error (TCP); and with ErrProtocol when the server breaks
// the protocol. After an error every later Poll returns it, and the
// caller should Close. Over TCP, Poll also finishes writing a request
// Send could only write in part.
func (d *Direct) Poll(r *Response) (bool, error) {
	if d.rerr != nil {
		return false, d.rerr
	}
	f, n, ok, err := d.link.tryRecv(d.rbuf)
	if err != nil {
		switch {
		case errors.Is(err, shmring.ErrClosed) || errors.Is(err, net.ErrClosed):
			err = ErrClosed
		case n > 0 || errors.Is(err, sbe.ErrBufferTooSmall): // a malformed or oversized frame
			err = fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		d.rerr = err
		return false, err
	}
	if !ok {
		return false, nil
	}
	if err := decodeResponse(f, r); err != nil {
		d.rerr = err
		return false, err
	}
	return true, nil
}

// Close ends the session (over shared memory it frees the slot for the
// next client; the server re-creates the slot file). It is safe to call
// more than once.
func (d *Direct) Close() error { return d.link.close() }

// shmLink is a Direct over a shmring session file.
type shmLink struct{ sc *shmring.Conn }

func (l shmLink) trySend(frame []byte) (bool, error) { return l.sc.TryWriteFrame(frame) }

func (l shmLink) tryRecv(buf []byte) (sbe.Frame, int, bool, error) { return l.sc.TryReadFrame(buf) }

func (l shmLink) close() error { return l.sc.Close() }

// directInBytes sizes a TCP Direct's receive buffer: one non-blocking read
// takes up to this many bytes of responses.
const directInBytes = 64 << 10

// tcpLink is a Direct over a TCP connection: non-blocking reads into in
// (frames are parsed in place, in[r:w] unread), non-blocking writes with
// the unwritten tail of a frame kept in out and finished by later calls.
type tcpLink struct {
	pc     *busypoll.Conn
	in     []byte
	r, w   int
	out    []byte
	closed atomic.Bool
}

// push writes what is left of a partly written frame; true when none is.
func (l *tcpLink) push() (bool, error) {
	if len(l.out) == 0 {
		return true, nil
	}
	n, err := l.pc.TryWrite(l.out)
	if err != nil {
		return false, err
	}
	l.out = l.out[:copy(l.out, l.out[n:])]
	return len(l.out) == 0, nil
}

func (l *tcpLink) trySend(frame []byte) (bool, error) {
	if done, err := l.push(); !done || err != nil {
		return false, err
	}
	n, err := l.pc.TryWrite(frame)
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil
	}
	// The frame is committed: its tail goes out on the next calls.
	l.out = append(l.out, frame[n:]...)
	return true, nil
}

func (l *tcpLink) tryRecv([]byte) (sbe.Frame, int, bool, error) {
	if _, err := l.push(); err != nil {
		return sbe.Frame{}, 0, false, err
	}
	for {
		f, n, err := sbe.ParseFrame(l.in[l.r:l.w], sbe.MessageFrameBytesMax)
		if err != nil {
			return sbe.Frame{}, max(n, 1), false, err
		}
		if n > 0 {
			l.r += n
			return f, n, true, nil
		}
		if len(l.in)-l.w < sbe.MessageFrameBytesMax {
			l.w = copy(l.in, l.in[l.r:l.w])
			l.r = 0
		}
		m, err := l.pc.TryRead(l.in[l.w:])
		if err != nil {
			return sbe.Frame{}, 0, false, err
		}
		if m == 0 {
			return sbe.Frame{}, 0, false, nil
		}
		l.w += m
	}
}

func (l *tcpLink) close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.pc.Close()
}
