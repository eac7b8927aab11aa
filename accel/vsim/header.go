package vsim

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Layout of the shared-memory file (docs/accel.md §6).
const (
	// HeaderBytes is the size of the header at file offset 0.
	HeaderBytes = 0x1000
	// BarOffset is the file offset of the BAR window (the MMIO mailbox).
	BarOffset = 0x1000
	// BarWindowBytes is the size of the BAR window.
	BarWindowBytes = 0x1000
	// MemOffset is the file offset of host memory.
	MemOffset = 0x2000
	// MemIOVA is the device address of host memory byte 0.
	MemIOVA = 0x0000_0010_0000_0000
	// Version is the file layout version this package writes and accepts.
	Version = 1

	// MemBytesMin and MemBytesMax bound the host-memory region; its size is
	// a multiple of PageBytes.
	MemBytesMin = 64 << 10
	MemBytesMax = 16 << 30
	// PageBytes is the granule of the host-memory size and of mem_iova.
	PageBytes = 4096
	// MemLatencyCyclesMax bounds the modelled DMA read latency.
	MemLatencyCyclesMax = 1 << 20
	// StallPermilleMax bounds the DMA back-pressure probability.
	StallPermilleMax = 1000

	// Bar0Bytes is the size of the device's register BAR; offsets at or
	// beyond it are refused.
	Bar0Bytes = 0x10000
	// MailboxSlots is the number of mailbox request slots: the most
	// requests outstanding at once.
	MailboxSlots = 64
)

// magic is the file's first eight bytes, in file order.
var magic = [8]byte{'B', 'L', 'S', 'T', 'V', 'S', 'M', '1'}

// Header field offsets.
const (
	offMagic         = 0x00
	offVersion       = 0x08
	offHeaderSize    = 0x0C
	offBarOff        = 0x10
	offBarSize       = 0x18
	offMemOff        = 0x20
	offMemSize       = 0x28
	offMemIOVA       = 0x30
	offSimPID        = 0x38
	offState         = 0x3C
	offHeartbeat     = 0x40
	offCycles        = 0x48
	offStop          = 0x50
	offIRQCount      = 0x54
	offMemLatency    = 0x58
	offStallPermille = 0x5C
	headerFieldBytes = 0x60
)

// Mailbox layout inside the BAR window.
const (
	mbxReqTail   = 0x000
	mbxReqHead   = 0x040
	mbxSlots     = 0x080
	mbxSlotBytes = 16
	mbxOpRead    = 1
	mbxOpWrite   = 2
)

// State is the simulator's life-cycle state in the header.
type State uint32

