package xsk

import (
	"errors"
	"fmt"
)

// Bounds on a socket's geometry.
const (
	// FrameCountMin and FrameCountMax bound Config.FrameCount.
	FrameCountMin = 16
	FrameCountMax = 1 << 18
	// RingSizeMin and RingSizeMax bound every ring size.
	RingSizeMin = 16
	RingSizeMax = 1 << 18
	// QueueIDMax is the highest queue id accepted.
	QueueIDMax = 1023
	// UMEMBytesMax bounds FrameCount*FrameSize (512 MiB).
	UMEMBytesMax = 1 << 29
	// FrameHeadroomBytes is the space the kernel leaves in front of the
	// packet in every frame (XDP_PACKET_HEADROOM); a frame of FrameSize
	// bytes holds packets of up to FrameSize-FrameHeadroomBytes bytes.
	FrameHeadroomBytes = 256
)

// Frame sizes accepted for Config.FrameSize.
const (
	FrameSize2K = 2048
	FrameSize4K = 4096
)

// Mode selects how the kernel moves packets into the UMEM.
type Mode uint8

// Bind modes.
const (
	// ModeAuto lets the kernel choose: zero-copy where the driver supports
	// it, otherwise copy.
	ModeAuto Mode = iota
	// ModeCopy forces copy mode (XDP_COPY); works on every interface.
	ModeCopy
	// ModeZeroCopy forces zero-copy (XDP_ZEROCOPY); needs driver support.
	ModeZeroCopy
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeCopy:
		return "copy"
	case ModeZeroCopy:
		return "zerocopy"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Sentinel errors.
var (
	// ErrUnsupported reports that the kernel refuses AF_XDP: no
	// CONFIG_XDP_SOCKETS, missing privileges, or a mode the driver lacks.
	// The wrapped errno says which.
	ErrUnsupported = errors.New("xsk: AF_XDP unsupported")
	// ErrInvalidConfig reports a Config outside its bounds.
	ErrInvalidConfig = errors.New("xsk: invalid config")
	// ErrInterrupted is returned by Wait after Interrupt was called.
	ErrInterrupted = errors.New("xsk: wait interrupted")
	// ErrClosed reports use of a closed socket.
	ErrClosed = errors.New("xsk: socket closed")
)

// Config describes an AF_XDP socket and its UMEM.
type Config struct {
	// Ifindex is the interface index to bind to (> 0).
	Ifindex int
	// QueueID is the interface RX queue to bind to, in [0, QueueIDMax].
	QueueID int
	// FrameCount is the number of UMEM frames: a power of two in
	// [FrameCountMin, FrameCountMax].
	FrameCount int
	// FrameSize is the size of one frame in bytes: FrameSize2K or
	// FrameSize4K.
	FrameSize int
	// FillRingSize, CompletionRingSize and RxRingSize are ring entry counts:
	// powers of two in [RingSizeMin, RingSizeMax]. The fill ring is kept
	// stocked from the free frames, except TxRingSize frames kept back for
	// Alloc. Frames the caller holds are out of circulation, so
	// FrameCount >= FillRingSize + (frames held at once) + TxRingSize keeps
	// the fill ring full.
	FillRingSize       int
	CompletionRingSize int
	RxRingSize         int
	// TxRingSize is 0 for a receive-only socket, else a ring size as above.
	TxRingSize int
	// Mode selects copy or zero-copy binding.
	Mode Mode
	// NeedWakeup sets XDP_USE_NEED_WAKEUP: the kernel only processes the
	// fill and TX rings after a syscall when it flags the ring, which saves
	// it from busy-polling them.
	NeedWakeup bool
}

// Validate checks every field against its bounds.
func (c *Config) Validate() error {
	if c.Ifindex <= 0 {
		return fmt.Errorf("%w: Ifindex %d: must be > 0", ErrInvalidConfig, c.Ifindex)
	}
	if c.QueueID < 0 || c.QueueID > QueueIDMax {
		return fmt.Errorf("%w: QueueID %d: must be in [0, %d]", ErrInvalidConfig, c.QueueID, QueueIDMax)
	}
	if c.FrameSize != FrameSize2K && c.FrameSize != FrameSize4K {
		return fmt.Errorf("%w: FrameSize %d: must be %d or %d", ErrInvalidConfig, c.FrameSize, FrameSize2K, FrameSize4K)
	}
	if err := checkPow2("FrameCount", c.FrameCount, FrameCountMin, FrameCountMax); err != nil {
		return err
	}
	if c.FrameCount*c.FrameSize > UMEMBytesMax {
		return fmt.Errorf("%w: UMEM of %d frames of %d bytes exceeds %d bytes", ErrInvalidConfig, c.FrameCount, c.FrameSize, UMEMBytesMax)
	}
	if err := checkPow2("FillRingSize", c.FillRingSize, RingSizeMin, RingSizeMax); err != nil {
		return err
	}
	if err := checkPow2("CompletionRingSize", c.CompletionRingSize, RingSizeMin, RingSizeMax); err != nil {
		return err
	}
	if err := checkPow2("RxRingSize", c.RxRingSize, RingSizeMin, RingSizeMax); err != nil {
		return err
	}
	if c.TxRingSize != 0 {
		if err := checkPow2("TxRingSize", c.TxRingSize, RingSizeMin, RingSizeMax); err != nil {
			return err
		}
	}
	if c.Mode > ModeZeroCopy {
		return fmt.Errorf("%w: unknown Mode %d", ErrInvalidConfig, c.Mode)
	}
	return nil
}

func checkPow2(name string, v, lo, hi int) error {
	if v < lo || v > hi || v&(v-1) != 0 {
		return fmt.Errorf("%w: %s %d: must be a power of two in [%d, %d]", ErrInvalidConfig, name, v, lo, hi)
	}
	return nil
}

// Desc is one ring descriptor: a packet of Len bytes at UMEM offset Addr.
// Its layout matches struct xdp_desc.
type Desc struct {
	// Addr is the byte offset of the packet's first byte in the UMEM.
	Addr uint64
	// Len is the packet length in bytes.
	Len uint32
	// Options carries XDP_PKT_CONTD and similar flags.
	Options uint32
}

// Statistics are the kernel's per-socket counters (XDP_STATISTICS).
type Statistics struct {
	// RxDropped counts packets dropped for reasons other than a full RX
	// ring or an empty fill ring (too large for a frame, for instance), plus
	// those dropped because no fill buffer was available.
	RxDropped uint64
	// RxInvalidDescs counts invalid descriptors on the fill ring.
	RxInvalidDescs uint64
	// TxInvalidDescs counts invalid descriptors on the TX ring.
	TxInvalidDescs uint64
	// RxRingFull counts packets dropped because the RX ring was full.
	RxRingFull uint64
	// RxFillRingEmptyDescs counts times the fill ring was found empty.
	RxFillRingEmptyDescs uint64
	// TxRingEmptyDescs counts times the TX ring was found empty.
	TxRingEmptyDescs uint64
	// InvalidDescs counts descriptors the kernel returned that failed
	// validation here (outside the UMEM, or naming a frame the caller
	// holds); they are dropped. Never expected from a sound kernel.
	InvalidDescs uint64
}
