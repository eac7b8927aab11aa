package vfio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Errors of physical-address lookups (the UIO DMA path).
var (
	// ErrNoPhysAddr reports a pagemap that hides page frame numbers: reading
	// them needs CAP_SYS_ADMIN.
	ErrNoPhysAddr = errors.New("vfio: physical addresses hidden (reading /proc/self/pagemap frame numbers needs CAP_SYS_ADMIN)")
	// ErrNotContiguous reports a buffer whose pages are not physically
	// contiguous, so a device cannot address it with one base address.
	ErrNotContiguous = errors.New("vfio: buffer is not physically contiguous")
)

// PagemapPath is the kernel's per-process page table view.
const PagemapPath = "/proc/self/pagemap"

// Pagemap entry fields (Documentation/admin-guide/mm/pagemap.rst).
const (
	pagemapPresent = 1 << 63
	pagemapSwapped = 1 << 62
	pagemapPFNMask = 1<<55 - 1
)

// DecodePagemapEntry turns one 64-bit pagemap entry of the virtual address
// vaddr into its physical address; pageBytes is the base page size the
// pagemap is indexed by.
func DecodePagemapEntry(entry, vaddr uint64, pageBytes int) (uint64, error) {
	if pageBytes <= 0 || pageBytes&(pageBytes-1) != 0 {
		return 0, fmt.Errorf("%w: page size %d", ErrMalformed, pageBytes)
	}
	if entry&pagemapPresent == 0 {
		if entry&pagemapSwapped != 0 {
			return 0, fmt.Errorf("vfio: page at %#x is swapped out", vaddr)
		}
		return 0, fmt.Errorf("vfio: page at %#x is not present (not populated)", vaddr)
	}
	pfn := entry & pagemapPFNMask
	if pfn == 0 {
		return 0, ErrNoPhysAddr
	}
	shift := uint(0)
	for 1<<shift != pageBytes {
		shift++
	}
	if pfn > (1<<64-1)>>shift {
		return 0, fmt.Errorf("%w: frame number %#x overflows", ErrMalformed, pfn)
	}
	return pfn<<shift | vaddr&uint64(pageBytes-1), nil
}

// CheckContiguous returns phys[0] if phys, the physical addresses of
// consecutive chunks of chunkBytes, are laid out back to back.
func CheckContiguous(phys []uint64, chunkBytes uint64) (uint64, error) {
	if len(phys) == 0 {
		return 0, fmt.Errorf("%w: no pages", ErrMalformed)
	}
	for i := 1; i < len(phys); i++ {
		if phys[i] != phys[0]+uint64(i)*chunkBytes {
			return 0, fmt.Errorf("%w: chunk %d of %d bytes is at %#x, want %#x", ErrNotContiguous, i, chunkBytes, phys[i], phys[0]+uint64(i)*chunkBytes)
		}
	}
	return phys[0], nil
}

// PhysContiguous returns the physical address of b[0] after checking that
// b, made of chunks of chunkBytes (its huge-page size), is physically
// contiguous. b must be populated (mmio.MapAnonymous populates) and chunk
// aligned.
func PhysContiguous(b []byte, chunkBytes int) (uint64, error) {
	page := os.Getpagesize()
	if len(b) == 0 || chunkBytes < page || chunkBytes%page != 0 || len(b)%chunkBytes != 0 {
		return 0, fmt.Errorf("vfio: physical lookup of %d bytes in %d-byte chunks: bad sizes", len(b), chunkBytes)
	}
	base := uint64(uintptr(unsafe.Pointer(&b[0])))
	if base%uint64(chunkBytes) != 0 {
		return 0, fmt.Errorf("vfio: buffer at %#x is not %d-byte aligned", base, chunkBytes)
	}
	fd, err := unix.Open(PagemapPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("vfio: open %s: %w", PagemapPath, err)
	}
	defer unix.Close(fd)
	n := len(b) / chunkBytes
	phys := make([]uint64, n)
	var e [8]byte
	for i := range n {
		va := base + uint64(i)*uint64(chunkBytes)
		off := int64(va/uint64(page)) * 8
		got, err := unix.Pread(fd, e[:], off)
		if err != nil {
			return 0, fmt.Errorf("vfio: read %s at %#x: %w", PagemapPath, off, err)
		}
		if got != len(e) {
			return 0, fmt.Errorf("%w: short pagemap read (%d bytes)", ErrMalformed, got)
		}
		p, err := DecodePagemapEntry(binary.NativeEndian.Uint64(e[:]), va, page)
		if err != nil {
			return 0, err
		}
		phys[i] = p
	}
	return CheckContiguous(phys, uint64(chunkBytes))
}
