package vsim

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ballast-risk/ballast/accel/internal/mmio"
)

// FileParams sizes a shared-memory file and sets the harness's DMA model.
type FileParams struct {
	// MemBytes is the host-memory region: a multiple of PageBytes in
	// [MemBytesMin, MemBytesMax].
	MemBytes int
	// MemLatencyCycles is the DMA read latency the harness models.
	MemLatencyCycles uint32
	// StallPermille is the probability ×1000 that the harness withholds
	// READY or delays VALID on a DMA channel in a cycle.
	StallPermille uint32
}

// File is a mapped shared-memory file (docs/accel.md §6). The simulator
// writes only sim_pid, state, heartbeat, cycles and irq_count; every access
// to those and to the mailbox goes through mmio's atomics.
type File struct {
	// mu orders header accesses against Close's unmap: after Close the
	// accessors read zero instead of faulting.
	mu     sync.RWMutex
	path   string
	params FileParams
	m      *mmio.Mapping
	hdr    []byte
	bar    []byte
	mem    *Memory
}

// Memory is the host-memory region: what the device reaches by DMA at
// IOVA() + offset. It satisfies the driver's Memory interface. Its bytes are
// unmapped by File.Close (and Sim.Close); nothing may touch them after.
type Memory struct {
	b    []byte
	iova uint64
}

// Bytes is the CPU view of the region; it starts 4 KiB aligned.
func (m *Memory) Bytes() []byte { return m.b }

// IOVA is the device address of Bytes()[0].
func (m *Memory) IOVA() uint64 { return m.iova }

// CreateFile creates path (it must not exist, mode 0600), sizes it, maps it
// and writes a fresh header. The region is zero.
func CreateFile(path string, p FileParams) (*File, error) {
	h, err := NewHeader(p.MemBytes, p.MemLatencyCycles, p.StallPermille)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vsim: create shared-memory file: %w", err)
	}
	defer f.Close() // the mapping outlives the descriptor
	fail := func(err error) (*File, error) {
		_ = os.Remove(path)
		return nil, err
	}
	if err := f.Truncate(h.FileBytes()); err != nil {
		return fail(fmt.Errorf("vsim: size %s to %d bytes: %w", path, h.FileBytes(), err))
	}
	m, err := mmio.MapFile(f, 0, int(h.FileBytes()))
	if err != nil {
		return fail(err)
	}
	b := m.Bytes()
	file := &File{
		path:   path,
		params: p,
		m:      m,
		hdr:    b[:HeaderBytes],
		bar:    b[BarOffset : BarOffset+BarWindowBytes],
		mem:    &Memory{b: b[MemOffset:], iova: MemIOVA},
	}
	if err := h.Encode(file.hdr); err != nil {
		_ = m.Unmap()
		return fail(err)
	}
	return file, nil
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Memory is the host-memory region.
func (f *File) Memory() *Memory { return f.mem }

// Reset writes a fresh header (state starting, counters and stop zero) and
// empties the mailbox, for a new simulator on the same file; host memory is
// kept. No simulator may be running on the file.
func (f *File) Reset() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		return errClosed
	}
	h, err := NewHeader(f.params.MemBytes, f.params.MemLatencyCycles, f.params.StallPermille)
	if err != nil {
		return err
	}
	clear(f.bar)
	return h.Encode(f.hdr)
}

// Header is a snapshot of the header; the fields the simulator writes are
// read atomically.
func (f *File) Header() (Header, error) {
	f.mu.RLock()
	if f.m == nil {
		f.mu.RUnlock()
		return Header{}, errClosed
	}
	h, err := DecodeHeader(f.hdr)
	f.mu.RUnlock()
	if err != nil {
		return Header{}, err
	}
	h.SimPID = f.load32(offSimPID)
	h.State = State(f.load32(offState))
	h.Heartbeat = f.load64(offHeartbeat)
	h.Cycles = f.load64(offCycles)
	h.Stop = f.load32(offStop)
	h.IRQCount = f.load32(offIRQCount)
	return h, nil
}

// RequestStop sets the header's stop flag: the simulator exits within about
// a millisecond.
func (f *File) RequestStop() { f.store32(offStop, 1) }

// Close unmaps and removes the file; it is safe to call twice.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		return nil
	}
	err := f.m.Unmap()
	f.m = nil
	f.hdr, f.bar = nil, nil
	if rerr := os.Remove(f.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// load32/load64/store32 access header fields the simulator shares; after
// Close loads read 0 and stores do nothing. Offsets are constants inside the
// mapped header, so an mmio error is a broken invariant.
func (f *File) load32(off int) uint32 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.m == nil {
		return 0
	}
	v, err := mmio.Load32(f.hdr, off)
	if err != nil {
		panic(err)
	}
	return v
}

func (f *File) load64(off int) uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.m == nil {
		return 0
	}
	v, err := mmio.Load64(f.hdr, off)
	if err != nil {
		panic(err)
	}
	return v
}

func (f *File) store32(off int, v uint32) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.m == nil {
		return
	}
	if err := mmio.Store32(f.hdr, off, v); err != nil {
		panic(err)
	}
}
