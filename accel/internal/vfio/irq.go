package vfio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// PollSlice is the longest a Wait sleeps in poll(2) before it looks at its
// context again: the worst-case latency of a cancellation without deadline.
const PollSlice = 10 * time.Millisecond

// ErrIRQHangup reports an interrupt descriptor the kernel shut down (the
// device went away).
var ErrIRQHangup = errors.New("vfio: interrupt descriptor hung up")

// IRQ waits for a device interrupt on a descriptor that becomes readable
// when one arrives: a VFIO eventfd or a UIO device node. One goroutine may
// Wait at a time; Close must not race with Wait.
type IRQ struct {
	fd        int
	ownFD     bool
	readBytes int
	rearm     func() error
	disable   func() error
	pfd       [1]unix.PollFd
	buf       [8]byte
}

// NewEventFDIRQ returns a waiter on an eventfd it creates, and the eventfd,
// which is what the kernel (or a test) signals. It is the waiter VFIO
// interrupts use, without a device.
func NewEventFDIRQ() (*IRQ, int, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, -1, fmt.Errorf("vfio: eventfd: %w", err)
	}
	return &IRQ{fd: efd, ownFD: true, readBytes: 8}, efd, nil
}

// SignalEventFD adds 1 to an eventfd, as the kernel does on an interrupt.
func SignalEventFD(fd int) error {
	b := [8]byte{1}
	if _, err := unix.Write(fd, b[:]); err != nil {
		return fmt.Errorf("vfio: signal eventfd: %w", err)
	}
	return nil
}

// Wait blocks until an interrupt arrives (nil) or ctx ends (ctx.Err()). It
// consumes every interrupt pending at wake-up (they coalesce) and re-arms
// a level-triggered line. It does not allocate.
func (q *IRQ) Wait(ctx context.Context) error {
	if q.fd < 0 {
		return ErrClosed
	}
	done := ctx.Done()
	for {
		select {
		case <-done:
			return ctx.Err()
		default:
		}
		timeout := PollSlice
		if dl, ok := ctx.Deadline(); ok {
			left := time.Until(dl)
			if left <= 0 {
				return context.DeadlineExceeded
			}
			if left < timeout {
				timeout = left
			}
		}
		ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
		q.pfd[0] = unix.PollFd{Fd: int32(q.fd), Events: unix.POLLIN}
		n, err := unix.Poll(q.pfd[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("vfio: poll interrupt descriptor: %w", err)
		}
		if n == 0 {
			continue
		}
		rev := q.pfd[0].Revents
		if rev&unix.POLLIN == 0 {
			if rev&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				return fmt.Errorf("%w (revents %#x)", ErrIRQHangup, rev)
			}
			continue
		}
		_, err = unix.Read(q.fd, q.buf[:q.readBytes])
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("vfio: read interrupt descriptor: %w", err)
		}
		if q.rearm != nil {
			if err := q.rearm(); err != nil {
				return err
			}
		}
		return nil
	}
}

// Close disables the interrupt and releases the descriptor it owns.
func (q *IRQ) Close() error {
	if q.fd < 0 {
		return nil
	}
	var err error
	if q.disable != nil {
		err = q.disable()
	}
	if q.ownFD {
		if cerr := unix.Close(q.fd); err == nil && cerr != nil {
			err = fmt.Errorf("vfio: close interrupt descriptor: %w", cerr)
		}
	}
	q.fd = -1
	return err
}
