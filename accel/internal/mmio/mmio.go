// Package mmio is the boundary between the accelerator driver and memory that
// another agent writes concurrently: a shared-memory file mapped by the
// Verilator harness, a device BAR or a DMA buffer. It maps files and does
// aligned atomic 32- and 64-bit loads and stores at byte offsets; nothing
// above it uses unsafe or mmap.
//
// Atomic accesses are sequentially consistent (sync/atomic), which on amd64
// and arm64 is at least as strong as the release/acquire ordering the device
// protocols need (docs/accel.md).
package mmio

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MapBytesMax bounds one mapping (64 GiB).
const MapBytesMax = 64 << 30

// ErrAlign reports an access that is out of range or not naturally aligned.
var ErrAlign = errors.New("mmio: access out of range or misaligned")

// Mapping is a shared mapping of a file.
type Mapping struct {
	b []byte
}

// MapFile maps size bytes of f at offset off, shared and read-write.
func MapFile(f *os.File, off int64, size int) (*Mapping, error) {
	if size <= 0 || size > MapBytesMax || off < 0 || off%int64(os.Getpagesize()) != 0 {
		return nil, fmt.Errorf("mmio: map %d bytes at offset %d: bad size or offset", size, off)
	}
	b, err := unix.Mmap(int(f.Fd()), off, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmio: mmap %s: %w", f.Name(), err)
	}
	return &Mapping{b: b}, nil
}

// MapAnonymous maps size bytes of private anonymous memory, optionally
// backed by huge pages (MAP_HUGETLB; it fails where none are reserved).
func MapAnonymous(size int, huge bool) (*Mapping, error) {
	if size <= 0 || size > MapBytesMax {
		return nil, fmt.Errorf("mmio: anonymous map of %d bytes: bad size", size)
	}
	flags := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_POPULATE
	if huge {
		flags |= unix.MAP_HUGETLB
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, flags)
	if err != nil {
		return nil, fmt.Errorf("mmio: anonymous mmap of %d bytes (huge %v): %w", size, huge, err)
	}
	return &Mapping{b: b}, nil
}

// Bytes is the mapped memory; it is invalid after Unmap.
func (m *Mapping) Bytes() []byte { return m.b }

// Unmap releases the mapping; it is safe to call twice.
func (m *Mapping) Unmap() error {
	if m.b == nil {
		return nil
	}
	err := unix.Munmap(m.b)
	m.b = nil
	return err
}

func ptr32(b []byte, off int) (*uint32, error) {
	if off < 0 || off+4 > len(b) || off%4 != 0 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil, fmt.Errorf("%w: 4 bytes at %d of %d", ErrAlign, off, len(b))
	}
	return (*uint32)(unsafe.Pointer(&b[off])), nil
}

func ptr64(b []byte, off int) (*uint64, error) {
	if off < 0 || off+8 > len(b) || off%8 != 0 || uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return nil, fmt.Errorf("%w: 8 bytes at %d of %d", ErrAlign, off, len(b))
	}
	return (*uint64)(unsafe.Pointer(&b[off])), nil
}

// Load32 atomically loads the native-endian uint32 at b[off:].
// Ballast runs on little-endian hosts only (amd64, arm64), so native order is
// the device's order.
func Load32(b []byte, off int) (uint32, error) {
	p, err := ptr32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

// Store32 atomically stores v at b[off:].
func Store32(b []byte, off int, v uint32) error {
	p, err := ptr32(b, off)
	if err != nil {
		return err
	}
	atomic.StoreUint32(p, v)
	return nil
}

// Load64 atomically loads the uint64 at b[off:].
func Load64(b []byte, off int) (uint64, error) {
	p, err := ptr64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint64(p), nil
}

// Store64 atomically stores v at b[off:].
func Store64(b []byte, off int, v uint64) error {
	p, err := ptr64(b, off)
	if err != nil {
		return err
	}
	atomic.StoreUint64(p, v)
	return nil
}

// Add64 atomically adds d to the uint64 at b[off:] and returns the new value.
func Add64(b []byte, off int, d uint64) (uint64, error) {
	p, err := ptr64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.AddUint64(p, d), nil
}
