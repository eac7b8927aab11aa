package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"runtime"

	"github.com/ballast-risk/ballast/engine/sbe"
	"github.com/ballast-risk/ballast/engine/shmring"
)

// ShmSlotPattern is the file-name pattern of the slot files DialShm tries,
// in name order (the server names them verdict-00.shm, verdict-01.shm, ...).
const ShmSlotPattern = "verdict-*.shm"

// tcpWriteBufferBytes sizes the TCP request buffer Flush empties.
const tcpWriteBufferBytes = 64 << 10

// ErrNoShmSlot reports that DialShm found no slot file it could claim: every
// slot is serving another client (or being re-created), or there is none.
var ErrNoShmSlot = errors.New("verdict client: no free shared-memory slot")

// transport moves whole SOFH frames. send and flush are called by one
// goroutine at a time (under Conn.wmu), recv by the reader only; close may
// be called from any goroutine, more than once, and unblocks recv.
type transport interface {
	// send writes frame, or buffers it until flush.
	send(frame []byte) error
	// flush writes the buffered frames.
	flush() error
	// recv reads and validates the next frame into buf.
	recv(buf []byte) (sbe.Frame, error)
	// close ends the transport.
	close() error
	// yield runs after the reader handed a frame to another goroutine.
	yield()
}

// tcpTransport is a TCP connection with buffered reads and writes.
type tcpTransport struct {
	nc            net.Conn
	br            *bufio.Reader
	bw            *bufio.Writer
	frameBytesMax int
}

func (t *tcpTransport) send(frame []byte) error {
	_, err := t.bw.Write(frame)
	return err
}

func (t *tcpTransport) flush() error { return t.bw.Flush() }

func (t *tcpTransport) recv(buf []byte) (sbe.Frame, error) {
	f, err := sbe.ReadFrame(t.br, buf, t.frameBytesMax)
	if errors.Is(err, net.ErrClosed) {
		err = ErrClosed
	}
	return f, err
}

func (t *tcpTransport) close() error { return t.nc.Close() }

// yield does nothing: the reader's next read parks it in the netpoller,
// which frees its P for the goroutine it woke.
func (t *tcpTransport) yield() {}

// shmTransport is the client side of a shmring session file. Frames go
// straight into the request ring; there is nothing to flush.
type shmTransport struct {
	c *shmring.Conn
}

func (t *shmTransport) send(frame []byte) error { return t.c.WriteFrame(frame) }

func (t *shmTransport) flush() error { return nil }

func (t *shmTransport) recv(buf []byte) (sbe.Frame, error) {
	f, n, err := t.c.ReadFrame(buf)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, shmring.ErrClosed):
		return sbe.Frame{}, ErrClosed
	case n > 0: // the server wrote a malformed frame
		return sbe.Frame{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return sbe.Frame{}, err
}

func (t *shmTransport) close() error { return t.c.Close() }

// yield lets the goroutine the reader just woke (queued on the reader's P)
// run at once: the reader's next read spins for tens of microseconds
// before it yields by itself, which on a machine with few cores would hold
// the woken caller back for as long.
func (t *shmTransport) yield() { runtime.Gosched() }

// DialShm connects over the same-host shared-memory transport: it claims
// the first free slot file matching ShmSlotPattern in dir (a slot another
// client holds, or one the server is re-creating, is skipped), logs in with
// token and starts the reader. It fails with ErrNoShmSlot when no slot can
// be claimed; a refused Login is not retried on another slot. The returned
// Conn behaves as Dial's: when the server ends the session, Err reports
// shmring.ErrPeerClosed (or shmring.ErrPeerDead when its process is gone).
func DialShm(ctx context.Context, dir, token string, opts Options) (*Conn, error) {
	opts, err := prepare(token, opts)
	if err != nil {
		return nil, err
	}
	sc, err := claimShmSlot(ctx, dir)
	if err != nil {
		return nil, err
	}
	return login(ctx, &shmTransport{c: sc}, token, opts)
}

// claimShmSlot attaches to the first free slot file matching
// ShmSlotPattern in dir, skipping slots another client holds and ones the
// server is re-creating (busy, closed, dead or half-written files).
func claimShmSlot(ctx context.Context, dir string) (*shmring.Conn, error) {
	// A done ctx fails the dial whatever the slots are doing (between a
	// session and the next, the server re-creates its slot file).
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, ShmSlotPattern))
	if err != nil {
		return nil, err
	}
	var other error // the last failure that is not a busy or stale slot
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc, err := shmring.Dial(p)
		if err != nil {
			if !errors.Is(err, shmring.ErrInUse) && !errors.Is(err, shmring.ErrPeerClosed) &&
				!errors.Is(err, shmring.ErrPeerDead) && !errors.Is(err, shmring.ErrLayout) {
				other = err
			}
			continue
		}
		return sc, nil
	}
	if other != nil {
		return nil, fmt.Errorf("%w in %s (%d slots; last error: %w)", ErrNoShmSlot, dir, len(paths), other)
	}
	return nil, fmt.Errorf("%w in %s (%d slots)", ErrNoShmSlot, dir, len(paths))
}
