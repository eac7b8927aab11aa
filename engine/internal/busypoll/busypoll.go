// Package busypoll is the engine's boundary to non-blocking socket reads:
// it lets a server read a TCP connection by spinning on non-blocking reads
// for a bounded time before it parks in Go's network poller, and lets a
// client take whatever a socket holds without ever waiting.
//
// A goroutine parked in the network poller is woken by the kernel's
// readiness event, the poller's thread and the scheduler: on a virtual
// machine that is tens of microseconds per request, more than the request
// costs to serve. A reader that keeps trying the socket while requests
// keep coming skips all of it. Spinning burns a core, so it is bounded
// twice: a Budget lets at most SpinnersMax readers spin at once (the others
// park as usual), and each read spins for at most Spin before it parks.
// Spin is the longest silence a busy connection may have and stay hot.
//
// Everything above this package uses net.Conn; only this package makes
// raw system calls on a socket.
package busypoll

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Bounds of a Budget.
const (
	// SpinMax bounds Budget's spin: a read never spins longer than this
	// before it parks.
	SpinMax = 10 * time.Millisecond
	// SpinnersMax bounds the readers that may spin at once.
	SpinnersMax = 64
)

// ErrNotSocket reports a connection without a file descriptor to poll.
var ErrNotSocket = errors.New("busypoll: connection has no pollable socket")

// Budget is the spinning a set of connections may share: at most spinners
// reads spin at a time, each for at most spin. A nil *Budget, or one with
// no spin, never spins. It is safe for concurrent use.
type Budget struct {
	spin     int64 // ns
	spinners int32
	active   atomic.Int32
	spun     atomic.Uint64 // reads served while spinning
	parked   atomic.Uint64 // reads that parked (no data within spin, or no token)
}

// NewBudget returns a Budget letting spinners reads spin for up to spin
// each. spin = 0 or spinners = 0 returns a Budget that never spins.
func NewBudget(spin time.Duration, spinners int) (*Budget, error) {
	if spin < 0 || spin > SpinMax {
		return nil, fmt.Errorf("busypoll: spin %v (want 0 to %v)", spin, SpinMax)
	}
	if spinners < 0 || spinners > SpinnersMax {
		return nil, fmt.Errorf("busypoll: spinners %d (want 0 to %d)", spinners, SpinnersMax)
	}
	if spin == 0 || spinners == 0 {
		spin, spinners = 0, 0
	}
	return &Budget{spin: int64(spin), spinners: int32(spinners)}, nil
}

// Spins reports whether b lets any read spin.
func (b *Budget) Spins() bool { return b != nil && b.spin > 0 }

// Stats are a Budget's counters.
type Stats struct {
	// Spun counts reads that found data while spinning.
	Spun uint64
	// Parked counts reads that parked in the network poller.
	Parked uint64
}

// Stats returns b's counters (zero for a nil Budget).
func (b *Budget) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	return Stats{Spun: b.spun.Load(), Parked: b.parked.Load()}
}

// acquire claims a spinning token.
func (b *Budget) acquire() bool {
	if !b.Spins() {
		return false
	}
	for {
		n := b.active.Load()
		if n >= b.spinners {
			return false
		}
		if b.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (b *Budget) release() {
	if b.active.Add(-1) < 0 {
		panic("busypoll: spinner token released twice")
	}
}

// Conn is a TCP connection whose reads spin first. It embeds the
// net.Conn, so everything but Read is the connection's own.
type Conn struct {
	net.Conn
	rc syscall.RawConn
	b  *Budget

	// The raw read and write callbacks and their arguments, built once so
	// that a non-blocking call allocates nothing. Reads (Read, TryRead)
	// and writes (TryWrite) each come from one goroutine at a time.
	readFn, writeFn func(fd uintptr) bool
	buf, wbuf       []byte
	n, wn           int
	err, werr       error
}

// NewConn wraps nc, which must be a *net.TCPConn (or another
// syscall.Conn). Reads spin under b; with a nil b or one that never
// spins, Read is nc's own and TryRead still works.
func NewConn(nc net.Conn, b *Budget) (*Conn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, ErrNotSocket
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSocket, err)
	}
	c := &Conn{Conn: nc, rc: rc, b: b}
	c.readFn = func(fd uintptr) bool {
		for {
			c.n, c.err = unix.Read(int(fd), c.buf)
			if c.err != unix.EINTR {
				return true
			}
		}
	}
	c.writeFn = func(fd uintptr) bool {
		for {
			c.wn, c.werr = unix.Write(int(fd), c.wbuf)
			if c.werr != unix.EINTR {
				return true
			}
		}
	}
	return c, nil
}

