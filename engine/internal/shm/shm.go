// Package shm is the engine's boundary to memory shared with another
// process: it creates, opens and maps files MAP_SHARED, hands out atomic
// views of aligned 32- and 64-bit words at byte offsets of any 8-aligned
// byte slice (mapped or not), blocks and wakes threads on such 32-bit
// words across processes (futex(2), FutexWait and FutexWake) and checks
// whether a process id is alive. Nothing above it uses unsafe, mmap or
// raw system calls.
//
// The atomics are sync/atomic, sequentially consistent, which on amd64 and
// arm64 is at least as strong as the acquire/release ordering a
// single-producer, single-consumer ring needs across processes: the
// hardware keeps the same coherence and ordering rules whether the other
// thread is in this process or another one mapping the same pages.
package shm

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MapBytesMax bounds one mapping (1 GiB).
const MapBytesMax = 1 << 30

// ErrAlign reports a word that is out of range or not naturally aligned.
var ErrAlign = errors.New("shm: word out of range or misaligned")

// Mapping is a shared, read-write mapping of a whole file.
type Mapping struct {
	b []byte
}

// Create creates the file at path with mode 0600, failing if it exists,
// sizes it to size bytes (zero-filled) and maps it.
func Create(path string, size int) (*Mapping, error) {
	if size <= 0 || size > MapBytesMax {
		return nil, fmt.Errorf("shm: create %s: bad size %d", path, size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shm: create: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(size)); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("shm: size %s: %w", path, err)
	}
	m, err := mapFile(f, size)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return m, nil
}

// Open maps the whole of the existing file at path. The file must be a
// regular file of at least minBytes and at most MapBytesMax bytes.
func Open(path string, minBytes int) (*Mapping, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("shm: stat: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() < int64(minBytes) || st.Size() > MapBytesMax {
		return nil, fmt.Errorf("shm: %s: not a regular file of %d to %d bytes (%v, %d bytes)",
			path, minBytes, MapBytesMax, st.Mode(), st.Size())
	}
	return mapFile(f, int(st.Size()))
}

func mapFile(f *os.File, size int) (*Mapping, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: mmap %s: %w", f.Name(), err)
	}
	return &Mapping{b: b}, nil
}

// Bytes is the mapped memory, page-aligned; it is invalid after Unmap.
func (m *Mapping) Bytes() []byte { return m.b }

// Unmap releases the mapping; it is safe to call twice. No goroutine may
// touch Bytes or a word taken from it afterwards.
func (m *Mapping) Unmap() error {
	if m.b == nil {
		return nil
	}
	err := unix.Munmap(m.b)
	m.b = nil
	return err
}

// Uint64 returns an atomic view of the 8 bytes at b[off:], which must be in
// range and 8-aligned in memory. The view is valid as long as b's memory is.
func Uint64(b []byte, off int) (*atomic.Uint64, error) {
	if off < 0 || off > len(b)-8 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 || off%8 != 0 {
		return nil, fmt.Errorf("%w: 8 bytes at %d of %d", ErrAlign, off, len(b))
	}
	return (*atomic.Uint64)(unsafe.Pointer(&b[off])), nil
}

// Uint32 returns an atomic view of the 4 bytes at b[off:], which must be in
// range and 4-aligned in memory.
func Uint32(b []byte, off int) (*atomic.Uint32, error) {
	if off < 0 || off > len(b)-4 || uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 != 0 || off%4 != 0 {
		return nil, fmt.Errorf("%w: 4 bytes at %d of %d", ErrAlign, off, len(b))
	}
	return (*atomic.Uint32)(unsafe.Pointer(&b[off])), nil
}

// Aligned returns a zeroed n-byte slice whose first byte is 8-aligned, for
// rings over private memory (tests, fuzzing).
func Aligned(n int) []byte {
	if n <= 0 {
		return nil
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

// Alive reports whether a process with id pid exists (signal 0 probe; a
// process owned by another user counts as alive). pid <= 0 is never alive.
// It is a system call: keep it off hot paths.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
