package shmring

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// File layout constants; see the package comment.
const (
	magic          = 0x314D485354534C42 // "BLSTSHM1" little-endian
	version        = 1
	headerBytes    = 256
	ringCtlBytes   = 256
	cursorPadBytes = 128

	offMagic         = 0
	offVersion       = 8
	offHeaderBytes   = 12
	offRingBytes     = 16
	offFrameBytesMax = 20
	offRingCtlBytes  = 24
	offServerPid     = 32
	offClientPid     = 36
	offState         = 40

	stateServerReady    = 1 << 0
	stateClientAttached = 1 << 1
	stateServerClosed   = 1 << 2
	stateClientClosed   = 1 << 3
)

// Waiting: see the package comment.
const (
	// spinAttempts is the number of immediate re-checks of a blocked ring.
	spinAttempts = 1 << 14
	// checkEvery is how often (in spin attempts, a power of two) a spinning
	// side looks at the close flags.
	checkEvery = 64
	// yieldAttempts is the number of runtime.Gosched re-checks after the
	// spins.
	yieldAttempts = 1 << 10
	// sleepDuration is one sleep of a side that has spun and yielded.
	sleepDuration = 50 * time.Microsecond
	// closeDrainPoll is how often Close looks whether this side's blocked
	// calls have returned.
	closeDrainPoll = 10 * time.Microsecond
	// tryDeadProbeEvery is how often (in calls that find the ring empty)
	// a non-blocking read probes whether the peer process lives: rarely
	// enough that the system call is noise in a polling loop, often
	// enough that a loop polling every microsecond notices within
	// a fraction of a second.
	tryDeadProbeEvery = 1 << 16
)

// Link errors.
var (
	// ErrClosed reports a call on a side that Close was called on.
	ErrClosed = errors.New("shmring: closed")
	// ErrPeerClosed reports that the peer closed the session (and, for a
	// read, that every frame it wrote has been read).
	ErrPeerClosed = errors.New("shmring: peer closed")
	// ErrPeerDead reports that the peer process no longer exists.
	ErrPeerDead = errors.New("shmring: peer process is gone")
	// ErrNotConnected reports a read or write on an Endpoint before Accept.
	ErrNotConnected = errors.New("shmring: no client attached")
	// ErrInUse reports a Listen on a file a live server owns, or a Dial of a
	// file a client already claimed.
	ErrInUse = errors.New("shmring: file in use")
	// ErrLayout reports a file whose header is not a valid shmring header.
	ErrLayout = errors.New("shmring: not a shmring file")
)

// fileBytes is the size of a file with rings of ringBytes each.
func fileBytes(ringBytes int) int {
	n := headerBytes + 2*(ringCtlBytes+ringBytes)
	page := 4096
	return (n + page - 1) &^ (page - 1)
}

// ringOffset is the offset of ring i's control block.
func ringOffset(i, ringBytes int) int { return headerBytes + i*(ringCtlBytes+ringBytes) }

// link is one side of a session: its mapping, the ring it produces into,
// the ring it consumes from, and the close protocol.
type link struct {
	m             *shm.Mapping
	state         *atomic.Uint32
	tx            *ring
	rx            *ring
	frameBytesMax int
	selfClosed    uint32 // this side's close bit
	peerClosed    uint32 // the peer's close bit
	peerPid       int
	tryEmpty      uint64 // reads that found the ring empty (reader-owned)

	_      [64]byte
	closed atomic.Bool
	_      [64]byte
	rbusy  atomic.Int32 // a read is in progress
	_      [64]byte
	wbusy  atomic.Int32 // a write is in progress
	_      [64]byte
}

// mapRings builds the link's rings: it produces into ring txIndex and
// consumes ring 1-txIndex.
func (l *link) mapRings(ringBytes, txIndex int) error {
	b := l.m.Bytes()
	var rs [2]*ring
	for i := range rs {
		off := ringOffset(i, ringBytes)
		r, err := newRing(b[off:off+ringCtlBytes], b[off+ringCtlBytes:off+ringCtlBytes+ringBytes], l.frameBytesMax)
		if err != nil {
			return err
		}
		rs[i] = r
	}
	l.tx, l.rx = rs[txIndex], rs[1-txIndex]
	return nil
}

// check reports why a blocked call must stop: this side closed, the peer
// closed, or (deep only, a system call) the peer died.
func (l *link) check(deep bool) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if l.state.Load()&l.peerClosed != 0 {
		return ErrPeerClosed
	}
	if deep && !shm.Alive(l.peerPid) {
		return ErrPeerDead
	}
	return nil
}

// pause waits once before attempt number attempt of a blocked call and
// returns non-nil when the call must stop.
func (l *link) pause(attempt int) error {
	switch {
	case attempt < spinAttempts:
		if attempt&(checkEvery-1) == checkEvery-1 {
			return l.check(false)
		}
		return nil
	case attempt < spinAttempts+yieldAttempts:
		runtime.Gosched()
		return l.check(false)
	default:
		time.Sleep(sleepDuration)
		return l.check(true)
	}
}

