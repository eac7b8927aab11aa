package shmring

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"os"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// Conn is the client side of a session file.
type Conn struct {
	link
	wbuf [sbe.MessageFrameBytesMax]byte
	rbuf []byte
}

// ErrUnexpectedFrame reports a frame Check cannot match to its request: a
// Verdict for another reqId or a message that does not answer an
// OrderCheck.
var ErrUnexpectedFrame = errors.New("shmring: unexpected frame")

// RemoteError is a server's Error frame in answer to a Check.
type RemoteError struct {
	// ReqID is the request the server refused (0 if it could not read it).
	ReqID uint64
	// Code is the server's error code.
	Code sbe.ErrorCode
	// Text is the server's explanation.
	Text string
}

// Error implements error.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("shmring: server error %v for request %d: %s", e.Code, e.ReqID, e.Text)
}

// Dial maps the session file a server created at path and claims it as
// its one client. It fails with ErrLayout on a file that is not a valid
// session file, ErrPeerClosed or ErrPeerDead when the server is gone, and
// ErrInUse when another client holds the file.
func Dial(path string) (*Conn, error) {
	m, err := shm.Open(path, headerBytes)
	if err != nil {
		return nil, err
	}
	c := &Conn{}
	c.m = m
	c.sleepLimit = sleepDuration
	c.selfClosed, c.peerClosed = stateClientClosed, stateServerClosed
	if err := c.attach(); err != nil {
		m.Unmap()
		return nil, err
	}
	c.rbuf = make([]byte, c.frameBytesMax)
	return c, nil
}

// attach validates the header, maps the rings and claims the client slot.
func (c *Conn) attach() error {
	b := c.m.Bytes()
	mg, err := shm.Uint64(b, offMagic)
	if err != nil {
		return err
	}
	if mg.Load() != magic {
		return fmt.Errorf("%w: bad magic", ErrLayout)
	}
	var h [(offState - offVersion) / 4]uint32 // version through client pid
	for i := range h {
		w, err := shm.Uint32(b, offVersion+4*i)
		if err != nil {
			return err
		}
		h[i] = w.Load()
	}
	at := func(off int) uint32 { return h[(off-offVersion)/4] }
	ringBytes, frameMax := int(at(offRingBytes)), int(at(offFrameBytesMax))
	switch {
	case at(offVersion) != version:
		return fmt.Errorf("%w: %w: the file is version %d, this build speaks version %d", ErrLayout, ErrVersion,
			at(offVersion), version)
	case at(offHeaderBytes) != headerBytes, at(offRingCtlBytes) != ringCtlBytes:
		return fmt.Errorf("%w: header %d bytes, ring control %d bytes", ErrLayout,
			at(offHeaderBytes), at(offRingCtlBytes))
	case ringBytes < RingBytesMin || ringBytes > RingBytesMax || bits.OnesCount(uint(ringBytes)) != 1:
		return fmt.Errorf("%w: ring of %d bytes", ErrLayout, ringBytes)
	case frameMax < sbe.FrameBytesMin || frameMax > FrameBytesCap:
		return fmt.Errorf("%w: frame maximum %d bytes", ErrLayout, frameMax)
	case len(b) < fileBytes(ringBytes):
		return fmt.Errorf("%w: file of %d bytes, rings need %d", ErrLayout, len(b), fileBytes(ringBytes))
	}
	c.frameBytesMax = frameMax
	if c.state, err = shm.Uint32(b, offState); err != nil {
		return err
	}
	c.peerPid = int(at(offServerPid))
	s := c.state.Load()
	switch {
	case s&stateServerClosed != 0:
		return ErrPeerClosed
	case s&stateServerReady == 0:
		return fmt.Errorf("%w: server not ready", ErrLayout)
	case !shm.Alive(c.peerPid):
		return ErrPeerDead
	}
	pid, err := shm.Uint32(b, offClientPid)
	if err != nil {
		return err
	}
	if !pid.CompareAndSwap(0, uint32(os.Getpid())) || s&stateClientAttached != 0 {
		return ErrInUse
	}
	if err := c.mapRings(ringBytes, 0); err != nil {
		return err
	}
	c.state.Or(stateClientAttached)
	return nil
}

