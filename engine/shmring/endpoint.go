package shmring

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// Config sizes a session file.
type Config struct {
	// RingBytes is the data area of each ring, a power of two in
	// [RingBytesMin, RingBytesMax]; 0 selects RingBytesDefault.
	RingBytes int
	// FrameBytesMax bounds one frame, SOFH included, in
	// [sbe.FrameBytesMin, FrameBytesCap]; 0 selects sbe.MessageFrameBytesMax.
	FrameBytesMax int
}

func (c Config) withDefaults() Config {
	if c.RingBytes == 0 {
		c.RingBytes = RingBytesDefault
	}
	if c.FrameBytesMax == 0 {
		c.FrameBytesMax = sbe.MessageFrameBytesMax
	}
	return c
}

// Endpoint is the server side of a session file.
type Endpoint struct {
	link
	path     string
	accepted atomic.Bool
}

// Listen creates the session file at path (mode 0600) and makes it ready
// for one client. An existing file is replaced when its server is no
// longer alive (or it is not a valid session file) and refused with
// ErrInUse otherwise.
func Listen(path string, cfg Config) (*Endpoint, error) {
	cfg = cfg.withDefaults()
	if cfg.FrameBytesMax < sbe.FrameBytesMin || cfg.FrameBytesMax > FrameBytesCap {
		return nil, fmt.Errorf("shmring: frame maximum %d not in [%d, %d]", cfg.FrameBytesMax, sbe.FrameBytesMin, FrameBytesCap)
	}
	m, err := shm.Create(path, fileBytes(cfg.RingBytes))
	if errors.Is(err, fs.ErrExist) {
		if alive, v := serverAlive(path); alive {
			if v != version {
				return nil, fmt.Errorf("%w: %s (by a server of file version %d; this build speaks %d)", ErrInUse, path, v, version)
			}
			return nil, fmt.Errorf("%w: %s", ErrInUse, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("shmring: remove stale %s: %w", path, err)
		}
		m, err = shm.Create(path, fileBytes(cfg.RingBytes))
	}
	if err != nil {
		return nil, err
	}
	e := &Endpoint{path: path}
	e.m = m
	e.sleepLimit = sleepDuration
	e.frameBytesMax = cfg.FrameBytesMax
	e.selfClosed, e.peerClosed = stateServerClosed, stateClientClosed
	if err := e.init(cfg); err != nil {
		m.Unmap()
		os.Remove(path)
		return nil, err
	}
	return e, nil
}

func (e *Endpoint) init(cfg Config) error {
	if err := e.mapRings(cfg.RingBytes, 1); err != nil {
		return err
	}
	b := e.m.Bytes()
	for _, w := range [...]struct{ off, v int }{
		{offVersion, version}, {offHeaderBytes, headerBytes}, {offRingBytes, cfg.RingBytes},
		{offFrameBytesMax, cfg.FrameBytesMax}, {offRingCtlBytes, ringCtlBytes},
		{offServerPid, os.Getpid()}, {offState, stateServerReady},
	} {
		p, err := shm.Uint32(b, w.off)
		if err != nil {
			return err
		}
		p.Store(uint32(w.v))
	}
	var err error
	if e.state, err = shm.Uint32(b, offState); err != nil {
		return err
	}
	mg, err := shm.Uint64(b, offMagic)
	if err != nil {
		return err
	}
	mg.Store(magic)
	return nil
}

// serverAlive reports whether path is a session file whose server lives,
// and the file's layout version. The magic, version, server pid and state
// words sit where they do in every version.
func serverAlive(path string) (bool, uint32) {
	m, err := shm.Open(path, headerBytes)
	if err != nil {
		return false, 0
	}
	defer m.Unmap()
	b := m.Bytes()
	mg, err1 := shm.Uint64(b, offMagic)
	ver, err2 := shm.Uint32(b, offVersion)
	pid, err3 := shm.Uint32(b, offServerPid)
	st, err4 := shm.Uint32(b, offState)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || mg.Load() != magic {
		return false, 0
	}
	return st.Load()&stateServerClosed == 0 && shm.Alive(int(pid.Load())), ver.Load()
}

// Path is the session file's path.
func (e *Endpoint) Path() string { return e.path }

// Accept waits until a client has attached, ctx is done (its error is
// returned) or the Endpoint is closed. It returns at once after a success.
// It counts as a read: it must not run concurrently with ReadFrame.
func (e *Endpoint) Accept(ctx context.Context) error {
	e.rbusy.Store(1)
	defer e.rbusy.Store(0)
	if e.closed.Load() {
		return ErrClosed
	}
	if e.accepted.Load() {
		return nil
	}
	pid, err := shm.Uint32(e.m.Bytes(), offClientPid)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if e.closed.Load() {
			return ErrClosed
		}
		if e.state.Load()&stateClientAttached != 0 {
			e.peerPid = int(pid.Load())
			e.accepted.Store(true)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if attempt < yieldAttempts {
			time.Sleep(acceptPoll)
		} else {
			time.Sleep(acceptPollSlow)
		}
	}
}

// PeerPID is the client's process id (0 before Accept). It is what the
// client wrote into the file: informational, not authenticated.
func (e *Endpoint) PeerPID() int { return e.peerPid }

// ReadFrame waits for the client's next frame, copies it into buf and
// validates it, returning the frame (its Block aliases buf) and its length
// n (the frame is buf[:n]). A frame failing validation is consumed and
// returned with n > 0 and the sbe error (errors.Is with the sbe sentinels;
// sbe.CodeOf gives the Error code to answer with), so the session stays in
// step: answer and read on. A buf shorter than the frame fails with
// sbe.ErrBufferTooSmall and leaves the frame in the ring. ErrCorrupt,
// ErrPeerClosed, ErrPeerDead and ErrClosed end the session.
func (e *Endpoint) ReadFrame(buf []byte) (sbe.Frame, int, error) {
	if !e.accepted.Load() {
		return sbe.Frame{}, 0, ErrNotConnected
	}
	return e.readFrame(buf)
}

// WriteFrame writes one whole SOFH frame (its SOFH length must be
// len(frame)) to the client, waiting while the response ring is full. The
// frame is copied; frame may be reused at once.
func (e *Endpoint) WriteFrame(frame []byte) error {
	if !e.accepted.Load() {
		return ErrNotConnected
	}
	return e.writeFrame(frame)
}

// Close ends the session: it marks the server closed in the file, waits
// for this side's blocked calls to return (with ErrClosed), unmaps the file
// and removes it. It is safe to call more than once.
func (e *Endpoint) Close() error {
	if e.closed.Load() {
		return nil
	}
	err := e.close()
	if rerr := os.Remove(e.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}