// writable checks a frame about to be written and the session's state.
// The caller holds wbusy.
func (l *link) writable(frame []byte) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if len(frame) > l.frameBytesMax {
		return sbe.ErrFrameTooLong
	}
	n, err := sbe.ParseSOFH(frame, l.frameBytesMax)
	if err != nil {
		return err
	}
	if n != len(frame) {
		return fmt.Errorf("%w: SOFH says %d bytes, frame has %d", ErrFrameSize, n, len(frame))
	}
	if l.state.Load()&l.peerClosed != 0 {
		return ErrPeerClosed
	}
	return nil
}

// tryWriteFrame writes one SOFH frame if the ring has room now; it
// returns false (and no error) when it has not.
func (l *link) tryWriteFrame(frame []byte) (bool, error) {
	l.wbusy.Store(1)
	defer l.wbusy.Store(0)
	if err := l.writable(frame); err != nil {
		return false, err
	}
	return l.tx.tryWrite(frame)
}

// writeFrame writes one SOFH frame, waiting for room.
func (l *link) writeFrame(frame []byte) error {
	l.wbusy.Store(1)
	defer l.wbusy.Store(0)
	if err := l.writable(frame); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		ok, err := l.tx.tryWrite(frame)
		if ok || err != nil {
			return err
		}
		if err := l.pause(attempt); err != nil {
			return err
		}
	}
}

// readFrame reads one record into buf and parses it as an SOFH frame. See
// Endpoint.ReadFrame.
func (l *link) readFrame(buf []byte) (sbe.Frame, int, error) {
	l.rbusy.Store(1)
	defer l.rbusy.Store(0)
	if l.closed.Load() {
		return sbe.Frame{}, 0, ErrClosed
	}
	for attempt := 0; ; attempt++ {
		rec, err := l.rx.peek()
		if err != nil {
			return sbe.Frame{}, 0, err
		}
		if rec != nil {
			return l.parse(rec, buf)
		}
		if err := l.pause(attempt); err != nil {
			if errors.Is(err, ErrClosed) {
				return sbe.Frame{}, 0, err
			}
			// The peer wrote before it closed or died: drain first.
			rec, perr := l.rx.peek()
			if perr != nil {
				return sbe.Frame{}, 0, perr
			}
			if rec != nil {
				return l.parse(rec, buf)
			}
			return sbe.Frame{}, 0, err
		}
	}
}

// tryReadFrame is readFrame without the wait: ok is false (with a nil
// error) when no frame is queued now and the session is still up. An
// empty ring also looks at the peer's close flag (one atomic load) and,
// every tryDeadProbeEvery empty calls, probes the peer's pid (a system
// call), so that a caller polling in a loop learns of a closed or dead
// peer, after draining its frames, as a blocked reader does.
func (l *link) tryReadFrame(buf []byte) (sbe.Frame, int, bool, error) {
	l.rbusy.Store(1)
	defer l.rbusy.Store(0)
	if l.closed.Load() {
		return sbe.Frame{}, 0, false, ErrClosed
	}
	rec, err := l.rx.peek()
	if err != nil {
		return sbe.Frame{}, 0, false, err
	}
	if rec == nil {
		l.tryEmpty++
		cerr := l.check(l.tryEmpty%tryDeadProbeEvery == 0)
		if cerr == nil {
			return sbe.Frame{}, 0, false, nil
		}
		if errors.Is(cerr, ErrClosed) {
			return sbe.Frame{}, 0, false, cerr
		}
		// The peer wrote before it closed or died: drain first.
		if rec, err = l.rx.peek(); err != nil {
			return sbe.Frame{}, 0, false, err
		}
		if rec == nil {
			return sbe.Frame{}, 0, false, cerr
		}
	}
	f, n, err := l.parse(rec, buf)
	return f, n, n > 0, err
}

// parse copies the peeked record rec into buf, releases it and validates
// it as one SOFH frame.
func (l *link) parse(rec, buf []byte) (sbe.Frame, int, error) {
	n := len(rec)
	if len(buf) < n {
		l.rx.pending = 0 // leave the record in the ring for a larger buffer
		return sbe.Frame{}, 0, sbe.ErrBufferTooSmall
	}
	copy(buf, rec)
	l.rx.release()
	f, fn, err := sbe.ParseFrame(buf[:n], l.frameBytesMax)
	switch {
	case err != nil:
		return sbe.Frame{}, n, err
	case fn == 0: // the SOFH announces more than the record holds
		return sbe.Frame{}, n, sbe.ErrShortFrame
	case fn != n: // bytes follow the frame inside the record
		return sbe.Frame{}, n, sbe.ErrBlockLength
	}
	return f, n, nil
}

// close marks this side closed in the file, waits for this side's blocked
// calls to return and unmaps the file.
func (l *link) close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	l.state.Or(l.selfClosed)
	for l.rbusy.Load() != 0 || l.wbusy.Load() != 0 {
		time.Sleep(closeDrainPoll)
	}
	return l.m.Unmap()
}
