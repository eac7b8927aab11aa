package shmring

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/ballast-risk/ballast/engine/internal/shm"
	"github.com/ballast-risk/ballast/engine/sbe"
)

// File layout constants; see the package comment.
const (
	magic        = 0x314D485354534C42 // "BLSTSHM1" little-endian
	version      = 2
	headerBytes  = 256
	ringCtlBytes = 256

	// A ring's control block: the producer's 128 bytes, then the
	// consumer's.
	ctlTail      = 0   // u64, written by the producer
	ctlDataSeq   = 8   // u32, bumped by the producer to wake the consumer
	ctlDataSleep = 12  // u32, set by the consumer before it sleeps
	ctlHead      = 128 // u64, written by the consumer
	ctlRoomSeq   = 136 // u32, bumped by the consumer to wake the producer
	ctlRoomSleep = 140 // u32, set by the producer before it sleeps

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
	// sleepDuration bounds one futex sleep of a side that has spun and
	// yielded; a peer's record, room or Close ends it at once. It is how
	// often a sleeper probes whether the peer process lives, so also how
	// late it notices a peer that died without closing.
	sleepDuration = 10 * time.Millisecond
	// sleepFallbackDuration is the sleep instead when the futex call
	// fails (it cannot on a mapped word; kept so such a failure slows
	// the wait to polling rather than turning it into a busy loop).
	sleepFallbackDuration = 50 * time.Microsecond
	// wakeAll is FutexWake's count for "every sleeper on the word".
	wakeAll = math.MaxInt32
	// acceptPoll and acceptPollSlow are Accept's poll periods, the
	// second after yieldAttempts polls.
	acceptPoll     = 50 * time.Microsecond
	acceptPollSlow = 5 * time.Millisecond
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
	// ErrVersion reports a session file of another layout version (a
	// server or client of an older or newer build); it comes wrapped
	// together with ErrLayout.
	ErrVersion = errors.New("shmring: session file version mismatch")
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
	tryEmpty      uint64        // reads that found the ring empty (reader-owned)
	sleepLimit    time.Duration // one futex sleep's bound: sleepDuration but in tests

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

// pause waits once before attempt number attempt of a blocked call (a read
// of the empty rx ring if read, else a write to the full tx ring) and
// returns non-nil when the call must stop.
func (l *link) pause(attempt int, read bool) error {
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
		return l.sleep(read)
	}
}

// sleep blocks a read (read) or write in the futex of the ring it waits
// on until the peer publishes a record (read) or frees room (write),
// either side closes, or sleepLimit passes. It returns non-nil when the
// call must stop, nil when the caller should look at the ring again.
//
// A wake-up cannot be lost between the caller's last look at the ring and
// the futex wait. The sleeper loads the sequence s, stores its sleep flag
// and then loads the peer's cursor (and the close flags); the peer stores
// its cursor and then loads the flag (ring.wake). All four are
// sequentially consistent (sync/atomic; XCHG stores on amd64, STLR/LDAR on
// arm64), so in their single total order one of the two stores comes
// first and the other side's load sees it: either the sleeper sees the
// new cursor and does not sleep, or the peer sees the flag, and then its
// bump of the sequence follows the sleeper's load of s, so FUTEX_WAIT,
// which compares the word with s and queues the caller atomically in the
// kernel, either returns at once or is on the queue FUTEX_WAKE empties.
// Close (link.close) stores its flags before it bumps the sequences, so
// the same argument holds for a close on either side.
func (l *link) sleep(read bool) error {
	seq, flag := l.tx.roomSeq, l.tx.roomSleep
	if read {
		seq, flag = l.rx.dataSeq, l.rx.dataSleep
	}
	s := seq.Load()
	flag.Store(1)
	var ready bool
	if read {
		ready = !l.rx.empty()
	} else {
		ready = l.tx.headMoved()
	}
	if ready {
		flag.Store(0)
		return nil
	}
	if err := l.check(false); err != nil {
		flag.Store(0)
		return err
	}
	if err := shm.FutexWait(seq, s, l.sleepLimit); err != nil {
		time.Sleep(sleepFallbackDuration)
	}
	flag.Store(0)
	// An unchanged sequence means a timeout (or a signal): the time to
	// probe whether the peer still lives. A wake-up goes straight back to
	// the ring.
	return l.check(seq.Load() == s)
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
		if err := l.pause(attempt, false); err != nil {
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
		if err := l.pause(attempt, true); err != nil {
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

// close marks this side closed in the file, wakes every sleeper of both
// sides, waits for this side's blocked calls to return and unmaps the
// file.
func (l *link) close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	l.state.Or(l.selfClosed)
	for _, r := range [...]*ring{l.tx, l.rx} {
		wakeAlways(r.dataSeq)
		wakeAlways(r.roomSeq)
	}
	for l.rbusy.Load() != 0 || l.wbusy.Load() != 0 {
		time.Sleep(closeDrainPoll)
	}
	return l.m.Unmap()
}