// Simulator states.
const (
	// StateStarting: the file is fresh or the simulator is resetting the RTL.
	StateStarting State = 0
	// StateRunning: the simulator serves the mailbox.
	StateRunning State = 1
	// StateStopped: the simulator exited in order.
	StateStopped State = 2
	// StateFailed: the simulator exited on a simulation failure.
	StateFailed State = 3
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateStopped:
		return "stopped"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// ErrBadHeader reports a shared-memory header that breaks docs/accel.md §6;
// the message names the field.
var ErrBadHeader = errors.New("vsim: bad shared-memory header")

// Header is the decoded file header.
type Header struct {
	Version          uint32
	HeaderBytes      uint32
	BarOff           uint64
	BarBytes         uint64
	MemOff           uint64
	MemBytes         uint64
	MemIOVA          uint64
	SimPID           uint32
	State            State
	Heartbeat        uint64
	Cycles           uint64
	Stop             uint32
	IRQCount         uint32
	MemLatencyCycles uint32
	StallPermille    uint32
}

// NewHeader is the header of a fresh file with memBytes of host memory.
func NewHeader(memBytes int, memLatencyCycles, stallPermille uint32) (Header, error) {
	h := Header{
		Version:          Version,
		HeaderBytes:      HeaderBytes,
		BarOff:           BarOffset,
		BarBytes:         BarWindowBytes,
		MemOff:           MemOffset,
		MemBytes:         uint64(memBytes),
		MemIOVA:          MemIOVA,
		MemLatencyCycles: memLatencyCycles,
		StallPermille:    stallPermille,
	}
	if memBytes < MemBytesMin || memBytes > MemBytesMax || memBytes%PageBytes != 0 {
		return Header{}, fmt.Errorf("%w: host memory of %d bytes: want a multiple of %d in [%d, %d]",
			ErrBadHeader, memBytes, PageBytes, MemBytesMin, MemBytesMax)
	}
	if err := h.Validate(int64(MemOffset + memBytes)); err != nil {
		return Header{}, err
	}
	return h, nil
}

// FileBytes is the size of the file the header describes.
func (h *Header) FileBytes() int64 { return int64(h.MemOff + h.MemBytes) }

// Validate checks the static fields against a file of fileBytes bytes, with
// the same rules as the harness (hdl/sim/shm.cpp).
func (h *Header) Validate(fileBytes int64) error {
	switch {
	case h.Version != Version:
		return fmt.Errorf("%w: version %d, want %d", ErrBadHeader, h.Version, Version)
	case h.HeaderBytes != HeaderBytes:
		return fmt.Errorf("%w: header size %d, want %d", ErrBadHeader, h.HeaderBytes, HeaderBytes)
	case h.BarOff != BarOffset || h.BarBytes != BarWindowBytes:
		return fmt.Errorf("%w: BAR window at %#x size %#x, want %#x and %#x",
			ErrBadHeader, h.BarOff, h.BarBytes, BarOffset, BarWindowBytes)
	case h.MemOff != MemOffset:
		return fmt.Errorf("%w: mem_off %#x, want %#x", ErrBadHeader, h.MemOff, MemOffset)
	case h.MemBytes == 0 || h.MemBytes%PageBytes != 0 || h.MemBytes > MemBytesMax:
		return fmt.Errorf("%w: mem_size %d is not a non-zero multiple of %d up to %d",
			ErrBadHeader, h.MemBytes, PageBytes, uint64(MemBytesMax))
	case fileBytes < 0 || uint64(fileBytes) != h.MemOff+h.MemBytes:
		return fmt.Errorf("%w: file is %d bytes, header says %d", ErrBadHeader, fileBytes, h.MemOff+h.MemBytes)
	case h.MemIOVA == 0 || h.MemIOVA%PageBytes != 0 || h.MemIOVA+h.MemBytes < h.MemIOVA:
		return fmt.Errorf("%w: mem_iova %#x (size %#x) is zero, unaligned or wraps", ErrBadHeader, h.MemIOVA, h.MemBytes)
	case h.MemLatencyCycles > MemLatencyCyclesMax:
		return fmt.Errorf("%w: mem_latency_cycles %d exceeds %d", ErrBadHeader, h.MemLatencyCycles, MemLatencyCyclesMax)
	case h.StallPermille > StallPermilleMax:
		return fmt.Errorf("%w: mem_stall_permille %d exceeds %d", ErrBadHeader, h.StallPermille, StallPermilleMax)
	}
	return nil
}

// Encode writes the header, magic included, into b[:0x60]; the rest of the
// 4 KiB header is left alone. Use it only while no simulator maps the file.
func (h *Header) Encode(b []byte) error {
	if len(b) < headerFieldBytes {
		return fmt.Errorf("%w: %d bytes, need %d", ErrBadHeader, len(b), headerFieldBytes)
	}
	le := binary.LittleEndian
	copy(b[offMagic:], magic[:])
	le.PutUint32(b[offVersion:], h.Version)
	le.PutUint32(b[offHeaderSize:], h.HeaderBytes)
	le.PutUint64(b[offBarOff:], h.BarOff)
	le.PutUint64(b[offBarSize:], h.BarBytes)
	le.PutUint64(b[offMemOff:], h.MemOff)
	le.PutUint64(b[offMemSize:], h.MemBytes)
	le.PutUint64(b[offMemIOVA:], h.MemIOVA)
	le.PutUint32(b[offSimPID:], h.SimPID)
	le.PutUint32(b[offState:], uint32(h.State))
	le.PutUint64(b[offHeartbeat:], h.Heartbeat)
	le.PutUint64(b[offCycles:], h.Cycles)
	le.PutUint32(b[offStop:], h.Stop)
	le.PutUint32(b[offIRQCount:], h.IRQCount)
	le.PutUint32(b[offMemLatency:], h.MemLatencyCycles)
	le.PutUint32(b[offStallPermille:], h.StallPermille)
	return nil
}

// DecodeHeader decodes the header at the start of b. It checks the length and
// the magic only; Validate checks the rest.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < headerFieldBytes {
		return Header{}, fmt.Errorf("%w: %d bytes, need %d", ErrBadHeader, len(b), headerFieldBytes)
	}
	if [8]byte(b[offMagic:offMagic+8]) != magic {
		return Header{}, fmt.Errorf("%w: magic %q, want %q", ErrBadHeader, b[offMagic:offMagic+8], magic[:])
	}
	le := binary.LittleEndian
	return Header{
		Version:          le.Uint32(b[offVersion:]),
		HeaderBytes:      le.Uint32(b[offHeaderSize:]),
		BarOff:           le.Uint64(b[offBarOff:]),
		BarBytes:         le.Uint64(b[offBarSize:]),
		MemOff:           le.Uint64(b[offMemOff:]),
		MemBytes:         le.Uint64(b[offMemSize:]),
		MemIOVA:          le.Uint64(b[offMemIOVA:]),
		SimPID:           le.Uint32(b[offSimPID:]),
		State:            State(le.Uint32(b[offState:])),
		Heartbeat:        le.Uint64(b[offHeartbeat:]),
		Cycles:           le.Uint64(b[offCycles:]),
		Stop:             le.Uint32(b[offStop:]),
		IRQCount:         le.Uint32(b[offIRQCount:]),
		MemLatencyCycles: le.Uint32(b[offMemLatency:]),
		StallPermille:    le.Uint32(b[offStallPermille:]),
	}, nil
}