// PeerPID is the server's process id as the file states it.
func (c *Conn) PeerPID() int { return c.peerPid }

// WriteFrame writes one whole SOFH frame (its SOFH length must be
// len(frame)) to the server, waiting while the request ring is full.
func (c *Conn) WriteFrame(frame []byte) error { return c.writeFrame(frame) }

// ReadFrame waits for the server's next frame; see Endpoint.ReadFrame.
func (c *Conn) ReadFrame(buf []byte) (sbe.Frame, int, error) { return c.readFrame(buf) }

// TryReadFrame is ReadFrame without the wait, for a client that polls the
// response ring from its own loop: ok is false, with a nil error, when the
// server has queued nothing. When it has, TryReadFrame copies the frame
// into buf and returns it as ReadFrame does (ok is true whenever a frame
// was consumed, also a malformed one, which comes with n > 0 and its sbe
// error). A closed or dead server is reported as ReadFrame reports it, with
// ErrPeerClosed or ErrPeerDead, once its frames are drained; the dead
// peer's pid is probed only every so many empty calls, so death shows up
// after some polling rather than at once. It does not allocate and makes no
// system call on a ready or empty ring, apart from that rare probe.
func (c *Conn) TryReadFrame(buf []byte) (f sbe.Frame, n int, ok bool, err error) {
	return c.tryReadFrame(buf)
}

// TryWriteFrame is WriteFrame without the wait: it writes one whole SOFH
// frame if the request ring has room now and returns false, with a nil
// error, when it has not.
func (c *Conn) TryWriteFrame(frame []byte) (bool, error) { return c.tryWriteFrame(frame) }

// Check sends oc and waits for its Verdict. MarginNotice pushes that
// arrive first are skipped. An Error frame is returned as *RemoteError, a
// Verdict for another reqId or any other message as ErrUnexpectedFrame.
// Check uses both directions: it must not run concurrently with ReadFrame,
// WriteFrame or another Check, and suits a client that does not pipeline.
func (c *Conn) Check(oc sbe.OrderCheck) (sbe.Verdict, error) {
	n, err := oc.EncodeFrame(c.wbuf[:])
	if err != nil {
		return sbe.Verdict{}, err
	}
	if err := c.writeFrame(c.wbuf[:n]); err != nil {
		return sbe.Verdict{}, err
	}
	for {
		f, _, err := c.readFrame(c.rbuf)
		if err != nil {
			return sbe.Verdict{}, err
		}
		switch f.Header.TemplateID {
		case sbe.VerdictTemplateID:
			var v sbe.Verdict
			if err := v.DecodeBlock(f.Block); err != nil {
				return sbe.Verdict{}, err
			}
			if v.ReqID != oc.ReqID {
				return sbe.Verdict{}, fmt.Errorf("%w: verdict for request %d, want %d", ErrUnexpectedFrame, v.ReqID, oc.ReqID)
			}
			return v, nil
		case sbe.ErrorTemplateID:
			var e sbe.Error
			if err := e.DecodeBlock(f.Block); err != nil {
				return sbe.Verdict{}, err
			}
			text, _, _ := bytes.Cut(e.Text[:], []byte{0})
			return sbe.Verdict{}, &RemoteError{ReqID: e.ReqID, Code: e.Code, Text: string(text)}
		case sbe.MarginNoticeTemplateID:
			continue
		default:
			return sbe.Verdict{}, fmt.Errorf("%w: %s", ErrUnexpectedFrame, sbe.TemplateName(f.Header.TemplateID))
		}
	}
}

// Close ends the session from the client side: it marks the client closed
// in the file, waits for this side's blocked calls to return (with
// ErrClosed) and unmaps the file. It is safe to call more than once.
func (c *Conn) Close() error { return c.close() }
