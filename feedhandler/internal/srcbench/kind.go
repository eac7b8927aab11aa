package srcbench

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/ballast-risk/ballast/feedhandler"
	"github.com/ballast-risk/ballast/feedhandler/source"
)

// Kind is a packet source under comparison.
type Kind uint8

// The sources compared.
const (
	// UDP is the UDP socket source (recvmmsg batches).
	UDP Kind = iota
	// AFPacket is the AF_PACKET TPACKET_V3 ring source.
	AFPacket
	// AFXDPGeneric is the AF_XDP source with its XDP program in generic
	// (SKB) mode.
	AFXDPGeneric
	// AFXDPDriver is the AF_XDP source with its XDP program in the driver
	// (native XDP).
	AFXDPDriver
)

var kindNames = [...]string{
	UDP:          "udp",
	AFPacket:     "afpacket",
	AFXDPGeneric: "afxdp-generic",
	AFXDPDriver:  "afxdp-driver",
}

// Kinds returns every Kind, in comparison order.
func Kinds() []Kind { return []Kind{UDP, AFPacket, AFXDPGeneric, AFXDPDriver} }

// String returns the Kind's name as ParseKind accepts it (and as the
// benchmarks name their sub-benchmarks).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ParseKind parses a Kind's name.
func ParseKind(s string) (Kind, error) {
	for k, name := range kindNames {
		if s == name {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: source kind %q: want udp, afpacket, afxdp-generic or afxdp-driver", ErrConfig, s)
}

// BusyPollable reports whether the Kind can busy-poll (Options.BusyPoll).
func (k Kind) BusyPollable() bool { return k == AFXDPGeneric || k == AFXDPDriver }

// Target is where the feed arrives.
type Target struct {
	// Interface is the receiving interface (AF_PACKET, AF_XDP).
	Interface string
	// IP is the local IPv4 address the feed is sent to (the UDP socket
	// binds it).
	IP net.IP
	// Port is the feed's UDP destination port.
	Port uint16
}

// Options tune the sources beyond the comparison's fixed settings.
type Options struct {
	// BusyPoll makes an AF_XDP source return at once instead of sleeping
	// when no packet is ready (the reader spins). Only for BusyPollable
	// kinds.
	BusyPoll bool
	// ReadTimeout makes a ReadBatch that waits return empty after this
	// long; 0 waits indefinitely.
	ReadTimeout time.Duration
}

// The comparison's fixed source settings, each the low-latency choice.
const (
	// UDPRecvBufferBytes is the UDP socket's receive buffer: enough for any
	// benchmark window, so the socket never drops.
	UDPRecvBufferBytes = 8 << 20
	// AFPacketRingBytes is the AF_PACKET ring's total size.
	AFPacketRingBytes = 2 << 20
	// AFPacketBlockTimeout is the TPACKET_V3 block retire timeout: the
	// kernel hands a block that is not full to the reader only after it,
	// so it is the latency floor of sparse traffic. 1 ms is the smallest
	// the kernel takes (tp_retire_blk_tov is in milliseconds).
	AFPacketBlockTimeout = time.Millisecond
	// AFXDPFrameCount is the AF_XDP UMEM frame count.
	AFXDPFrameCount = 4096
	// AFXDPRingSize is the AF_XDP fill and RX ring size.
	AFXDPRingSize = 1024
)

// Open opens a source of kind k on t with the comparison's settings:
//
//   - UDP: unicast socket bound to t.IP:t.Port, UDPRecvBufferBytes of
//     receive buffer, recvmmsg batches of feedhandler.BatchMax.
//   - AFPacket: TPACKET_V3 with one-page blocks, so a block fills (and
//     reaches the reader) after a few dozen frames rather than waiting for
//     the timeout; AFPacketBlockTimeout; a kernel filter for t.Port.
//   - AFXDPGeneric, AFXDPDriver: queue 0, the kernel's choice of copy or
//     zero-copy (copy on veth), AFXDPFrameCount frames, AFXDPRingSize rings.
//
// Errors where the system refuses the source wrap source.ErrUnsupported;
// invalid Options wrap ErrConfig.
func Open(k Kind, t Target, o Options) (source.Source, error) {
	if o.BusyPoll && !k.BusyPollable() {
		return nil, fmt.Errorf("%w: %v cannot busy-poll", ErrConfig, k)
	}
	switch k {
	case UDP:
		return opened(source.ListenUDP(source.UDPConfig{
			Addr:            t.IP,
			Port:            t.Port,
			RecvBufferBytes: UDPRecvBufferBytes,
			BatchMax:        feedhandler.BatchMax,
			ReadTimeout:     o.ReadTimeout,
		}))
	case AFPacket:
		page := os.Getpagesize()
		return opened(source.OpenAFPacket(source.AFPacketConfig{
			Interface:    t.Interface,
			BlockBytes:   page,
			FrameBytes:   min(page, source.AFPacketFrameBytesDefault),
			Blocks:       min(AFPacketRingBytes/page, source.AFPacketBlocksMax),
			BlockTimeout: AFPacketBlockTimeout,
			ReadTimeout:  o.ReadTimeout,
			DstPort:      t.Port,
		}))
	case AFXDPGeneric, AFXDPDriver:
		mode := source.XDPAttachGeneric
		if k == AFXDPDriver {
			mode = source.XDPAttachDriver
		}
		return opened(source.OpenAFXDP(source.AFXDPConfig{
			Interface:   t.Interface,
			DstPort:     t.Port,
			XDPMode:     mode,
			BindMode:    source.AFXDPBindAuto,
			FrameCount:  AFXDPFrameCount,
			RingSize:    AFXDPRingSize,
			BusyPoll:    o.BusyPoll,
			ReadTimeout: o.ReadTimeout,
		}))
	}
	return nil, fmt.Errorf("%w: unknown source kind %v", ErrConfig, k)
}

// opened turns a source constructor's result into a Source, keeping a nil
// interface (not a typed nil pointer) on error.
func opened[S source.Source](s S, err error) (source.Source, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
