package source

import (
	"fmt"
	"time"
)

// AF_XDP source bounds and defaults.
const (
	// AFXDPFrameCountDefault is the UMEM frame count when FrameCount is 0.
	AFXDPFrameCountDefault = 4096
	// AFXDPFrameBytesDefault is the UMEM frame size when FrameBytes is 0;
	// it holds frames of up to 1792 bytes (256 bytes go to XDP headroom).
	AFXDPFrameBytesDefault = 2048
	// AFXDPRingSizeDefault is the fill and RX ring size when RingSize is 0.
	AFXDPRingSizeDefault = 2048
	// AFXDPReadTimeoutLimit bounds ReadTimeout.
	AFXDPReadTimeoutLimit = time.Hour
)

// XDPAttachMode selects where the AF_XDP source's XDP program runs.
type XDPAttachMode uint8

// XDP attach modes.
const (
	// XDPAttachAuto tries driver mode, then falls back to generic mode.
	XDPAttachAuto XDPAttachMode = iota
	// XDPAttachDriver runs the program in the driver (native XDP).
	XDPAttachDriver
	// XDPAttachGeneric runs the program on the skb (SKB mode); works on
	// every interface, slower.
	XDPAttachGeneric
)

// String returns the mode's name as ParseXDPAttachMode accepts it.
func (m XDPAttachMode) String() string {
	switch m {
	case XDPAttachAuto:
		return "auto"
	case XDPAttachDriver:
		return "driver"
	case XDPAttachGeneric:
		return "generic"
	}
	return fmt.Sprintf("XDPAttachMode(%d)", uint8(m))
}

// ParseXDPAttachMode parses "auto", "driver" or "generic".
func ParseXDPAttachMode(s string) (XDPAttachMode, error) {
	for m := XDPAttachAuto; m <= XDPAttachGeneric; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: XDP mode %q: want auto, driver or generic", ErrConfig, s)
}

// AFXDPBindMode selects how the kernel moves packets into the UMEM.
type AFXDPBindMode uint8

// AF_XDP bind modes.
const (
	// AFXDPBindAuto lets the kernel use zero-copy where the driver supports
	// it, else copy.
	AFXDPBindAuto AFXDPBindMode = iota
	// AFXDPBindCopy forces copy mode; works on every interface.
	AFXDPBindCopy
	// AFXDPBindZeroCopy forces zero-copy; needs driver support.
	AFXDPBindZeroCopy
)

// String returns the mode's name as ParseAFXDPBindMode accepts it.
func (m AFXDPBindMode) String() string {
	switch m {
	case AFXDPBindAuto:
		return "auto"
	case AFXDPBindCopy:
		return "copy"
	case AFXDPBindZeroCopy:
		return "zerocopy"
	}
	return fmt.Sprintf("AFXDPBindMode(%d)", uint8(m))
}

// ParseAFXDPBindMode parses "auto", "copy" or "zerocopy".
func ParseAFXDPBindMode(s string) (AFXDPBindMode, error) {
	for m := AFXDPBindAuto; m <= AFXDPBindZeroCopy; m++ {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: AF_XDP bind mode %q: want auto, copy or zerocopy", ErrConfig, s)
}

// AFXDPConfig configures an AF_XDP source.
type AFXDPConfig struct {
	// Interface is the network interface to receive on.
	Interface string
	// QueueID is the interface RX queue to bind. Only feed packets that the
	// NIC steers to this queue are received (configure RSS or an ntuple
	// rule accordingly); feed packets on other queues go to the kernel
	// stack and are counted in AFXDPStats.NoSocket.
	QueueID int
	// DstPort is the feed's UDP destination port (1-65535).
	DstPort uint16
	// XDPMode selects driver or generic XDP; auto tries driver first.
	XDPMode XDPAttachMode
	// BindMode selects copy or zero-copy AF_XDP.
	BindMode AFXDPBindMode
	// FrameCount is the number of UMEM frames, a power of two; 0 selects
	// AFXDPFrameCountDefault.
	FrameCount int
	// FrameBytes is the UMEM frame size, 2048 or 4096; 0 selects
	// AFXDPFrameBytesDefault. Frames longer than FrameBytes-256 are dropped
	// by the kernel, so the interface MTU must fit.
	FrameBytes int
	// RingSize is the fill and RX ring size, a power of two; 0 selects
	// AFXDPRingSizeDefault. One ReadBatch returns at most this many packets.
	RingSize int
	// NeedWakeup sets XDP_USE_NEED_WAKEUP: the driver stops polling the
	// fill ring when it is empty and waits for a syscall, saving CPU in
	// zero-copy mode.
	NeedWakeup bool
	// BusyPoll makes ReadBatch return (0, nil) at once when no packet is
	// ready instead of sleeping in poll(2): lowest latency, one core spent
	// spinning in the caller's loop.
	BusyPoll bool
	// ReadTimeout makes a sleeping ReadBatch return (0, nil) after this
	// long without a packet; 0 waits until a packet arrives or the source
	// is closed. At most AFXDPReadTimeoutLimit.
	ReadTimeout time.Duration
}

// AFXDPStats are the AF_XDP source's kernel-side counters.
type AFXDPStats struct {
	// XDPMode is the mode the XDP program was attached in.
	XDPMode XDPAttachMode
	// ZeroCopy reports whether the kernel granted zero-copy.
	ZeroCopy bool
	// Redirected counts packets the XDP program sent to the socket.
	Redirected uint64
	// NoSocket counts feed packets passed to the kernel stack because they
	// arrived on an RX queue without a socket.
	NoSocket uint64
	// Passed counts non-feed packets passed to the kernel stack.
	Passed uint64
	// RxDropped counts packets the socket dropped: no fill-ring frame free,
	// or a frame too large for FrameBytes.
	RxDropped uint64
	// RxRingFull counts packets dropped because the RX ring was full (the
	// reader fell behind).
	RxRingFull uint64
	// RxFillRingEmpty counts times the kernel found the fill ring empty.
	RxFillRingEmpty uint64
	// RxInvalidDescs counts invalid fill-ring entries (a bug if not 0).
	RxInvalidDescs uint64
}

// Interface check: AFXDP is a Source on every platform.
var _ Source = (*AFXDP)(nil)
