package shm

import (
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// futex(2) operations. The _PRIVATE variants (flag 128) would key the wait
// queue on this process's address space, so a waker in another process
// mapping the same file would never find the waiter; these key it on the
// file's page and offset instead.
const (
	futexOpWait = 0 // FUTEX_WAIT
	futexOpWake = 1 // FUTEX_WAKE
)

// FutexWait blocks the calling thread while *word == val, until a
// FutexWake on the same word (from this or any process mapping the same
// file), a signal or timeout elapses, whichever comes first. It returns
// nil in all those cases, and at once, with nil, when *word != val on
// entry (the kernel compares and queues the caller atomically, so a wake
// that follows a change of the word is never lost). A timeout <= 0 does
// not wait. The caller re-checks its condition after every return: a
// return says nothing about the word. Other errors (a word outside any
// mapping, a nil word) are returned; it does not allocate.
//
// The goroutine holds its OS thread for the whole wait, and its P until
// the runtime's sysmon takes the P back for other goroutines (after 20 µs
// to 10 ms, as for any blocking system call), so waits must be bounded
// and rare on busy paths.
func FutexWait(word *atomic.Uint32, val uint32, timeout time.Duration) error {
	if word == nil {
		return ErrAlign
	}
	if timeout <= 0 {
		return nil
	}
	ts := unix.NsecToTimespec(int64(timeout))
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexOpWait,
		uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
	switch errno {
	case 0, unix.EAGAIN, unix.EINTR, unix.ETIMEDOUT:
		return nil
	}
	return errno
}

// FutexWake wakes at most n threads blocked in FutexWait on word, in any
// process mapping the same file, and returns how many it woke. n <= 0
// wakes none (and makes no system call); n above math.MaxInt32 is
// clamped. It does not allocate.
func FutexWake(word *atomic.Uint32, n int) (int, error) {
	if word == nil {
		return 0, ErrAlign
	}
	if n <= 0 {
		return 0, nil
	}
	n = min(n, math.MaxInt32)
	r, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(word)), futexOpWake,
		uintptr(n), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
