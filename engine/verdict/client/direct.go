package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
)

// ErrRingFull reports a Direct.Send that found the request ring full: the
// server is that far behind. Nothing was written; Poll the responses and
// send again.
var ErrRingFull = errors.New("verdict client: request ring full")

// Direct is a shared-memory session driven entirely by its caller, for a
// matching engine or load generator that wants one goroutine and no
// hand-offs: Send writes a request straight into the server's request
// ring, and Poll takes the next frame off the response ring if one is
// there. It starts no goroutine, takes no lock and never waits (only
// DialShmDirect waits, for the Login answer); Send and Poll of an
// OrderCheck and its Verdict do not allocate.
//
// Responses come back in request order. MarginNotice pushes are returned
// by Poll in line with responses (TemplateID sbe.MarginNoticeTemplateID,
// ReqID 0, the notice in Response.Notice); nothing is dropped, so a caller
// must keep polling or the server's response ring fills and it stops
// serving this session.
//
// Direct is not safe for concurrent use: one goroutine calls its methods.
// The one exception the rings allow is one goroutine calling Send while
// another calls Poll; Close may be called from any goroutine.
type Direct struct {
	sc        *shmring.Conn
	sessionID uint64
	wbuf      []byte // Send-owned
	rbuf      []byte // Poll-owned
	rerr      error  // why Poll stopped (Poll-owned)
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
	return &Direct{sc: sc, sessionID: sessionID, wbuf: make([]byte, 0, sbe.MessageFrameBytesMax), rbuf: rbuf}, nil
}

// SessionID returns the id the server gave this session.
func (d *Direct) SessionID() uint64 { return d.sessionID }

// Send writes the request m (OrderCheck, AccountQuery or Fill, carrying
// the caller's reqId; any value is echoed) into the request ring now. It
// returns ErrRingFull when the ring has no room, ErrClosed after Close,
// and shmring.ErrPeerClosed or shmring.ErrPeerDead when the server is gone.
func (d *Direct) Send(m sbe.Message) error {
	d.wbuf = m.AppendFrame(d.wbuf[:0])
	ok, err := d.sc.TryWriteFrame(d.wbuf)
	if err != nil {
		if errors.Is(err, shmring.ErrClosed) {
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
// Close, shmring.ErrPeerClosed or shmring.ErrPeerDead once the server is
// gone and its frames are read, and ErrProtocol when the server breaks
// the protocol; after an error every later Poll returns it, and the
// caller should Close.
func (d *Direct) Poll(r *Response) (bool, error) {
	if d.rerr != nil {
		return false, d.rerr
	}
	f, n, ok, err := d.sc.TryReadFrame(d.rbuf)
	if err != nil {
		switch {
		case errors.Is(err, shmring.ErrClosed):
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

// Close ends the session and frees its slot for the next client (the
// server re-creates the slot file). It is safe to call more than once.
func (d *Direct) Close() error { return d.sc.Close() }