// TryWrite makes one non-blocking write of p: it returns how many bytes the
// socket took (0, with a nil error, when its send buffer is full; possibly
// fewer than len(p)). It never waits; a passed write deadline is
// os.ErrDeadlineExceeded.
func (c *Conn) TryWrite(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wbuf = p
	err := c.rc.Write(c.writeFn)
	n, werr := c.wn, c.werr
	c.wbuf, c.wn, c.werr = nil, 0, nil
	switch {
	case err != nil:
		return 0, err
	case werr == unix.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: werr}
	}
	return n, nil
}

// TryRead makes one non-blocking read into p: it returns the bytes read,
// (0, nil) when the socket holds nothing now, io.EOF when the peer has
// closed its side, or the error (a passed read deadline is
// os.ErrDeadlineExceeded, as for Read). It never waits.
func (c *Conn) TryRead(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.buf = p
	err := c.rc.Read(c.readFn)
	n, rerr := c.n, c.err
	c.buf, c.n, c.err = nil, 0, nil
	switch {
	case err != nil:
		return 0, err
	case rerr == unix.EAGAIN:
		return 0, nil
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: rerr}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Read reads into p. When its Budget has a free spinning token it tries
// the socket without waiting until data arrives or the Budget's spin has
// passed; then (or without a token) it reads as nc would, parking in the
// network poller and honouring the read deadline. A deadline that passes
// while spinning ends the read with os.ErrDeadlineExceeded.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) > 0 && c.b.acquire() {
		n, err, ok := c.spin(p)
		c.b.release()
		if ok {
			c.b.spun.Add(1)
			return n, err
		}
	}
	if c.b != nil {
		c.b.parked.Add(1)
	}
	return c.Conn.Read(p)
}

// yieldEvery is how often (in empty tries, a power of two: tens of
// microseconds of system calls) a spinning read lets the scheduler run
// whatever else is due on its processor: timers, goroutines the network
// poller has readied. A spinner that never yields holds its processor
// until the runtime preempts it, 10 ms later.
const yieldEvery = 64

// spin tries p until data, an error or the spin budget; ok is false when
// the budget passed with nothing read.
func (c *Conn) spin(p []byte) (n int, err error, ok bool) {
	start := time.Now()
	for i := 1; ; i++ {
		n, err = c.TryRead(p)
		if n > 0 || err != nil {
			return n, err, true
		}
		if int64(time.Since(start)) >= c.b.spin {
			return 0, nil, false
		}
		if i&(yieldEvery-1) == 0 {
			runtime.Gosched()
		}
	}
}

// Listener wraps accepted TCP connections in Conns sharing one Budget.
type Listener struct {
	net.Listener
	b *Budget
}

// NewListener returns ln whose accepted connections read under b.
func NewListener(ln net.Listener, b *Budget) *Listener { return &Listener{Listener: ln, b: b} }

// Accept accepts the next connection and wraps it; a connection that is
// not a socket (an in-memory pipe in a test) is returned as it is.
func (l *Listener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil || !l.b.Spins() {
		return nc, err
	}
	c, werr := NewConn(nc, l.b)
	if werr != nil {
		return nc, nil
	}
	return c, nil
}
